"""Finding faces as a new user would, with the defaults: every size from the smallest face looked for up to the
whole image; EXIF orientation honoured (or not, when asked); the summary's hint when faces were too small to be
looked for; and pictures whose marks follow the face's size and show what was asked.

Uses the sample photo shipped with the package and files made here (Pillow writes the EXIF orientations)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.photos import DEFAULT_DRAW, DRAWABLE, decode_image, draw_faces, drawing, read_colour
from facekeypoints.photos.results import AXIS_COLOURS
from facekeypoints.shipped import sample_image

DOT = np.array([60, 255, 60])  # the keypoints' colour (BGR)


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


@pytest.fixture(scope="module")
def portrait(fk):
    """The sample photo and its face's box width."""
    image = read_colour(sample_image())
    [face] = fk(image, channels="bgr")
    return image, face.box[2]


def street(width: int, height: int) -> np.ndarray:
    """A background: a grey ramp with mild noise and a few bars, as a wall with window frames."""
    rng = np.random.default_rng(width)
    ramp = np.linspace(60, 180, width)[None, :, None] + np.linspace(0, 40, height)[:, None, None]
    image = np.clip(ramp + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    for x in range(0, width, 150):
        image[:, x:x + 12] = (40, 50, 60)
    return image


def pasted(portrait, width: int, height: int, face: float, centre, canvas: np.ndarray | None = None
           ) -> np.ndarray:
    """The sample photo pasted into a background (or onto `canvas`), scaled so that its face box is `face` px
    wide, its centre at `centre` (cut where it leaves the background)."""
    image, box = portrait
    side = max(1, round(image.shape[0] * face / box))
    scaled = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA if side < image.shape[0] else
                        cv2.INTER_LINEAR)
    canvas = street(width, height) if canvas is None else canvas
    x0, y0 = round(centre[0] - side / 2), round(centre[1] - side / 2)
    xs, ys = slice(max(0, x0), min(width, x0 + side)), slice(max(0, y0), min(height, y0 + side))
    canvas[ys, xs] = scaled[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return canvas


@pytest.mark.parametrize("width, height", [(1280, 720), (500, 375)])
def test_every_face_size_is_found_with_the_defaults(fk, portrait, width, height):
    """From the smallest face looked for by default (1/20 of the long side: 64 and 25 px) up to a face whose
    photo fills the image's height, each size is found: the 104-px face of an 817x1024 portrait and the 34-px
    face of a 500x375 photo were missed, as they fell between two scans."""
    _, box = portrait
    image_side = portrait[0].shape[0]
    largest = height * box / image_side  # the face whose photo is as tall as the image
    for face in np.geomspace(max(24, max(width, height) / 20), largest, 9):
        centre = (width * 0.4, height / 2)
        faces = fk(pasted(portrait, width, height, face, centre), channels="bgr")
        hits = [f for f in faces if not f.too_small and abs(f.box[0] + f.box[2] / 2 - centre[0]) < face / 2]
        assert len(hits) == 1, f"a {face:.0f}-px face in {width}x{height}: {[f.box for f in faces]}"
        assert 0.6 < hits[0].box[2] / face < 1.5


def test_a_face_left_out_by_the_smallest_size_is_named_in_the_summary(portrait, tmp_path, capsys):
    """A 54-px face beside a large one in a 1600x1200 photo is under the default smallest face (80 px): the
    summary says that a face was seen but left out and how to find it; an image where only a 40-px face is, too
    small to be seen at all, is counted as one with no face, with the same hint. --min-size finds both."""
    two = pasted(portrait, 1600, 1200, 54, (160, 160), pasted(portrait, 1600, 1200, 300, (1000, 650)))
    cv2.imwrite(str(tmp_path / "two.jpg"), two)
    cv2.imwrite(str(tmp_path / "one.jpg"), pasted(portrait, 1600, 1200, 40, (400, 300)))
    for name, said in (("two", "1 face(s) found, 1 smaller face(s) seen but left out"),
                       ("one", "0 face(s) found, 1 with no face")):
        assert main(["predict", str(tmp_path / f"{name}.jpg"), "--json", str(tmp_path / f"{name}.json")]) == 0
        err = capsys.readouterr().err
        assert said in err and "a smaller --min-size finds them" in err, err
        assert main(["predict", str(tmp_path / f"{name}.jpg"), "--json", str(tmp_path / f"{name}-30.json"),
                     "--min-size", "30"]) == 0
        err = capsys.readouterr().err
        assert "left out" not in err and "no face" not in err, err
        assert len(json.loads((tmp_path / f"{name}-30.json").read_text())[0]["faces"]) == {"two": 2, "one": 1}[name]


# ------------------------------------------------------------------------------------------------- EXIF


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_is_honoured_and_no_exif_keeps_the_stored_pixels(tmp_path, orientation):
    """Pillow writes each of the 8 orientations; decoding shows the image as Pillow's exif_transpose (a photo
    viewer) does, and with exif=False as it is stored."""
    stored = np.zeros((60, 90, 3), np.uint8)
    stored[:20, :30], stored[:20, 60:], stored[40:, :30] = (255, 0, 0), (0, 255, 0), (0, 0, 255)  # RGB corners
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)))[..., ::-1]  # as BGR
    decoded = decode_image(path)
    assert decoded.shape == shown.shape
    assert np.abs(decoded.astype(int) - shown).mean() < 1
    as_stored = decode_image(path, exif=False)
    assert np.abs(as_stored.astype(int) - stored[..., ::-1]).mean() < 3
    if orientation != 1:
        assert decoded.shape != as_stored.shape or np.abs(decoded.astype(int) - as_stored).mean() > 20


def test_a_sideways_phone_photo_is_read_upright_unless_no_exif(fk, portrait, tmp_path, capsys):
    """The sample photo stored turned, with the orientation (6: turn 90 degrees clockwise to show) that puts it
    upright: its face is found upright; --no-exif finds it as stored, turned, in a picture of the stored size."""
    image, _ = portrait
    stored = cv2.rotate(cv2.copyMakeBorder(image, 0, 0, 0, 200, cv2.BORDER_REPLICATE), cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored[..., ::-1]).save(path, exif=exif, quality=95)
    [face] = fk(path)
    assert abs(face.angle) < 20
    [turned] = FaceKeypoints(fk.model, exif=False)(path)
    assert abs(abs(turned.angle) - 90) < 25
    assert main(["predict", str(path), "--no-exif", "--json", str(tmp_path / "r.json")]) == 0
    [record] = json.loads((tmp_path / "r.json").read_text())
    assert (record["width"], record["height"]) == (stored.shape[1], stored.shape[0])
    assert main(["predict", str(path), "--json", str(tmp_path / "s.json")]) == 0
    [record] = json.loads((tmp_path / "s.json").read_text())
    assert (record["width"], record["height"]) == (stored.shape[0], stored.shape[1])
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------- pictures


def _drawn(fk, portrait, face_px: float, what=None):
    canvas = pasted(portrait, 2 * round(face_px * 3) + 200, round(face_px * 5) + 100, face_px,
                    (round(face_px * 3) + 100, round(face_px * 2.5) + 50))
    [face] = fk(canvas, channels="bgr")
    return canvas, face, draw_faces(canvas, [face], what=what)


def _near(image: np.ndarray, colour, tolerance: int = 40) -> np.ndarray:
    return (np.abs(image.astype(int) - np.asarray(colour)) < tolerance).all(axis=-1)


def test_marks_follow_the_face_size(fk, portrait):
    """The dots' area grows with the face's: on a 33-px face they stay small (the eyes' points were covered),
    on a 300-px one they grow, by about the square of the sizes' ratio."""
    areas = {}
    for px in (33, 300):
        canvas, face, out = _drawn(fk, portrait, px, "points")
        areas[px] = (_near(out, DOT) & ~_near(canvas, DOT)).sum() / 15
    ratio = (300 / 33) ** 2
    assert areas[33] < 12  # each dot a few pixels, on a face whose eye corners are ~4 px apart
    assert ratio / 4 < areas[300] / areas[33] < ratio * 4, areas


@pytest.mark.parametrize("px", [33, 300])
def test_the_pose_axis_does_not_hide_the_nose_tip(fk, portrait, px):
    canvas, face, out = _drawn(fk, portrait, px)
    x, y = (int(round(v)) for v in face.keypoints["nose_tip"])
    assert _near(out[y, x], DOT)  # the dot on top of the axes that start there
    _, _, without = _drawn(fk, portrait, px, "box,points")
    assert any(_near(out, colour).sum() > _near(without, colour).sum() for colour in AXIS_COLOURS)


def test_draw_chooses_what_is_drawn(fk, portrait, tmp_path, capsys):
    canvas, face, boxed = _drawn(fk, portrait, 120, "box")
    assert not (_near(boxed, DOT) & ~_near(canvas, DOT)).any()  # no dots
    _, _, dots = _drawn(fk, portrait, 120, ["points"])
    x, y, w, h = face.box
    assert (dots[y, x:x + w] == canvas[y, x:x + w]).all()  # no box edge
    assert drawing(None) == DEFAULT_DRAW and drawing("points", labels=True) == ("points", "labels")
    assert set(drawing(",".join(DRAWABLE))) == set(DRAWABLE)
    with pytest.raises(ValueError, match="choose from box, points"):
        drawing("box,nose")
    _, _, everything = _drawn(fk, portrait, 120, DRAWABLE)
    assert (everything != dots).any()
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), canvas)
    with pytest.raises(SystemExit):
        main(["predict", str(path), "--draw", "boxes", "--save-dir", str(tmp_path / "out")])
    assert "choose from box, points, labels, pose, uncertainty" in capsys.readouterr().err
    assert main(["predict", str(path), "--draw", "box", "--save-dir", str(tmp_path / "out")]) == 0
    written = cv2.imread(str(tmp_path / "out" / "p.png"))
    assert not (_near(written, DOT) & ~_near(canvas, DOT)).any()
