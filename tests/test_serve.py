"""`facekeypoints serve`, tested as a client uses it: the real server on a loopback port, spoken to over HTTP and
WebSocket. Its answers are checked against `facekeypoints predict --json` on the same files."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serving import Server, multipart

from facekeypoints.shipped import sample_image


@pytest.fixture(scope="module")
def server():
    running = Server("--timeout", "2", "--max-bytes", "3000000", "--max-images", "4")
    yield running
    running.stop()


def predict_json(paths: list[Path], tmp_path: Path) -> list[dict]:
    """What `facekeypoints predict --json` writes for these files, run beside them (sources: their names)."""
    out = tmp_path / "predicted.json"
    subprocess.run([sys.executable, "-m", "facekeypoints", "predict", "--quiet", "--json", str(out),
                    *[p.name for p in paths]], cwd=paths[0].parent, check=True)
    return json.loads(out.read_text())


def test_the_answer_is_what_predict_json_writes(server, real_photos, tmp_path):
    expected = predict_json(real_photos, tmp_path)
    assert [r["source"] for r in expected] == [p.name for p in real_photos] and all(r["faces"] for r in expected)
    body, headers = multipart([(p.name, p.read_bytes()) for p in real_photos])
    status, records = server.json("POST", "/v1/faces", body, headers)  # several images: one record each
    assert status == 200
    assert records == expected
    for photo, record in zip(real_photos, expected):  # one image as the raw body: the same, named "upload"
        status, answer = server.json("POST", "/v1/faces", photo.read_bytes())
        assert status == 200 and answer == [dict(record, source="upload")]


def test_uploads_are_decoded_as_files_are(real_photos, tmp_path):
    """photos.decode_bytes, which the server decodes uploads with: the image decode_image gives for the file, and
    the same refusal of too many pixels from the header, before decoding."""
    from facekeypoints.photos import ImageError, ImageTooLarge, decode_bytes, decode_image

    for photo in real_photos:
        assert np.array_equal(decode_bytes(photo.read_bytes(), photo.name), decode_image(photo))
    big = tmp_path / "big.png"
    big.write_bytes(_big_png(8000, 7000))
    with pytest.raises(ImageTooLarge, match="big.png: 8000x7000 pixels, over the limit of 50 MP"):
        decode_image(big, 50e6)
    with pytest.raises(ImageTooLarge, match="big.png: 8000x7000 pixels, over the limit of 50 MP"):
        decode_bytes(big.read_bytes(), "big.png", 50e6)
    with pytest.raises(ImageError, match="upload: not an image"):
        decode_bytes(b"hello", "upload")


def test_options(server, real_photos):
    gus = next(p for p in real_photos if p.name == "gus.jpg")  # a face 320 px wide
    status, [record] = server.json("POST", "/v1/faces?min_size=700", gus.read_bytes())
    assert status == 200 and record["faces"] == []  # no face that large: the option reached the detector
    status, [record] = server.json("POST", "/v1/faces", gus.read_bytes())
    assert status == 200 and len(record["faces"]) == 1
    group = np.concatenate([np.asarray(Image.open(p).convert("RGB").resize((300, 300))) for p in real_photos[:3]], 1)
    encoded = io.BytesIO()
    Image.fromarray(group).save(encoded, "PNG")
    status, [record] = server.json("POST", "/v1/faces", encoded.getvalue())
    assert status == 200 and len(record["faces"]) == 3
    status, [few] = server.json("POST", "/v1/faces?max_faces=2&model=keypointnet", encoded.getvalue())
    assert status == 200 and few["faces"] == record["faces"][:2]


def test_health_models_and_docs(server):
    assert server.json("GET", "/healthz") == (200, {"status": "ok", "models": ["keypointnet"]})
    status, models = server.json("GET", "/v1/models")
    assert status == 200 and models["default"] == "keypointnet"
    assert models["models"][0]["keypoints"][:2] == ["left_eye_center", "right_eye_center"]
    status, _, page = server.request("GET", "/docs")
    assert status == 200 and b"/static-offline-docs/swagger-ui-bundle.js" in page and b"cdn" not in page.lower()
    assert server.request("GET", "/static-offline-docs/swagger-ui-bundle.js")[0] == 200
    status, schema = server.json("GET", "/openapi.json")
    assert "/v1/faces" in schema["paths"] and "multipart/form-data" in json.dumps(schema["paths"]["/v1/faces"])


def test_a_68_point_models_aliases_are_listed_by_point_name(mean68):
    """The page finds a 68-point model's nose tip (and draws its head pose from it) by the aliases listed here."""
    served = Server("--model", str(mean68))
    try:
        status, models = served.json("GET", "/v1/models")
        [model] = models["models"]
        assert status == 200 and model["keypoint_set"] == "ibug-68" and len(model["keypoints"]) == 68
        assert model["aliases"]["nose_tip"] == ["nose_bridge_4"]
        assert model["aliases"]["right_eye_center"] == [f"right_eye_{i}" for i in range(1, 7)]
    finally:
        served.stop()


def test_the_page_and_its_files_come_from_the_package(server):
    status, headers, page = server.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    for asset in (b"static/page.js", b"static/page.css"):
        assert asset in page
        assert server.request("GET", "/" + asset.decode())[0] == 200
    script = server.request("GET", "/static/page.js")[2]
    for text in (page, script):
        assert b"http://" not in text and b"https://" not in text  # nothing fetched from elsewhere


def _big_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")  # compresses to a few kB
    return out.getvalue()


def test_bad_requests_get_a_4xx_json_error_and_the_server_stays_up(server, real_photos):
    photo = min(real_photos, key=lambda p: p.stat().st_size).read_bytes()  # five of them within --max-bytes
    form, form_headers = multipart([("a.jpg", photo)], extra={"colour": "red"})
    nofile, nofile_headers = multipart([], extra={"file": "not a file"})
    many, many_headers = multipart([(f"{i}.jpg", photo) for i in range(5)])
    cases = [  # (what, path, body, headers, status, words in the error)
        ("not an image", "/v1/faces", b"hello, world", {}, 415, "not an image"),
        ("a truncated image", "/v1/faces", photo[:300], {}, 415, "upload"),
        ("too many pixels", "/v1/faces", _big_png(8000, 7000), {}, 413, "over the limit of 50 MP"),
        ("an unknown option", "/v1/faces?size=3", photo, {}, 400, "unknown option 'size'"),
        ("an unknown model", "/v1/faces?model=best", photo, {}, 400, "unknown model 'best'"),
        ("a wrong value", "/v1/faces?min_size=-3", photo, {}, 422, "min_size"),
        ("a wrong number", "/v1/faces?max_faces=two", photo, {}, 422, "max_faces"),
        ("no body", "/v1/faces", b"", {}, 400, "no image"),
        ("an unknown form field", "/v1/faces", form, form_headers, 400, "unknown form field 'colour'"),
        ("a form without a file", "/v1/faces", nofile, nofile_headers, 400, "no image"),
        ("too many images", "/v1/faces", many, many_headers, 400, "Too many files"),
        ("a broken form", "/v1/faces", b"--x\r\nrubbish", {"Content-Type": "multipart/form-data; boundary=x"}, 400,
         ""),
        ("no such path", "/v1/files/etc/passwd", None, {}, 404, ""),
    ]
    for what, path, body, headers, status, words in cases:
        got, answer_headers, data = server.request("POST", path, body, headers)
        assert got == status, (what, got, data)
        assert answer_headers["content-type"] == "application/json", what
        assert words in json.loads(data)["error"], (what, data)
    # the server is still there, and still right
    assert server.json("GET", "/healthz")[0] == 200
    status, [record] = server.json("POST", "/v1/faces", photo)
    assert status == 200 and record["faces"]


def _answer(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except OSError:
        pass
    connection.close()
    return answer


def test_a_body_too_large_is_refused_before_it_is_read(server):
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(b"POST /v1/faces HTTP/1.1\r\nHost: x\r\nContent-Length: 3000001\r\n\r\n" + b"\0" * 1000)
    answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 413") and b"3000001 bytes, over the limit of 3000000" in answer


def test_a_body_too_large_is_cut_off_as_it_comes_without_content_length(server):
    """A chunked body gives no size in advance: it is counted as it comes and refused once past the limit."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(b"POST /v1/faces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"\0" * 500_000
    try:
        for _ in range(10):  # 5 MB, against a limit of 3
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:  # the server may close as soon as it has answered
        pass
    answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 413") and b"over the limit" in answer


def test_slow_clients_are_cut_off(server):
    """A client that stops sending, in its headers or its body, is cut off after --timeout (2 s here)."""
    def silent(first: bytes, results: list, index: int):
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        connection.sendall(first)
        started = time.monotonic()
        answer = _answer(connection)  # until the server closes
        results[index] = (time.monotonic() - started, answer)

    results: list = [None, None, None]
    threads = [threading.Thread(target=silent, args=(first, results, i)) for i, first in enumerate((
        b"POST /v1/faces HTTP/1.1\r\nHost: x\r\nContent-Le",  # headers never finished
        b"POST /v1/faces HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"\0" * 100,  # body never finished
        b""))]  # a connection that says nothing
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    (headers_wait, headers_answer), (body_wait, body_answer), (idle_wait, idle_answer) = results
    assert 1.5 < headers_wait < 15 and headers_answer == b""  # closed
    assert 1.5 < body_wait < 15 and body_answer.startswith(b"HTTP/1.1 408") and b"too slowly" in body_answer
    assert 1.5 < idle_wait < 15 and idle_answer == b""
    assert server.json("GET", "/healthz")[0] == 200


def test_it_listens_on_loopback_only_by_default(server):
    """127.0.0.1, not every network: the kernel's table of listening sockets says where."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = [row[1] for row in rows if row[3] == "0A" and int(row[1].split(":")[1], 16) == server.port]
    assert listening == [f"0100007F:{server.port:04X}"]


def test_concurrent_requests_all_get_their_own_answer(server, real_photos):
    answers: dict = {}

    def ask(i: int, photo: Path):
        answers[i] = (photo.name, server.json("POST", "/v1/faces", photo.read_bytes()))

    jobs = [(i, real_photos[i % len(real_photos)]) for i in range(12)]
    threads = [threading.Thread(target=ask, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    alone = {p.name: server.json("POST", "/v1/faces", p.read_bytes())[1] for p in real_photos}
    assert len(answers) == len(jobs)
    for name, (status, records) in answers.values():
        assert status == 200 and records == alone[name]


def _moving_frames(count: int = 12) -> list[bytes]:
    """The sample photo moving across a 640x480 frame, each frame a JPEG."""
    face = Image.open(sample_image()).convert("RGB").resize((300, 300))
    frames = []
    for i in range(count):
        canvas = Image.new("RGB", (640, 480), (40, 40, 40))
        canvas.paste(face, (40 + 8 * i, 90))  # 8 px a frame, an eighth of the face's width
        out = io.BytesIO()
        canvas.save(out, "JPEG", quality=90)
        frames.append(out.getvalue())
    return frames


def test_the_websocket_follows_a_face_with_one_tracker_per_connection(server):
    from websockets.sync.client import connect

    frames = _moving_frames()
    with connect(f"ws://127.0.0.1:{server.port}/v1/track") as socket_:
        records = []
        for frame in frames:
            socket_.send(frame)
            records.append(json.loads(socket_.recv(30)))
        socket_.send("not a frame")
        assert "binary message" in json.loads(socket_.recv(30))["error"]
        socket_.send(b"not an image either")
        assert "not an image" in json.loads(socket_.recv(30))["error"]
        socket_.send(frames[0])  # and it goes on
        assert json.loads(socket_.recv(30))["frame"] == len(frames)
    assert [r["frame"] for r in records] == list(range(len(frames)))
    assert all(len(r["faces"]) == 1 and r["faces"][0]["track"] == 0 and r["ms"] > 0 for r in records)
    noses = [r["faces"][0]["keypoints"]["nose_tip"][0] for r in records]
    assert 70 < noses[-1] - noses[0] < 110  # the face moved 88 px, and the points followed it
    with connect(f"ws://127.0.0.1:{server.port}/v1/track") as other:  # a new connection: its own tracker
        other.send(frames[5])
        record = json.loads(other.recv(30))
        assert record["frame"] == 0 and record["faces"][0]["track"] == 0


def test_the_websocket_refuses_unknown_options(server):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{server.port}/v1/track?colour=red") as socket_:
        with pytest.raises(ConnectionClosed) as closed:
            socket_.recv(30)
    assert closed.value.rcvd.code == 1008 and "unknown option 'colour'" in closed.value.rcvd.reason


def test_an_api_key_guards_every_request(real_photos):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    keyed = Server(env={"FKD_API_KEY": "s3cret"}, key="s3cret")  # from the environment, not the command line
    try:
        photo = real_photos[0].read_bytes()
        for path, body in (("/v1/faces", photo), ("/v1/models", None), ("/healthz", None), ("/", None)):
            status, _, data = keyed.request("POST" if body else "GET", path, body, {"X-API-Key": "wrong"})
            assert status == 401 and "API key" in json.loads(data)["error"]
            status, _, data = keyed.request("POST" if body else "GET", path, body, {"X-API-Key": ""})
            assert status == 401
        assert keyed.request("POST", "/v1/faces", photo)[0] == 200
        assert keyed.request("POST", "/v1/faces", photo, {"Authorization": "Bearer s3cret"})[0] == 200
        # a browser opens the page with the key in the query, and gets it back as a cookie for the page's requests
        status, headers, _ = keyed.request("GET", "/?api_key=s3cret", headers={"X-API-Key": ""})
        assert status == 200 and "facekeypoints_key=s3cret" in headers["set-cookie"]
        cookie = {"Cookie": "facekeypoints_key=s3cret", "X-API-Key": ""}
        assert keyed.request("GET", "/static/page.js", headers=cookie)[0] == 200
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{keyed.port}/v1/track")
        with connect(f"ws://127.0.0.1:{keyed.port}/v1/track", additional_headers={"X-API-Key": "s3cret"}) as ws:
            ws.send(photo)
            assert json.loads(ws.recv(30))["faces"]
    finally:
        keyed.stop()


def test_without_the_serve_extra_it_says_what_to_install():
    code = ("import sys; sys.modules['fastapi'] = None; from facekeypoints.cli import main; "
            "sys.exit(main(['serve']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "serve needs fastapi: pip install 'facekeypoints[serve]'" in done.stderr


def test_several_models_in_several_worker_processes(real_photos):
    served = Server("--workers", "2", "--model", "keypointnet", "--model", "fast")
    try:
        status, models = served.json("GET", "/v1/models")
        assert status == 200 and [m["name"] for m in models["models"]] == ["keypointnet", "fast"]
        photo = real_photos[0].read_bytes()
        answers = {name: served.json("POST", f"/v1/faces?model={name}", photo) for name in ("keypointnet", "fast")}
        assert all(status == 200 for status, _ in answers.values())
        default = served.json("POST", "/v1/faces", photo)
        assert default == answers["keypointnet"] != answers["fast"]  # two models, each answering its own
        answers = [served.json("POST", "/v1/faces", photo) for _ in range(6)]  # across both processes
        assert all(answer == default for answer in answers)
    finally:
        served.stop()
