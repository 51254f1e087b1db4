"""Videos: faces followed from frame to frame (`photos.Tracker`), smoothed (`OneEuroFilter`), track ids, live
sources (`predict --camera`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.keypoints import MEAN_SHAPE
from facekeypoints.photos import Crop, OneEuroFilter, Tracking


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


def scene(photo, width=480, height=360) -> np.ndarray:
    image = cv2.imread(str(photo))
    scale = min(width / image.shape[1], height / image.shape[0])
    matrix = np.array([[scale, 0, (width - scale * image.shape[1]) / 2],
                       [0, scale, (height - scale * image.shape[0]) / 2]])
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def moving(base: np.ndarray, frames: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames of `base` moving, turning (4 deg) and zooming (8 %) smoothly, with sensor noise; and their transforms."""
    rng = np.random.default_rng(seed)
    height, width = base.shape[:2]
    images, matrices = [], []
    for i in range(frames):
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 4 * np.sin(i / 9), 1 + 0.08 * np.sin(i / 11))
        matrix[:, 2] += (25 * np.sin(i / 13), 15 * np.cos(i / 10))
        frame = cv2.warpAffine(base, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        images.append(np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8))
        matrices.append(matrix)
    return images, matrices


def jitter(points: list[np.ndarray], matrices: list[np.ndarray]) -> float:
    """RMS of each keypoint about its mean, mapped back through the known motion (px of the scene)."""
    back = np.array([cv2.transform(p[None], cv2.invertAffineTransform(m))[0] for p, m in zip(points, matrices)])
    return float(np.sqrt(np.mean(np.sum((back - back.mean(axis=0)) ** 2, axis=-1))))


def write_video(path, images, fps=30.0) -> None:
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for image in images:
        writer.write(image)
    writer.release()


# ------------------------------------------------------------------------------------------ the filter


def test_one_euro_holds_a_constant_and_follows_a_step_faster_with_more_beta():
    still = OneEuroFilter(1.0, 0.0)
    for i in range(5):
        np.testing.assert_allclose(still(np.full((15, 2), 7.0), i / 30), 7.0)
    reached = {}
    for beta in (0.0, 10.0):
        one_euro = OneEuroFilter(0.5, beta)
        one_euro(np.zeros((1, 2)), 0.0)
        reached[beta] = [one_euro(np.full((1, 2), 10.0), i / 30)[0, 0] for i in range(1, 6)]
        assert all(0 < a < b <= 10 for a, b in zip(reached[beta], reached[beta][1:]))  # towards the step, no overshoot
    assert reached[10.0][0] > 2 * reached[0.0][0]  # the speed term opens the filter on a fast change
    with pytest.raises(ValueError, match="min_cutoff > 0"):
        OneEuroFilter(0.0, 1.0)
    with pytest.raises(ValueError, match="redetect"):
        Tracking(redetect=0)


@settings(max_examples=100, deadline=None)
@given(centre=st.tuples(*[st.floats(-500, 500)] * 2), side=st.floats(10, 2000), angle=st.floats(-180, 180))
def test_a_crop_from_the_mean_shape_it_was_placed_at_is_that_crop(centre, side, angle):
    crop = Crop(centre, side, angle)
    points = crop.to_photo(np.array(MEAN_SHAPE))
    np.testing.assert_allclose(crop.to_crop(points), MEAN_SHAPE, atol=1e-6)
    again = Crop.from_keypoints(points)
    np.testing.assert_allclose(again.centre, centre, atol=1e-6 * side)
    assert again.side == pytest.approx(side, rel=1e-9)
    assert (again.angle - angle + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)


# ------------------------------------------------------------------------------------------ the tracker


def test_a_moving_face_is_followed_with_one_id_fewer_detections_and_less_jitter(fk, real_photos):
    base = scene(real_photos[1])
    images, matrices = moving(base, 60)
    tracker = fk.tracker()
    tracked = [tracker(image, i / 30) for i, image in enumerate(images)]
    assert all(len(faces) == 1 for faces in tracked)  # a face in every frame
    assert {faces[0].track for faces in tracked} == {0}
    assert tracker.detections <= 60 // Tracking().redetect + 1  # the detector ran only every 10 frames
    each = [fk(image, channels="bgr")[0].as_array() for image in images]
    followed = [faces[0].as_array() for faces in tracked]
    # where the face is, the same as frame by frame (within a pixel on average), and steadier
    assert np.mean(np.linalg.norm(np.array(followed) - np.array(each), axis=-1)) < 1.0
    assert jitter(followed, matrices) < 0.8 * jitter(each, matrices)
    raw = fk.tracker(Tracking(smooth=False))
    unsmoothed = [raw(image, i / 30)[0].as_array() for i, image in enumerate(images)]
    assert jitter(followed, matrices) < jitter(unsmoothed, matrices)  # the filter removes some of it
    assert all(faces[0].pose is not None and faces[0].uncertainty is not None for faces in tracked)


def test_two_faces_keep_their_ids_and_a_face_that_leaves_comes_back_with_a_new_one(fk, real_photos):
    left, right = (cv2.resize(cv2.imread(str(p)), (240, 240), interpolation=cv2.INTER_AREA) for p in real_photos[:2])
    both = np.concatenate([left, right], axis=1)
    blank = np.full_like(both, 128)
    tracker = fk.tracker()
    ids = []
    for i in range(25):
        frame = both if i < 12 or i >= 16 else blank
        faces = tracker(np.roll(frame, i % 5, axis=1), i / 30)
        ids.append(sorted(((f.box[0] > 240), f.track) for f in faces))
    assert [side for side, _ in ids[0]] == [False, True] and {i for _, i in ids[0]} == {0, 1}
    assert all(step == ids[0] for step in ids[:12])  # each face keeps its id
    assert all(step == [] for step in ids[12:16])  # gone: no face guessed on a blank frame
    assert {i for _, i in ids[16]} == {2, 3} and all(step == ids[16] for step in ids[16:])  # back, as new faces


# ------------------------------------------------------------------------------------------ files and live sources


def test_videos_are_followed_by_default_and_not_with_no_track(fk, real_photos, tmp_path):
    images, _ = moving(scene(real_photos[0]), 24)
    write_video(tmp_path / "clip.mp4", images)
    records = {}
    for flags in ((), ("--no-track",)):
        out = tmp_path / f"faces{len(flags)}.json"
        assert main(["predict", str(tmp_path / "clip.mp4"), "--json", str(out), "-q", *flags]) == 0
        records[flags] = json.loads(out.read_text())
    followed, alone = records[()], records[("--no-track",)]
    assert [r["frame"] for r in followed] == list(range(24)) == [r["frame"] for r in alone]
    assert {f["track"] for r in followed for f in r["faces"]} == {0}
    assert {f["track"] for r in alone for f in r["faces"]} == {None}
    for record in followed:
        face = record["faces"][0]
        assert set(face) >= {"box", "keypoints", "uncertainty", "pose", "track"} and face["pose"] is not None


def test_a_live_source_is_followed_and_ctrl_c_ends_it_with_valid_json(real_photos, tmp_path, capsys):
    images, _ = moving(scene(real_photos[2]), 12)
    write_video(tmp_path / "stream.mp4", images)
    out = tmp_path / "live.json"
    assert main(["predict", "--camera", str(tmp_path / "stream.mp4"), "--json", str(out), "-q"]) == 0
    records = json.loads(out.read_text())
    assert [r["frame"] for r in records] == list(range(12))
    assert all(len(r["faces"]) == 1 and r["faces"][0]["track"] == 0 for r in records)
    assert main(["predict", "x.jpg", "--camera", "0"]) == 1
    assert "give INPUTs or --camera, not both" in capsys.readouterr().err
    assert main(["predict", "--camera", str(tmp_path / "missing.mp4")]) == 1
    assert "cannot open video source" in capsys.readouterr().err
    # Ctrl-C in the middle of a live source: the records written so far are a valid JSON list, exit 0
    long_clip = tmp_path / "long.mp4"
    write_video(long_clip, images * 150)
    script = ("import os, signal, threading\nfrom facekeypoints.cli import main\n"
              "threading.Timer(2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
              f"raise SystemExit(main(['predict', '--camera', {str(long_clip)!r}, '--json', {str(out)!r}, '-f', '-q']))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    frames = [r["frame"] for r in json.loads(out.read_text())]
    assert 0 < len(frames) < 1800 and frames == list(range(len(frames)))


def test_show_without_any_window_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    if "GUI: NONE" not in cv2.getBuildInformation().replace("  ", " ") and not os.environ.get("CI_HEADLESS"):
        try:  # an OpenCV with windows (opencv-python) would open one: nothing to check here
            cv2.namedWindow("probe")
            cv2.destroyWindow("probe")
            pytest.skip("this OpenCV can open windows")
        except cv2.error:
            pass
    assert main(["predict", "--show", "-q"]) == 1
    assert "no window to show the frames in" in capsys.readouterr().err
