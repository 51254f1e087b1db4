"""Round 3 of hardening (issue 28): each kind of fault an outside probe found, with cases of our own.

Every input of a batch is accounted for; one input costs what its pixels need and no more; names and places
never destroy an input or another process's output; a signal keeps what was done; hostile model files,
non-finite answers and bad --boxes are one clear line; a full disk while saving a checkpoint says so.
"""

from __future__ import annotations

import errno
import json
import math
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from facekeypoints import FaceKeypoints
from facekeypoints._fs import atomic_output
from facekeypoints.cli import main
from facekeypoints.errors import FacekeypointsError, OutputExistsError
from facekeypoints.inference.predictor import Predictor
from facekeypoints.keypoints import MEAN_SHAPE, NUM_KEYPOINTS
from facekeypoints.photos import IMAGE_SUFFIXES, ImageError, decode_image, scan_inputs, write_results
from facekeypoints.photos.crops import Crop, clip_box
from facekeypoints.photos.results import FileResult
from facekeypoints.photos.writers import RecordsWriter
from facekeypoints.shipped import model_files, sample_image

COMMAND = [sys.executable, "-m", "facekeypoints"]


def _strict_json(text: str):
    """JSON as the standard has it: NaN and Infinity (which Python's json writes and reads) refused."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that states a size in its header and holds no pixels: for what must be refused before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    return path


def _face(path: Path) -> Path:
    shutil.copyfile(sample_image(), path)
    return path


def _faces(folder: Path, count: int) -> Path:
    """A new folder of `count` photos of a face (hard links to one copy), named in order."""
    folder.mkdir()
    width = len(str(count - 1))
    first = _face(folder / f"p{0:0{width}}.png")
    for i in range(1, count):
        os.link(first, folder / f"p{i:0{width}}.png")
    return folder


# ------------------------------------------------------------------ 1. every input of a batch accounted for


def test_one_bad_input_does_not_sink_the_batch_and_every_input_has_a_record(tmp_path, capsys):
    """A 32-bit float TIFF with levels up to 1020 ended the batch in a traceback and no JSON; a refused 20000^2
    PNG left no record."""
    folder = tmp_path / "in"
    folder.mkdir()
    _face(folder / "a.png")
    cv2.imwrite(str(folder / "b.tif"), np.linspace(0, 1020, 64 * 64, dtype=np.float32).reshape(64, 64, 1))
    cv2.imwrite(str(folder / "c.tif"), np.random.default_rng(0).random((40, 50, 3), dtype=np.float32))  # in [0, 1]
    _png_header(folder / "d-huge.png", 20000, 20000)
    (folder / "e.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "faces.json"
    assert main(["predict", str(folder), "--json", str(out), "-q"]) == 1
    records = _strict_json(out.read_text())
    assert [Path(r["source"]).name for r in records] == ["a.png", "b.tif", "c.tif", "d-huge.png", "e.jpg"]
    errors = {Path(r["source"]).name: r["error"] for r in records if "error" in r}
    assert set(errors) == {"b.tif", "d-huge.png", "e.jpg"}
    assert "float32 pixels that are not 8-bit levels" in errors["b.tif"]
    assert "over the limit" in errors["d-huge.png"]
    assert all(set(r) == {"source", "frame", "error"} for r in records if "error" in r)
    assert len(records[0]["faces"]) == 1 and records[2]["width"] == 50  # the float TIFF in [0, 1] is read


def test_an_unforeseen_failure_of_one_input_is_its_record(tmp_path):
    """Not only the errors the reader knows: whatever one image does (here its detector raises) is its record."""
    photos = [_face(tmp_path / name) for name in ("a.png", "b.png", "c.png")]

    def detector(image):
        if detector.calls == 1:
            detector.calls += 1
            raise RuntimeError("the detector broke on this one")
        detector.calls += 1
        return [(100, 100, 300, 300)]
    detector.calls = 0

    results = list(FaceKeypoints(detector=detector).detect_files(photos, workers=0))
    assert [r.error is None for r in results] == [True, False, True]
    assert "b.png: RuntimeError: the detector broke on this one" in results[1].error


def test_folder_scans_take_every_format_opencv_reads_and_count_the_rest(tmp_path, capsys):
    image = cv2.imread(str(sample_image()))
    for suffix in (".ppm", ".pgm", ".pnm", ".tif", ".webp", ".bmp", ".sr", ".ras"):
        grey = suffix == ".pgm"
        assert cv2.imwrite(str(tmp_path / f"face{suffix}"), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if grey else image)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "data.csv").write_text("a,b")
    scan = scan_inputs(tmp_path)
    assert {p.suffix for p in scan.paths} == {".ppm", ".pgm", ".pnm", ".tif", ".webp", ".bmp", ".sr", ".ras"}
    assert {".ppm", ".pgm", ".pnm", ".pfm", ".jp2", ".avif", ".hdr"} <= set(IMAGE_SUFFIXES)
    assert [p.name for p in scan.skipped] == ["data.csv", "notes.txt"]
    out = tmp_path / "faces.json"
    assert main(["predict", str(tmp_path), "--json", str(out)]) == 0
    assert "2 other file(s) in the folders skipped" in capsys.readouterr().err
    assert all(len(r["faces"]) == 1 for r in _strict_json(out.read_text()))


# --------------------------------------------------------------------- 2. bounded cost per input


def test_a_file_larger_than_its_pixels_need_is_refused_unread(tmp_path, monkeypatch):
    """A 2.2 GB file that begins with a small JPEG was read whole (4.5 GB at its peak)."""
    ok, jpeg = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))
    path = tmp_path / "padded.jpg"
    with open(path, "wb") as file:
        file.write(jpeg.tobytes())
        file.truncate(300 << 20)  # sparse: 300 MB on paper, nothing on disk
    real = np.fromfile
    monkeypatch.setattr(np, "fromfile", lambda *a, **k: pytest.fail("the file was read") or real(*a, **k))
    with pytest.raises(ImageError, match=r"padded.jpg: 315 MB, more than an image of 32x32 pixels can need"):
        decode_image(path)
    monkeypatch.undo()
    small = tmp_path / "trailer.jpg"  # a JPEG with what phones put after it (a motion photo's video) is fine
    small.write_bytes(jpeg.tobytes() + bytes(5 << 20))
    assert decode_image(small).shape == (32, 32, 3)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_special_files_are_skipped_with_a_record_not_waited_on(tmp_path):
    """A FIFO named b.jpg blocked a folder's batch for ever (and one named .mp4 its progress bar's count)."""
    folder = tmp_path / "in"
    folder.mkdir()
    _face(folder / "a.png")
    os.mkfifo(folder / "b.jpg")
    os.mkfifo(folder / "c.mp4")
    out = tmp_path / "faces.json"
    done = subprocess.run([*COMMAND, "predict", str(folder), "--json", str(out), "-q"], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 1, done.stderr
    records = _strict_json(out.read_text())
    assert [Path(r["source"]).name for r in records] == ["a.png", "b.jpg", "c.mp4"]
    assert "a named pipe (FIFO), not an image or video file" in records[1]["error"]
    assert "a named pipe (FIFO)" in records[2]["error"]


def test_boxes_are_clipped_to_the_image_and_crops_cost_the_photo_not_the_box(tmp_path, monkeypatch):
    """A --boxes box of 1e6 px asked OpenCV for a 1 TB crop."""
    photo = _face(tmp_path / "a.png")
    (tmp_path / "boxes.json").write_text(json.dumps({str(photo): [[-10, -10, 1e6, 1e6], [100, 80, 300, 320]]}))
    sizes = []
    real = cv2.warpAffine

    def recorded(image, matrix, size, *args, **kwargs):
        sizes.append(size)
        return real(image, matrix, size, *args, **kwargs)
    monkeypatch.setattr(cv2, "warpAffine", recorded)
    out = tmp_path / "faces.json"
    assert main(["predict", str(photo), "--boxes", str(tmp_path / "boxes.json"), "--json", str(out), "-q"]) == 0
    [record] = _strict_json(out.read_text())
    assert len(record["faces"]) + record["not_faces"] == 2
    assert max(max(size) for size in sizes) <= 2 * 512 + 96
    assert clip_box([-10, -10, 1e6, 1e6], (512, 512, 3)) == (0, 0, 512, 512)
    assert clip_box([500, 100, 50, 20], (512, 512)) == (500, 100, 12, 20)
    sizes.clear()
    grey = np.zeros((100, 200), np.uint8)
    for side in (1e4, 1e9, 1e15):  # a lost track's crop, say: bounded by the photo
        assert Crop((50.0, 50.0), side, 30.0).cut(grey).shape == (96, 96)
    assert max(max(size) for size in sizes) <= 2 * 200 + 96
    with pytest.raises(ValueError, match="finite centre"):
        Crop((math.nan, 0.0), 50.0).cut(grey)
    (tmp_path / "off.json").write_text(json.dumps({str(photo): [[5000, 5000, 10, 10]]}))
    assert main(["predict", str(photo), "--boxes", str(tmp_path / "off.json"), "--json", str(out), "-f", "-q"]) == 1
    assert "lies outside the 512x512 image" in _strict_json(out.read_text())[0]["error"]


def test_a_picture_of_more_faces_than_can_be_drawn_is_refused_before_any_work(tmp_path, capsys):
    """show --count 100000 ran for minutes at 3.4 GB; evaluate --worst-out likewise after the whole evaluation."""
    assert main(["show", str(tmp_path / "no-data-needed"), "--count", "100000", "--out", str(tmp_path / "a.png")]) == 1
    assert "--count 100000: at most 256 faces in one picture" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path / "none"), "--worst-out", str(tmp_path / "w.png"),
                 "--count", "300"]) == 1
    assert "--count 300: at most 256 faces" in capsys.readouterr().err


# ------------------------------------------------------------------------------- 3. names and places


def test_the_longest_legal_output_name_works(tmp_path, capsys):
    """A legal 250-byte --json name failed: the temporary file's name beside it was longer than 255 bytes."""
    out = tmp_path / ("r" * 245 + ".json")
    assert main(["predict", str(sample_image()), "--json", str(out), "-q"]) == 0
    assert len(_strict_json(out.read_text())) == 1
    drawn = tmp_path / "drawn"
    photo = _face(tmp_path / ("p" * 246 + ".png"))  # its annotated copy (and a video's .part) keep its name
    assert main(["predict", str(photo), "--save-dir", str(drawn), "-q"]) == 0
    assert [p.name for p in drawn.iterdir()] == [photo.name]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_output_never_replaces_an_input(tmp_path, capsys, force):
    """--save-dir equal to the input folder, with --force, replaced the photo with its annotated copy."""
    folder = tmp_path / "in"
    folder.mkdir()
    photo = _face(folder / "a.png")
    other = _face(folder / "a_0.png")  # what align names a.png's first face
    before = photo.read_bytes()
    assert main(["predict", str(folder), "--save-dir", str(folder), "-q", *force]) == 1
    assert "a.png: is an input of this batch: not overwritten" in capsys.readouterr().err
    assert photo.read_bytes() == before and other.read_bytes() == before
    assert main(["align", str(folder), "--out", str(folder), "-q", *force]) == 1
    assert "a_0.png: is an input of this batch: not overwritten" in capsys.readouterr().err
    assert other.read_bytes() == before and (folder / "a_0_0.png").exists()  # the other crop was written
    assert main(["predict", str(photo), "--json", str(photo), "-q", *force]) == 1
    assert "is an input of this batch" in capsys.readouterr().err and photo.read_bytes() == before


# ------------------------------------------------------------------------------ 4. signals, concurrency


def test_the_no_overwrite_check_is_made_again_at_the_final_rename(tmp_path):
    """Two processes writing one --json: the later one replaced the other's file, though neither had --force."""
    path = tmp_path / "faces.json"
    with pytest.raises(OutputExistsError, match="written by another process"):
        with atomic_output(path) as tmp:
            tmp.write_text("mine")
            path.write_text("the other process's")  # appears while this one works
    assert path.read_text() == "the other process's"
    assert [p.name for p in tmp_path.iterdir()] == ["faces.json"]  # and no temporary file
    with atomic_output(path, force=True) as tmp:  # --force replaces it
        tmp.write_text("mine")
    assert path.read_text() == "mine"
    results = [FileResult(Path("x.png"), None, 10, 10)]
    records = tmp_path / "records.json"

    def racing():
        yield results[0]
        records.write_text("[]")
    with pytest.raises(OutputExistsError):
        write_results(racing(), records)
    assert records.read_text() == "[]"


def test_two_processes_writing_one_json_never_replace_each_other(tmp_path):
    """Both start before either ends (each has 12 photos), so both pass the check at the start: the rename is
    where one of them must find the other's file."""
    folder = _faces(tmp_path / "in", 12)
    out = tmp_path / "faces.json"
    runs = [subprocess.Popen([*COMMAND, "predict", str(folder), "--json", str(out), "-q"], stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    ends = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in ends) == [0, 1], ends
    [err] = [err for code, err in ends if code]
    assert "already exists" in err, err
    assert len(_strict_json(out.read_text())) == 12
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sigterm_ends_a_batch_as_ctrl_c_does_keeping_what_was_done(tmp_path):
    """SIGTERM during predict --json FILE died silently and left the temporary file."""
    folder = _faces(tmp_path / "in", 300)
    out = tmp_path / "faces.json"
    process = subprocess.Popen([*COMMAND, "predict", str(folder), "--json", str(out)], stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 180
        while not any(p.name.startswith(".faces.json") for p in tmp_path.iterdir()):
            assert process.poll() is None and time.monotonic() < deadline, "the records never began"
            time.sleep(0.05)
        time.sleep(4)  # some photos done
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    records = _strict_json(out.read_text())
    assert 0 < len(records) < 300 and all(len(r["faces"]) == 1 for r in records)
    assert f"interrupted: {len(records)} image(s)/frame(s)" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sigterm_ends_any_command_as_ctrl_c_does(tmp_path):
    """Not only predict: a `kill` during any command's output (here submit's) leaves no temporary file."""
    out = tmp_path / "submission.csv"
    code = f"""
import os, signal, sys
import facekeypoints.evaluation as evaluation
from facekeypoints._fs import atomic_output
from facekeypoints.cli import main

def submit(test, lookup, path, *rest):
    with atomic_output(path) as tmp:
        tmp.write_text("half a submission")
        os.kill(os.getpid(), signal.SIGTERM)
        tmp.write_text("all of it")
    return "never"

evaluation.submit = submit
sys.exit(main(["submit", "--data", "x", "--out", {str(out)!r}]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 130 and "facekeypoints: interrupted" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`predict | head` ended with a "Broken pipe" error."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        _face(folder / f"p{i}.png")
    err = tmp_path / "err.txt"
    done = subprocess.run(f"{' '.join(COMMAND)} predict {folder} 2>{err} | head -c 20", shell=True,
                          capture_output=True, timeout=240)
    assert len(done.stdout) == 20
    assert "pipe" not in err.read_text().lower() and "Traceback" not in err.read_text(), err.read_text()


def test_a_missing_camera_is_one_line_not_opencv_warnings(tmp_path):
    done = subprocess.run([*COMMAND, "predict", "--camera", "9", "--json", str(tmp_path / "c.json")],
                          capture_output=True, text=True, timeout=240)
    assert "cannot open camera 9" in done.stderr
    assert "WARN" not in done.stderr and "VIDEOIO" not in done.stderr, done.stderr


# ------------------------------------------------------------------- 5. hostile or broken model files


def _onnx_model(path: Path, faces_shape, outputs_shape) -> Path:
    """A graph with the names `facekeypoints export` writes and other types or shapes: its outputs are the faces
    cast to float."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Cast", ["faces"], ["keypoints"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["faces"], ["spread"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(
        nodes, "wrong", [helper.make_tensor_value_info("faces", TensorProto.UINT8, faces_shape),
                         helper.make_tensor_value_info("four_point", TensorProto.BOOL, ["N"])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, outputs_shape) for name in ("keypoints", "spread")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_an_onnx_graph_with_the_right_names_and_wrong_shapes_is_refused(tmp_path, capsys):
    declared = _onnx_model(tmp_path / "declared.onnx", ["N", 64, 64], ["N", 64, 64])
    assert main(["predict", str(sample_image()), "--model", str(declared), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a facekeypoints model: faces is tensor(uint8) ['N', 64, 64], not" in err
    inferred = _onnx_model(tmp_path / "inferred.onnx", ["N", 96, 96], ["N", "a", "b"])  # ORT infers (N, 96, 96)
    assert main(["predict", str(sample_image()), "--model", str(inferred), "-q"]) == 1
    assert "keypoints is tensor(float) ['N', 96, 96], not tensor(float) ['N', 15, 2]" in capsys.readouterr().err


class _Misshapen(Predictor):
    name = "misshapen"

    def _run(self, faces, four_point, flip):
        return np.zeros((len(faces), 96, 96), np.float32), np.zeros((len(faces), NUM_KEYPOINTS), np.float32)


def test_answers_of_the_wrong_shape_are_refused_whatever_the_backend():
    """A model whose graph says nothing of its shapes (or any backend's bug) is caught on its first answer."""
    with pytest.raises(FacekeypointsError, match=r"model misshapen answered keypoints of shape \(1, 96, 96\)"):
        FaceKeypoints(_Misshapen(), detector=lambda image: [(100, 100, 300, 300)]).detect(sample_image())


def test_resume_on_a_checkpoint_without_training_state_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copyfile(model_files("fast").checkpoint, run / "last.pt")  # a shipped model: weights only
    assert main(["train", "--out", str(run), "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "last.pt holds no training state to resume from" in err


class _Broken(Predictor):
    """A model that answers NaN (and infinity) for its first face, the mean face for the rest: a damaged weights
    file answers so."""

    name = "broken"

    def _run(self, faces, four_point, flip):
        points = np.repeat(np.asarray(MEAN_SHAPE, np.float32)[None], len(faces), axis=0)
        spread = np.full((len(faces), NUM_KEYPOINTS), 6.0, np.float32)
        points[0, 3] = np.nan
        points[0, 4] = np.inf
        spread[0] = np.nan
        return points, spread


def test_non_finite_answers_are_never_written_as_nan(tmp_path):
    photo = _face(tmp_path / "a.png")
    fk = FaceKeypoints(_Broken(), detector=lambda image: [(100, 100, 300, 300), (50, 50, 200, 200)])
    out = tmp_path / "faces.json"
    write_results(fk.detect_files([photo], workers=0), out)
    [record] = _strict_json(out.read_text())
    [broken] = [face for face in record["faces"] if face["non_finite"]]
    [fine] = [face for face in record["faces"] if not face["non_finite"]]
    assert broken["keypoints"] is None and not broken["too_small"] and broken["spread"] is None
    assert fine["keypoints"] is not None and fine["spread"] == 6.0
    nan_width = FileResult(photo, None, math.nan, 10)  # a value no code path makes today: still not written
    with RecordsWriter(tmp_path / "strict.json") as writer:
        writer.write(nan_width)
    [record] = _strict_json((tmp_path / "strict.json").read_text())
    assert "not a finite number" in record["error"]


# ------------------------------------------------------------------------------------ 6. bad --boxes


@pytest.mark.parametrize("boxes, expected", [
    ('{"a.png": [[NaN, 0, 10, 10]]}', "not a list of [x, y, width, height] of finite numbers"),
    ('{"a.png": [[0, 0, Infinity, 10]]}', "of finite numbers"),
    ('{"a.png": [[0, 0, 10, -Infinity]]}', "of finite numbers"),
    ('{"a.png": [[true, 0, 10, 10]]}', "of finite numbers"),
    ('[{"source": 5, "faces": [{"box": [0, 0, 10, 10]}]}]', "entry 1: the source is not a file name: 5"),
    ('[{"source": null, "faces": []}]', "the source is not a file name: None"),
    ('[{"source": "a.png", "frame": true, "faces": []}]', "the frame of a.png is not a whole number"),
    ('[{"source": "a.png", "frame": -1, "faces": []}]', "the frame of a.png is not a whole number"),
])
def test_bad_boxes_are_one_clear_line(tmp_path, capsys, boxes, expected):
    (tmp_path / "boxes.json").write_text(boxes)
    assert main(["predict", str(sample_image()), "--boxes", str(tmp_path / "boxes.json"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_the_records_of_predict_with_error_records_are_boxes_again(tmp_path):
    photo = _face(tmp_path / "a.png")
    (tmp_path / "bad.jpg").write_bytes(b"no")
    out = tmp_path / "faces.json"
    assert main(["predict", str(photo), str(tmp_path / "bad.jpg"), "--json", str(out), "-q"]) == 1
    assert main(["predict", str(photo), "--boxes", str(out), "--json", str(tmp_path / "again.json"), "-q"]) == 0


# ---------------------------------------------------------------- 7. a full disk while saving a checkpoint


def _fast_model():
    from facekeypoints.checkpoint import load_checkpoint, model_from_checkpoint

    payload = load_checkpoint(model_files("fast").checkpoint)
    return model_from_checkpoint(payload), payload["config"]


def test_a_full_disk_while_saving_a_checkpoint_is_a_clear_message_and_keeps_the_old_one(tmp_path):
    """Simulated in a child process limited to small files (RLIMIT_FSIZE): the write fails as on a full disk."""
    from facekeypoints.checkpoint import save_checkpoint

    model, config = _fast_model()
    old = tmp_path / "last.pt"
    save_checkpoint(old, model, config)
    before = old.read_bytes()
    code = f"""
import resource, signal, sys
from facekeypoints.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from facekeypoints.errors import FacekeypointsError
payload = load_checkpoint({str(model_files("fast").checkpoint)!r})
model = model_from_checkpoint(payload)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then a write past the limit fails with EFBIG, as ENOSPC would
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
try:
    save_checkpoint({str(old)!r}, model, payload["config"])
except FacekeypointsError as error:
    print(error)
    sys.exit(3)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 3, done.stderr
    assert f"cannot save {old}: File too large" in done.stdout and "the file as it was is kept" in done.stdout
    assert old.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_enospc_in_training_names_what_the_run_keeps(kaggle_dir, tmp_path, monkeypatch):
    import facekeypoints.checkpoint as checkpoint
    from facekeypoints.training import TrainConfig, run

    written = []

    def full_disk(path, data, force=False):
        if len(written) >= 2:  # best.pt and last.pt of the first epoch fit; then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(path)
        Path(path).write_bytes(bytes(data))

    monkeypatch.setattr(checkpoint, "write_bytes_atomic", full_disk)
    config = TrainConfig(model="resnet18", data=str(kaggle_dir / "training.csv"), out=str(tmp_path / "run"),
                         epochs=3, batch_size=4, val_fraction=0.25, threads=1)
    with pytest.raises(FacekeypointsError, match=r"cannot save .*: No space left on device .* the file as it was is "
                                                 r"kept; training stopped at the end of epoch 2: .*last.pt keeps the "
                                                 r"end of epoch 1"):
        run(config, quiet=True)


def test_a_full_tmpfs_while_saving_a_checkpoint(tmp_path):
    """The real thing where this machine lets a test mount a small tmpfs (root on Linux)."""
    from facekeypoints.checkpoint import save_checkpoint

    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root): the RLIMIT_FSIZE test covers the message")
    try:
        model, config = _fast_model()
        (mount / "filler").write_bytes(bytes(200_000))
        with pytest.raises(FacekeypointsError, match="No space left on device"):
            save_checkpoint(mount / "last.pt", model, config)
        assert [p.name for p in mount.iterdir()] == ["filler"]
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)  # even while a failed write holds a file


# ------------------------------------------------------------------------------------------ friction


def test_bf16_is_the_default_only_with_native_bf16_and_a_note_elsewhere(monkeypatch):
    from facekeypoints import _device
    from facekeypoints.training.config import TrainConfig, resolve_config

    for flags, native in (({"avx2", "fma"}, False), ({"avx2", "avx512_bf16"}, True), ({"amx_bf16"}, True)):
        monkeypatch.setattr(_device, "cpu_flags", lambda flags=frozenset(flags): flags)
        assert resolve_config(TrainConfig(model="resnet18")).bf16 is native
        assert (_device.bf16_note(True, "cpu") is None) is native
        assert native or "emulated, several times slower" in _device.bf16_note(True, "cpu")
    assert _device.bf16_note(True, "cuda") is None and _device.bf16_note(False, "cpu") is None
    monkeypatch.undo()
    info = Path(_device.CPUINFO)
    if info.exists():  # the real reader: the flags line of /proc/cpuinfo
        assert _device.cpu_flags() == _device.cpu_flags.__wrapped__() and "fpu" in _device.cpu_flags()


def test_show_draws_a_shipped_models_predictions_without_torch(kaggle_dir, tmp_path, capsys):
    """show --model keypointnet needed torch; the shipped models run on ONNX Runtime. Run in a child process in
    which torch cannot be imported."""
    code = f"""
import sys
sys.modules["torch"] = None  # import torch now fails, as where it is not installed
from facekeypoints.cli import main
out = {str(tmp_path / "s.png")!r}
sys.exit(main(["show", {str(kaggle_dir)!r}, "--model", "keypointnet", "--count", "4", "--out", out]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(tmp_path / "s.png")) is not None
    shutil.copyfile(model_files("fast").checkpoint, tmp_path / "fast.pt")  # a checkpoint needs torch: said so
    code = code.replace('"keypointnet"', repr(str(tmp_path / "fast.pt"))).replace("s.png", "t.png")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 1 and "pip install \".[train]\"" in done.stderr, done.stderr
