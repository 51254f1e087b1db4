"""The page of `facekeypoints serve` in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): a photo uploaded and its points drawn where `predict` puts them; the webcam mode fed by Chromium's fake
camera, a clip of the sample photo moving, following the face. Skipped, saying why, where Chromium is not
installed; CI installs it (.ci/run) and sets CI, and there these tests must run.

With FKD_SCREENSHOT_DIR set, the screenshots are also written there (docs/serve-photo.png and docs/serve-webcam.png
come from `FKD_SCREENSHOT_DIR=docs pytest tests/test_serve_browser.py`)."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from serving import Server

from facekeypoints.shipped import sample_image

selenium = pytest.importorskip("selenium", reason="selenium is not installed: pip install -e '.[test]'")
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
POINT = (60, 255, 60)  # the page's keypoint colour (static/page.js)


@pytest.fixture(scope="module")
def chromium() -> tuple[str, str]:
    if CHROMIUM and DRIVER:
        return CHROMIUM, DRIVER
    message = "Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does it in CI)"
    if os.environ.get("CI") or os.environ.get("FKD_REQUIRE_BROWSER") == "1":
        pytest.fail(message + ", and CI requires the browser tests")
    pytest.skip(message)


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


def browser(chromium, profile: Path, *extra: str) -> webdriver.Chrome:
    binary, driver = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,1000", *extra):
        options.add_argument(argument)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    return webdriver.Chrome(options=options, service=Service(driver))


def wait_for(driver, script: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    said = driver.execute_script("const s = document.getElementById('status'); return s ? s.textContent : ''")
    raise AssertionError(f"the page never got there ({script}); it says: {said!r}")


PIXELS = """
const canvas = document.getElementById(arguments[0]);
const ctx = canvas.getContext("2d");
return arguments[1].map(([x, y]) => Array.from(ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data));
"""


def keep_screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    if os.environ.get("FKD_SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["FKD_SCREENSHOT_DIR"]) / name)
    return path


DROP = """
const [name, data] = arguments;
const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name, {type: "image/jpeg"}));
document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
"""


def test_a_photo_uploaded_gets_its_points_drawn_where_predict_puts_them(chromium, server, real_photos, tmp_path):
    photo = sample_image()  # the one photo free to show in the docs
    predicted = tmp_path / "predicted.json"
    subprocess.run([sys.executable, "-m", "facekeypoints", "predict", "--quiet", "--json", str(predicted),
                    photo.name], cwd=photo.parent, check=True)
    [expected] = json.loads(predicted.read_text())
    driver = browser(chromium, tmp_path / "profile")
    try:
        driver.get(server.url + "/")
        wait_for(driver, "return document.getElementById('status').textContent === 'Ready.'")
        driver.find_element("id", "file").send_keys(str(photo))
        record = wait_for(driver, "return window.facekeypoints.photo")
        assert record == expected  # the page got predict's record
        [face] = record["faces"]
        points = list(face["keypoints"].values())
        drawn = driver.execute_script(PIXELS, "photo-canvas", points)
        original = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        for (x, y), pixel in zip(points, drawn):
            assert np.abs(np.subtract(pixel[:3], POINT)).max() <= 3, (x, y, pixel)  # a point drawn there
            under = original[math.floor(y), math.floor(x)]
            assert np.abs(under.astype(int) - POINT).max() > 60  # and not the photo's own colour
        listed = driver.find_element("id", "photo-faces").text
        assert f"yaw {face['pose']['yaw']}°" in listed and "± px" in listed
        assert f"{face['uncertainty']['nose_tip']:.1f}" in listed
        assert "1 face(s)" in driver.find_element("id", "status").text
        shot = keep_screenshot(driver, tmp_path, "serve-photo.png")
        assert shot.stat().st_size > 10_000
        # a photo dropped on the page: the same, for another one
        other = next(p for p in real_photos if p.name == "james.jpg")
        driver.execute_script(DROP, other.name, base64.b64encode(other.read_bytes()).decode())
        record = wait_for(driver, "const r = window.facekeypoints.photo; return r.source === 'james.jpg' && r")
        points = list(record["faces"][0]["keypoints"].values())
        for pixel in driver.execute_script(PIXELS, "photo-canvas", points):
            assert np.abs(np.subtract(pixel[:3], POINT)).max() <= 3
    finally:
        driver.quit()


AXIS = [(255, 0, 0), (0, 200, 0)]  # the page's colours of the face's left and up axes (blue, forward, is short)


def test_a_68_point_models_pose_is_drawn_from_its_nose_tip_alias(chromium, mean68, tmp_path):
    """A 68-point model has no point named nose_tip: the page finds it by the alias the server sends in
    /v1/models (iBUG's 31st point) and draws the head pose's axes from it, as Face.draw does."""
    from facekeypoints.photos import Pose

    served = Server("--model", str(mean68))
    try:
        driver = browser(chromium, tmp_path / "profile")
    except Exception:
        served.stop()
        raise
    try:
        assert served.json("GET", "/v1/models")[1]["models"][0]["aliases"]["nose_tip"] == ["nose_bridge_4"]
        driver.get(served.url + "/")
        wait_for(driver, "return document.getElementById('status').textContent === 'Ready.'")
        driver.find_element("id", "file").send_keys(str(sample_image()))
        [face] = wait_for(driver, "return window.facekeypoints.photo")["faces"]
        assert "nose_tip" not in face["keypoints"] and face["pose"] is not None
        nose = np.array(face["keypoints"]["nose_bridge_4"])
        width = face["box"][2]
        original = cv2.cvtColor(cv2.imread(str(sample_image())), cv2.COLOR_BGR2RGB)
        for axis, colour in zip(Pose(**face["pose"]).axes(), AXIS):
            along = [nose + axis * width / 2 * f for f in np.linspace(0.1, 0.95, 35)]
            drawn = driver.execute_script(PIXELS, "photo-canvas", [p.tolist() for p in along])
            on = "".join("x" if np.abs(np.subtract(pixel[:3], colour)).max() <= 40 else "." for pixel in drawn)
            # the axis is drawn there (the up axis runs over the nose bridge's dots, which cover part of it)
            assert on.count("x") >= len(on) / 3, f"the axis {colour} from the nose tip, drawn where x: {on}"
            assert not any(np.abs(original[math.floor(y), math.floor(x)].astype(int) - colour).max() <= 40
                           for x, y in along)  # and the photo is not that colour there
    finally:
        driver.quit()
        served.stop()


def y4m_clip(path: Path, frames: int = 90, fps: int = 15) -> None:
    """A 640x480 clip of the sample photo, shrunk to 400 px, its top-left corner at (60, 40) swaying 60 px right
    and back, as Chromium's fake camera reads it (YUV4MPEG2, 4:2:0)."""
    face = cv2.resize(cv2.imread(str(sample_image())), (400, 400), interpolation=cv2.INTER_AREA)
    corners = [(60 + round(30 * (1 - math.cos(2 * math.pi * i / frames))), 40) for i in range(frames)]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for x, y in corners:
            frame = np.full((480, 640, 3), 50, np.uint8)
            frame[y:y + 400, x:x + 400] = face
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


def test_the_webcam_mode_follows_the_face_of_a_camera(chromium, server, tmp_path):
    from facekeypoints import FaceKeypoints

    clip = tmp_path / "clip.y4m"
    y4m_clip(clip)
    first = np.full((480, 640, 3), 50, np.uint8)
    first[40:440, 60:460] = cv2.resize(cv2.imread(str(sample_image())), (400, 400), interpolation=cv2.INTER_AREA)
    nose = np.array(FaceKeypoints().detect(first, "bgr")[0].keypoints["nose_tip"])  # where it is at corner 0
    driver = browser(chromium, tmp_path / "profile", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={clip}")
    try:
        driver.get(server.url + "/")
        wait_for(driver, "return document.getElementById('status').textContent === 'Ready.'")
        driver.find_element("id", "tab-webcam").click()
        driver.find_element("id", "cam-start").click()
        wait_for(driver, "return window.facekeypoints.webcam.answers >= 25")
        state = driver.execute_script("""
            const state = window.facekeypoints.webcam;
            const points = state.last.faces.map((f) => Object.values(f.keypoints || {})).flat();
            return {last: state.last, tracks: state.tracks, fps: state.fps, latency: state.latency,
                    stats: document.getElementById('cam-stats').textContent,
                    pixels: points.length ? (() => {""" + PIXELS.replace("arguments[0]", "'cam-canvas'").replace(
            "arguments[1]", "points") + """})() : []};""")
        last = state["last"]
        assert (last["width"], last["height"]) == (640, 480)
        [face] = last["faces"]
        assert max(state["tracks"].values()) >= 20  # one face, followed under one track id
        x, y = face["keypoints"]["nose_tip"]
        assert nose[0] - 8 < x < nose[0] + 60 + 8 and abs(y - nose[1]) < 8  # on the face, wherever it swayed
        for pixel in state["pixels"]:
            assert np.abs(np.subtract(pixel[:3], POINT)).max() <= 3  # the points drawn over the frame
        assert state["fps"] > 0.5 and state["latency"] > 0
        assert re.fullmatch(r"\d+\.\d fps · latency \d+ ms \(server \d+ ms\)", state["stats"]), state["stats"]
        keep_screenshot(driver, tmp_path, "serve-webcam.png")
        driver.find_element("id", "cam-stop").click()
    finally:
        driver.quit()


def test_the_api_docs_render_from_the_package_alone(chromium, server, tmp_path):
    """/docs is Swagger UI, its script and style served by the server (the browser here reaches nothing else)."""
    driver = browser(chromium, tmp_path / "profile")
    try:
        driver.get(server.url + "/docs")
        paths = wait_for(driver, "const found = [...document.querySelectorAll('.opblock-summary-path')]"
                                 ".map((e) => e.textContent); return found.length && found", 60)
        assert {"/v1/faces", "/v1/models", "/healthz"} <= set(paths)
    finally:
        driver.quit()
