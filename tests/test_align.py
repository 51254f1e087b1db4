"""Aligned face crops (`Face.aligned`, `facekeypoints align`): the keypoints land on ArcFace's template, and a
turned photo gives the crop its upright self gives."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_blazeface import turned
from test_photos import _video

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.photos import TEMPLATE_KEYPOINTS, Crop, Face, aligned_crop, read_colour, template
from facekeypoints.photos.align import TEMPLATE_112

# Pearson correlation of the grey pixels of a turned photo's aligned crop with the upright photo's. Measured on
# the four sample photos turned by +-25, +-40, +-90 degrees: 0.902-0.999 (0.902: gus.jpg at -25); the same
# crops cut without the roll (angle 0): at most 0.662 (different people's upright crops: -0.19 to 0.46).
MIN_CORRELATION = 0.85


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


@pytest.fixture(scope="module")
def upright(fk, real_photos):
    """Each photo (BGR) and its face, upright."""
    found = {}
    for path in real_photos:
        image = read_colour(path)
        [face] = fk(image, channels="bgr")
        found[path.name] = image, face
    return found


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    grey = [cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(float).ravel() for x in (a, b)]
    return float(np.corrcoef(*grey)[0, 1])


def landed(face: Face, size: int) -> np.ndarray:
    """The face's five template keypoints in the pixels of its aligned crop."""
    to_crop = cv2.invertAffineTransform(aligned_crop(face.keypoints, size).to_photo_matrix(size))
    points = np.array([face.keypoints[name] for name in TEMPLATE_KEYPOINTS])
    return points @ to_crop[:, :2].T + to_crop[:, 2]


@pytest.mark.parametrize("degrees", [25, -25, 40, -40, 90, -90])
def test_a_turned_photo_aligns_like_the_upright_one(fk, upright, degrees):
    for name, (image, face) in upright.items():
        photo, _ = turned(image, degrees)
        [seen] = fk(photo, channels="bgr")
        crop = seen.aligned(photo)
        assert crop.shape == (112, 112, 3)
        r = correlation(crop, face.aligned(image))
        assert r > MIN_CORRELATION, f"{name} turned by {degrees}: r = {r:.3f}"
        # the bound tells a wrong transform: the same crop left unturned fails it
        unturned = aligned_crop(seen.keypoints)
        unturned.angle = 0.0
        assert correlation(unturned.cut(photo, 112), face.aligned(image)) < MIN_CORRELATION, name


@pytest.mark.parametrize("size", [112, 224])
def test_the_keypoints_land_on_the_template(fk, upright, size):
    """Within a few pixels: a real face is not the template's mean face. Measured at 112 px, upright and turned
    by 40 or -90 degrees: eyes at most 2.7 px off, all five at most 6.2 (astronaut.png's smile: mouth corners)."""
    for name, (image, face) in upright.items():
        [seen] = fk(turned(image, 40)[0], channels="bgr")
        for one in (face, seen):
            error = np.linalg.norm(landed(one, size) - template(size), axis=1) * 112 / size
            assert error[:2].max() < 3.5 and error.max() < 7, f"{name}: {error.round(1)} (112-px pixels)"


@settings(max_examples=30, deadline=None)
@given(st.floats(-180, 180), st.floats(1, 4), st.floats(-20, 20), st.floats(-20, 20),
       st.sampled_from([112, 224, 64]))
def test_the_crop_puts_exact_template_points_on_the_template_pixels(angle, scale, dx, dy, size):
    """A face drawn as five dots where a similarity puts the template: each dot's centre of mass in the aligned
    crop is on its template point (the crop's pixel grid, its shrinking and its turn are right)."""
    turn = math.radians(angle)
    matrix = scale * np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    points = template(112) @ matrix.T + (300 + dx, 300 + dy) - matrix @ (56, 56)
    canvas = np.zeros((600, 600), np.float64)
    ys, xs = np.mgrid[:600, :600]
    for x, y in points:
        canvas += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * (1.5 * scale) ** 2))
    image = (255 * canvas / canvas.max()).round().astype(np.uint8)
    keypoints = dict(zip(TEMPLATE_KEYPOINTS, map(tuple, points)))
    crop = Face((0, 0, 1, 1), keypoints, Crop((0, 0), 1)).aligned(image, size).astype(float)
    expected = (TEMPLATE_112 + 0.5) * size / 112 - 0.5  # the 112-px crop's edges scaled: the same crop, finer
    np.testing.assert_allclose(landed(Face((0, 0, 1, 1), keypoints, Crop((0, 0), 1)), size), expected, atol=1e-6)
    ys, xs = np.mgrid[:size, :size]
    radius = 8 * size / 112  # the dots: 1.5 template pixels (sd); the nearest two are 25 apart
    for x, y in expected:
        near = crop * (((xs - x) ** 2 + (ys - y) ** 2) < radius ** 2)
        centre = np.array([(near * xs).sum(), (near * ys).sum()]) / near.sum()
        assert np.linalg.norm(centre - (x, y)) < 0.06, (centre, (x, y))  # measured: at most 0.025 px


def test_channels_and_sizes(upright):
    image, face = next(iter(upright.values()))
    bgr = face.aligned(image)
    np.testing.assert_array_equal(face.aligned(image[..., ::-1].copy()), bgr[..., ::-1])  # RGB stays RGB
    grey = face.aligned(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert grey.shape == (112, 112) and grey.dtype == np.uint8
    large = face.aligned(image, size=224)
    assert large.shape == (224, 224, 3)
    assert correlation(cv2.resize(large, (112, 112), interpolation=cv2.INTER_AREA), bgr) > 0.99


def test_a_face_without_keypoints_or_a_bad_size_is_refused(upright):
    image, face = next(iter(upright.values()))
    with pytest.raises(ValueError, match="no keypoints"):
        Face(face.box, None, face.crop).aligned(image)
    for size in (0, 11.5, True):
        with pytest.raises(ValueError, match="size"):
            face.aligned(image, size)
    with pytest.raises(ValueError, match="uint8"):
        face.aligned(image.astype(np.float32))


def test_the_command_writes_one_png_per_face_and_never_overwrites(tmp_path, capsys, real_photos):
    inputs, out = tmp_path / "in", tmp_path / "out"
    (inputs / "sub").mkdir(parents=True)
    photo = next(p for p in real_photos if p.name == "james.jpg")
    (inputs / "sub" / photo.name).write_bytes(photo.read_bytes())
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    _video(inputs / "clip.mp4", 3)
    assert main(["align", inputs, "--out", out, "--every", "2"]) == 1  # the broken file failed; the rest went on
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "3 aligned 112x112 crop(s)" in err
    written = {str(p.relative_to(out)): p for p in out.rglob("*") if p.is_file()}
    assert set(written) == {"sub/james_0.png", "clip_f0_0.png", "clip_f2_0.png"}
    assert all(cv2.imread(str(p)).shape == (112, 112, 3) for p in written.values())

    before = written["sub/james_0.png"].read_bytes()
    assert main(["align", inputs / "sub", "--out", out / "sub", "--size", "64", "-q"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert written["sub/james_0.png"].read_bytes() == before
    assert main(["align", inputs / "sub", "--out", out / "sub", "--size", "64", "--force", "-q"]) == 0
    assert cv2.imread(str(written["sub/james_0.png"])).shape == (64, 64, 3)


def test_the_command_skips_faces_too_small_and_says_so(tmp_path, capsys, real_photos):
    assert main(["align", real_photos[0], "--out", tmp_path, "--min-face", "5000"]) == 0
    assert "1 face(s) too small for keypoints" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_align_from_the_api_writes_the_crops_the_command_writes(tmp_path, real_photos):
    """`FaceKeypoints.align` is the command's crop writer (`photos.write_aligned`), reachable from Python."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    photo = next(p for p in real_photos if p.name == "james.jpg")
    (inputs / photo.name).write_bytes(photo.read_bytes())
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (inputs / "notes.txt").write_text("not a photo")
    counts = FaceKeypoints().align(inputs, tmp_path / "out", size=64)
    assert (counts.records, counts.failed, counts.skipped, counts.aligned) == (1, 1, 1, 1)
    crop = cv2.imread(str(tmp_path / "out" / "james_0.png"))
    assert crop.shape == (64, 64, 3)
    assert main(["align", inputs, "--out", tmp_path / "cli", "--size", "64", "-q"]) == 1
    assert np.array_equal(cv2.imread(str(tmp_path / "cli" / "james_0.png")), crop)
    again = FaceKeypoints().align(inputs, tmp_path / "out", size=32)  # nothing overwritten without force
    assert (again.failed, again.aligned) == (2, 0) and cv2.imread(str(tmp_path / "out" / "james_0.png")).shape[0] == 64
    assert FaceKeypoints().align(inputs, tmp_path / "out", size=32, force=True).aligned == 1
