"""Faces in the wild: decoding, detection, framing, the FaceKeypoints API, the writers and `predict` / `demo`.

Uses the sample photo shipped with the package (no data folder needed) and small generated files.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.errors import FacekeypointsError, OutputExistsError
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos import write_results
from facekeypoints.photos.crops import Crop, find_faces
from facekeypoints.photos import (
    DETECTORS,
    BlazeFaceDetector,
    Framing,
    HaarDetector,
    create_detector,
    framing_of,
)
from facekeypoints.photos.io import ImageError, read_colour, read_image, to_grey
from facekeypoints.photos.results import FileResult
from facekeypoints.photos.stream import detect_files
from facekeypoints.photos.writers import AnnotationsWriter, RecordsWriter
from facekeypoints.shipped import sample_image


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


def test_to_grey_accepts_common_layouts():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    assert to_grey(rgb).shape == (4, 5)
    assert to_grey(rgb, "rgb")[0, 0] == 76 and to_grey(rgb, "bgr")[0, 0] == 29  # red vs blue weight
    rgba = np.dstack([rgb, np.full((4, 5), 7, np.uint8)])
    assert np.array_equal(to_grey(rgba), to_grey(rgb))  # alpha is dropped
    assert to_grey(np.full((2, 2), 65535, np.uint16)).max() == 255  # 16-bit
    assert to_grey(np.full((2, 2, 1), 0.5)).max() == 128  # float in [0, 1]
    with pytest.raises(ValueError, match="channels"):
        to_grey(np.zeros((2, 2, 5), np.uint8))


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an EXIF block with just the Orientation tag after the JPEG's SOI marker."""
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_read_image_honours_exif_orientation_and_16_bit(tmp_path):
    tall = np.zeros((60, 30), np.uint8)
    tall[:10] = 255  # bright at the top
    ok, jpeg = cv2.imencode(".jpg", tall)
    (tmp_path / "rotated.jpg").write_bytes(_with_exif_orientation(jpeg.tobytes(), 6))  # "rotate 90 clockwise"
    rotated = read_image(tmp_path / "rotated.jpg")
    assert rotated.shape == (30, 60) and rotated[:, -5:].mean() > 200  # the top went to the right
    deep = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert read_image(tmp_path / "deep.png").dtype == np.uint8


def test_unreadable_images_say_so(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageError, match="broken.jpg: not an image"):
        read_image(tmp_path / "broken.jpg")
    with pytest.raises(ImageError, match="missing.png: cannot read"):
        read_image(tmp_path / "missing.png")


def test_crop_maps_points_back_to_the_photo():
    photo = np.zeros((300, 400), np.uint8)
    cv2.circle(photo, (250, 140), 3, 255, -1)
    crop = Crop.from_box((180, 60, 150, 150), HaarDetector.framing)
    face = crop.cut(photo).astype(float)
    ys, xs = np.mgrid[:96, :96]
    centroid = np.array([(face * xs).sum(), (face * ys).sum()]) / face.sum()
    assert np.allclose(crop.to_photo(centroid), (250, 140), atol=0.3)


def test_face_keypoints_on_the_sample_photo(fk):
    faces = fk(sample_image())
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    points = face.as_array()
    assert points.shape == (15, 2) and list(face.keypoints) == list(KEYPOINT_NAMES)
    assert ((points >= [x, y]) & (points <= [x + w, y + h])).all()  # on the face
    named = face.keypoints
    assert named["left_eye_center"][0] > named["right_eye_center"][0]  # the subject's left: image right
    assert named["left_eye_center"][1] < named["nose_tip"][1] < named["mouth_center_bottom_lip"][1]
    # the same photo as an RGB array, and as OpenCV's BGR, gives the same face
    bgr = cv2.imread(str(sample_image()))
    again = fk(bgr, channels="bgr")[0].as_array()
    assert np.allclose(again, points, atol=0.05)
    from PIL import Image  # installed with matplotlib

    assert np.allclose(fk(Image.open(sample_image()))[0].as_array(), points, atol=0.05)


def test_small_faces_get_no_keypoints(fk):
    small = cv2.resize(read_image(sample_image()), (160, 160), interpolation=cv2.INTER_AREA)
    faces = FaceKeypoints(fk.model, min_crop=60).detect(small)
    assert faces and all(f.too_small and np.isnan(f.as_array()).all() for f in faces)
    assert faces[0].to_dict()["keypoints"] is None


def test_any_detector_plugs_in_and_non_faces_are_dropped(fk):
    grey = read_image(sample_image())
    real = fk(grey)[0].box
    background = (400, 380, 100, 100)  # the helmet on her arm: no face

    def detector(image):
        return [real, background]

    faces = FaceKeypoints(fk.model, detector=detector).detect(grey)
    assert [f.box for f in faces] == [real]  # the model's heatmaps see no face in the second box
    assert faces[0].spread < 10
    assert FaceKeypoints(fk.model, detector=detector, max_spread=1000).detect(grey)[1].box == background


def _video(path, frames: int) -> None:
    image = cv2.resize(cv2.imread(str(sample_image())), (256, 256))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (256, 256))
    for i in range(frames):
        writer.write(np.roll(image, 3 * i, axis=1))
    writer.release()


def test_predict_images_folders_and_videos(tmp_path, capsys):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    (inputs / "sub" / "astronaut.png").write_bytes(sample_image().read_bytes())
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    _video(inputs / "clip.mp4", 5)
    out = tmp_path / "faces.json"
    code = main(["predict", str(inputs), "--json", str(out), "--save-dir", str(tmp_path / "drawn"), "--every", "2",
                 "-q"])
    assert code == 1  # the broken file failed; the rest went on
    assert "broken.jpg" in capsys.readouterr().err
    records = json.loads(out.read_text())
    assert [(r["source"].rsplit("/", 1)[-1], r["frame"]) for r in records] == [
        ("broken.jpg", None), ("clip.mp4", 0), ("clip.mp4", 2), ("clip.mp4", 4), ("astronaut.png", None)]
    assert set(records[0]) == {"source", "frame", "error"} and "broken.jpg" in records[0]["error"]  # accounted for
    records = records[1:]
    still = records[-1]
    assert (still["width"], still["height"]) == (512, 512) and len(still["faces"]) == 1
    assert set(still["faces"][0]["keypoints"]) == set(KEYPOINT_NAMES)
    assert all(len(r["faces"]) >= 1 for r in records[1:])
    drawn = {str(p.relative_to(tmp_path / "drawn")) for p in (tmp_path / "drawn").rglob("*") if p.is_file()}
    assert drawn == {"sub/astronaut.png", "clip.mp4"}  # the inputs' folders mirrored
    capture = cv2.VideoCapture(str(tmp_path / "drawn" / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    # outputs are not overwritten without --force
    assert main(["predict", str(inputs / "sub"), "--json", str(out), "-q"]) == 1


def test_demo_draws_the_sample_photo(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--out", str(out)]) == 0
    assert cv2.imread(str(out)).shape == (512, 512, 3)
    assert "nose_tip" in capsys.readouterr().out
    assert main(["demo", "--out", str(out)]) == 1  # exists: needs --force


def _folder_of_faces(folder, count: int) -> list:
    """`count` variants of the sample photo (shifted, scaled) in a folder, as sorted paths."""
    folder.mkdir(parents=True, exist_ok=True)
    image = cv2.imread(str(sample_image()))
    paths = []
    for i in range(count):
        size = 256 + 32 * (i % 4)
        variant = np.roll(cv2.resize(image, (size, size)), 5 * i, axis=1)
        paths.append(folder / f"face{i:02d}.png")
        cv2.imwrite(str(paths[-1]), variant)
    return paths


def test_detect_files_streams_in_order_with_workers_or_without(tmp_path, fk):
    _folder_of_faces(tmp_path / "in", 6)
    (tmp_path / "in" / "face02b.jpg").write_bytes(b"not an image")  # sorts among the good ones
    _video(tmp_path / "in" / "clip.mp4", 3)
    inline = list(fk.detect_files([tmp_path / "in"], workers=0))
    pooled = list(fk.detect_files([tmp_path / "in"], workers=2, batch_size=4))
    names = [(r.source.name, r.frame) for r in inline]
    assert names == [("clip.mp4", 0), ("clip.mp4", 1), ("clip.mp4", 2)] + [
        (f"face{i:02d}.png", None) for i in range(3)] + [("face02b.jpg", None)] + [
        (f"face{i:02d}.png", None) for i in range(3, 6)]
    assert [(r.source.name, r.frame) for r in pooled] == names
    broken = [r for r in pooled if r.error]
    assert len(broken) == 1 and "face02b.jpg" in broken[0].error and not broken[0].faces
    for a, b in zip(inline, pooled):
        assert len(a.faces) == len(b.faces) and (a.width, a.height) == (b.width, b.height)
        for fa, fb in zip(a.faces, b.faces):
            np.testing.assert_allclose(fa.as_array(), fb.as_array(), atol=1e-3)
    assert all(len(r.faces) == 1 for r in inline if not r.error)
    # the same face as the one-image API finds
    one = fk(str(tmp_path / "in" / "face00.png"))[0].as_array()
    np.testing.assert_allclose(inline[3].faces[0].as_array(), one, atol=1e-3)


def test_detect_files_streams_lazily(tmp_path, fk):
    paths = _folder_of_faces(tmp_path / "in", 30)
    calls = []

    def counting_detector(grey):
        calls.append(1)
        return fk.detector(grey)

    stream = FaceKeypoints(fk.model, detector=counting_detector).detect_files(paths, workers=0)
    first = next(stream)
    assert first.source == paths[0] and len(first.faces) == 1
    assert len(calls) <= 9  # a few images ahead, not all 30: memory does not grow with the input
    assert len(list(stream)) == 29 and len(calls) == 30


# ------------------------------------------------------------------------- detectors and their framing


def test_detectors_by_name():
    assert set(DETECTORS) == {"blazeface", "haar"}
    assert isinstance(create_detector("haar"), HaarDetector)
    assert create_detector("haar", min_size=60).min_size == 60  # options go to the detector
    assert create_detector("blazeface", min_size=60).min_size == 60
    with pytest.raises(FacekeypointsError, match="unknown face detector 'dlib'.*blazeface, haar"):
        create_detector("dlib")
    with pytest.raises(ValueError, match="min_size"):
        create_detector("blazeface", min_size=0)


def test_face_keypoints_takes_a_detector_name(fk):
    assert isinstance(fk.detector, BlazeFaceDetector)  # the default
    assert isinstance(FaceKeypoints(fk.model, detector="haar").detector, HaarDetector)
    assert FaceKeypoints(fk.model, min_size=48).detector.min_size == 48
    with pytest.raises(FacekeypointsError, match="choose from blazeface, haar"):
        FaceKeypoints(fk.model, detector="nope")
    with pytest.raises(ValueError, match="min_size"):  # it would not reach a detector you made yourself
        FaceKeypoints(fk.model, detector=HaarDetector(), min_size=48)


def test_each_detector_carries_its_framing():
    grey = read_image(sample_image())
    haar = HaarDetector()
    assert framing_of(haar) == HaarDetector.framing == Framing(0.0052, 0.0052, 0.9897)
    found = find_faces(grey, haar)
    (x, y, w, h), crop = found.detections[0].box, found.crops[0]
    assert found.detections[0].framing == haar.framing and crop.angle == 0
    left, top = x + 0.0052 * w, y + (h - w) / 2 + 0.0052 * w
    assert np.allclose(crop.centre, (left + 0.9897 * w / 2, top + 0.9897 * w / 2)) and np.isclose(crop.side, 0.9897 * w)

    box = (100, 80, 200, 200)

    def plain(image):
        return [box]

    assert framing_of(plain) == Framing(0, 0, 1)  # a plain callable: its box is the crop
    crop = find_faces(grey, plain).crops[0]
    assert crop.centre == (200, 180) and crop.side == 200

    class Framed:
        framing = Framing(-0.1, -0.2, 1.5)

        def __call__(self, image):
            return [box]

    crop = find_faces(grey, Framed()).crops[0]
    assert np.allclose(crop.centre, (80 + 150, 40 + 150)) and np.isclose(crop.side, 300)
    with pytest.raises(ValueError, match="positive"):
        Framing(0, 0, 0)
    for bad in ([(1, 2, 3)], [(0, 0, -5, 5)], [(0, 0, float("nan"), 5)]):
        with pytest.raises(ValueError, match="x, y, width, height"):
            find_faces(grey, lambda image, bad=bad: bad)


def test_detect_files_without_face_keypoints(fk):
    """The stream takes a model and a detector; FaceKeypoints is only a convenience over it."""
    [result] = detect_files([sample_image()], fk.model, BlazeFaceDetector(), workers=0)
    np.testing.assert_allclose(result.faces[0].as_array(), fk(sample_image())[0].as_array(), atol=1e-6)


# ------------------------------------------------------------------------------------------ writers


def _results(fk, tmp_path, frames: int = 3) -> list[FileResult]:
    """A still image and the frames of a (pretend) video, with their images, as detect_files would give."""
    image = read_colour(sample_image())
    faces = fk(image, channels="bgr")
    still = FileResult(tmp_path / "photo.jpg", None, 512, 512, faces, image=image)
    video = [FileResult(tmp_path / "clip.mp4", i, 512, 512, faces, image=image, fps=10.0) for i in range(frames)]
    return [still] + video


def test_write_results_from_python(fk, tmp_path):
    results = _results(fk, tmp_path)
    out, drawn = tmp_path / "out" / "faces.json", tmp_path / "drawn"
    seen = []
    counts = write_results(results, out, drawn, labels=True, on_result=seen.append)
    assert (counts.records, counts.faces, counts.failed) == (4, 4, 0) and seen == results
    assert json.loads(out.read_text()) == [r.to_dict() for r in results]
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces.json"]  # no temporary file left
    assert sorted(p.name for p in drawn.iterdir()) == ["clip.mp4", "photo.png"]
    assert int(cv2.VideoCapture(str(drawn / "clip.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert not np.array_equal(cv2.imread(str(drawn / "photo.png")), results[0].image)  # drawn on
    assert np.array_equal(results[0].image, read_colour(sample_image()))  # drawn on copies, not on the image
    # an existing file is refused before anything is written, and left as it was
    def never():
        pytest.fail("a result was read before the records file was checked")
        yield

    before = out.read_text()
    with pytest.raises(OutputExistsError):
        write_results(never(), out)
    assert out.read_text() == before
    write_results(results[:1], out, force=True)
    assert len(json.loads(out.read_text())) == 1
    with pytest.raises(ValueError, match="keep_images"):
        FileResult(tmp_path / "x.png", None).annotated()


def test_records_to_a_stream():
    stream = io.StringIO()
    with RecordsWriter(stream) as records:
        records.write(FileResult(Path("a.png"), None, 4, 3))
        records.write(FileResult(Path("b.mp4"), 7))
    assert [r["source"] for r in json.loads(stream.getvalue())] == ["a.png", "b.mp4"] and not stream.closed
    stream = io.StringIO()
    with RecordsWriter(stream):
        pass
    assert json.loads(stream.getvalue()) == []


def test_writers_leave_no_half_written_files(fk, tmp_path):
    results = _results(fk, tmp_path, frames=4)
    out, drawn = tmp_path / "faces.json", tmp_path / "drawn"

    def failing():
        yield from results[:3]  # the still image and two frames of the video
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_results(failing(), out, drawn)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["drawn"]
    assert sorted(p.name for p in drawn.iterdir()) == ["photo.png"]  # the half video is gone, .part included

    # a video that fails part-way is deleted; the batch goes on
    broken = FileResult(results[1].source, None, error="clip.mp4: no frame could be decoded")
    errors = []
    counts = write_results(results[1:3] + [broken, results[0]], pictures=drawn, force=True, on_error=errors.append)
    assert (counts.records, counts.failed) == (3, 1) and errors == [broken]
    assert sorted(p.name for p in drawn.iterdir()) == ["photo.png"]

    # the writers on their own, as context managers
    with pytest.raises(RuntimeError):
        with RecordsWriter(out) as records, AnnotationsWriter(drawn, force=True) as pictures:
            for result in results[1:3]:
                records.write(result)
                pictures.write(result)
            raise RuntimeError("interrupted")
    assert not out.exists() and sorted(p.name for p in drawn.iterdir()) == ["photo.png"]


@pytest.mark.parametrize("json_args", [[], ["--json", "-"]])
def test_predict_to_stdout_is_pure_json_one_record_a_line(capsys, tmp_path, monkeypatch, json_args):
    """`predict photo > out.json` and `--json -` give JSON alone on stdout (the summary goes to stderr), a line per
    record rather than dozens per face."""
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(sample_image()), *json_args]) == 0
    out, err = capsys.readouterr()
    records = json.loads(out)
    assert len(records) == 1 and len(records[0]["faces"]) == 1
    assert out.count("\n") == 3  # "[", the record, "]"
    assert "1 image(s)/frame(s), 1 face(s) found" in err and "records in" not in err
    assert list(tmp_path.iterdir()) == []  # no file named "-"


# ------------------------------------------------------------------------------- hardening (issue 14)


def _png(path: Path, width: int, height: int, pixels: bool = True) -> Path:
    """An all-black grey PNG of any size, small on disk: its rows compressed as they are made (none if not
    `pixels`: a header alone, for what must be refused before decoding)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = b""
    if pixels:
        packer, row = zlib.compressobj(1), bytes(width + 1)  # filter byte + the row
        idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_huge_images_are_refused_from_their_header_and_the_batch_goes_on(tmp_path, capsys, monkeypatch):
    """20000x20000 crashed OpenCV's face detector (exit 139; BrokenProcessPool with workers) and 40000x40000
    aborted the batch with OpenCV's own pixel-limit traceback."""
    folder = tmp_path / "in"
    folder.mkdir()
    _png(folder / "a-huge.png", 20000, 20000)
    _png(folder / "b-larger.png", 40000, 40000, pixels=False)
    _png(folder / "b-large.png", 13000, 12000, pixels=False)  # above the limit, below Pillow's own
    (folder / "c-face.png").write_bytes(sample_image().read_bytes())
    assert (folder / "a-huge.png").stat().st_size < 3_000_000
    out = tmp_path / "faces.json"
    assert main(["predict", str(folder), "--json", str(out), "--workers", "1"]) == 1  # a worker: no crash either
    err = capsys.readouterr().err
    assert "a-huge.png: more than 179 MP, over the limit of 150 MP (max_pixels, --max-pixels)" in err
    assert "b-large.png: 13000x12000 pixels, over the limit of 150 MP" in err
    assert "b-larger.png: more than 179 MP, over the limit" in err
    assert "3 input(s) or picture(s) failed" in err
    *refused, record = json.loads(out.read_text())  # each refused image has its error record, in input order
    assert [(Path(r["source"]).name, "over the limit" in r["error"]) for r in refused] == [
        ("a-huge.png", True), ("b-large.png", True), ("b-larger.png", True)]
    assert record["source"].endswith("c-face.png") and len(record["faces"]) == 1

    def no_decoding(*args):
        pytest.fail("a refused image was decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with pytest.raises(ImageError, match=r"more than 179 MP, over the limit of 150 MP"):
        read_image(folder / "a-huge.png")
    with pytest.raises(ImageError, match=r"300x200 pixels, over the limit of 0.05 MP"):  # the limit is a setting
        read_image(_png(tmp_path / "small.png", 300, 200), max_pixels=50_000)


class _Scanned:
    """Wraps a Haar detector's OpenCV cascade to record the sizes of the images it scans."""

    def __init__(self, cascade):
        self.cascade, self.shapes = cascade, []

    def detectMultiScale(self, grey, **options):  # noqa: N802 (OpenCV's name)
        self.shapes.append(grey.shape)
        return self.cascade.detectMultiScale(grey, **options)


@pytest.mark.parametrize("name", ["haar", "blazeface"])
def test_large_images_are_scanned_shrunk_and_faces_mapped_back(fk, name):
    """A large image is scanned shrunk; the face is found where it is and cut at full size."""
    face = read_colour(sample_image())
    big = np.zeros((5000, 6000, 3), np.uint8)
    x0, y0, scale = 3000, 1000, 4
    big[y0:y0 + 512 * scale, x0:x0 + 512 * scale] = cv2.resize(face, None, fx=scale, fy=scale)
    detector = create_detector(name)
    [found] = FaceKeypoints(fk.model, detector=detector).detect(big, channels="bgr")
    expected = (FaceKeypoints(fk.model, detector=name)(face, channels="bgr")[0].as_array() + 0.5) * scale - 0.5
    expected += (x0, y0)
    inter_ocular = np.linalg.norm(expected[0] - expected[1])  # within 0.05 of it (2 px of the 512-px original)
    assert np.linalg.norm(found.as_array() - expected, axis=1).max() < 0.05 * inter_ocular


@pytest.mark.parametrize("min_size", [30, 80])
def test_haar_shrinks_a_large_image_no_further_than_its_smallest_face_allows(min_size):
    """Shrunk to 4 MP, a 24 MP photo lost every face under 130 px (reviewed on real photos). The shrink now
    stops where the smallest face asked for is the cascade's smallest (24 px)."""
    from facekeypoints.photos.haar import WINDOW

    detector = HaarDetector(min_size=min_size)
    detector.cascade = scanned = _Scanned(detector.cascade)
    detector(np.zeros((4000, 6000, 3), np.uint8))
    scale = scanned.shapes[0][1] / 6000
    assert scale < 1  # still shrunk: the detector's time grows with the pixels
    assert np.isclose(min_size * scale, WINDOW, atol=0.1)  # but a face of min_size is still seen


def test_blazeface_finds_a_small_face_in_a_large_photo_when_asked():
    """A 40-px face in a 4000x3000 photo: under the default smallest size (1/20 of the long side, 200 px), found
    when min_size asks for it, at its place."""
    face = read_colour(sample_image())
    small = cv2.resize(face, (200, 200), interpolation=cv2.INTER_AREA)  # the face is about 40 px wide
    big = np.full((3000, 4000, 3), 90, np.uint8)
    big[2100:2300, 1000:1200] = small
    assert BlazeFaceDetector()(big) == []
    [found] = BlazeFaceDetector(min_size=30)(big)
    x, y, w, h = found.box
    assert 1000 < x < x + w < 1200 and 2100 < y < y + h < 2300 and 30 < w < 60


def test_save_dir_mirrors_the_inputs_and_never_loses_the_records(tmp_path, capsys):
    """DIR/a/x.jpg and DIR/b/x.jpg both went to S/x.png: the second stopped the batch ("already exists") and no
    JSON was written; with --force one picture replaced the other."""
    photo = cv2.imread(str(sample_image()))
    inputs = tmp_path / "in"
    for name in ("a/x.jpg", "b/x.jpg", "b/x.png", "b/deeper/y.png"):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(inputs / name), photo)
    out, drawn = tmp_path / "faces.json", tmp_path / "drawn"
    assert main(["predict", str(inputs), "--json", str(out), "--save-dir", str(drawn), "-q"]) == 0
    pictures = sorted(str(p.relative_to(drawn)) for p in drawn.rglob("*") if p.is_file())
    assert pictures == ["a/x.png", "b/deeper/y.png", "b/x.jpg.png", "b/x.png.png"]  # one per input, all kept
    assert len(json.loads(out.read_text())) == 4
    # again without --force: every picture exists; each is reported, the records are all written
    out.unlink()
    assert main(["predict", str(inputs), "--json", str(out), "--save-dir", str(drawn)]) == 1
    err = capsys.readouterr().err
    assert err.count("already exists") == 4 and "4 input(s) or picture(s) failed" in err
    assert len(json.loads(out.read_text())) == 4


def test_save_dir_that_is_a_file_and_inputs_without_images_say_so(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["predict", str(sample_image()), "--save-dir", str(tmp_path / "file")]) == 1
    assert capsys.readouterr().err.strip() == f"facekeypoints: error: {tmp_path / 'file'}: a file, not a folder " \
                                              "for the pictures"
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(tmp_path / "empty")]) == 1
    assert f"no images or videos found in {tmp_path / 'empty'}" in capsys.readouterr().err


def test_a_truncated_video_is_an_error_after_its_good_frames(tmp_path, capsys):
    writer = cv2.VideoWriter(str(tmp_path / "full.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    image = cv2.resize(cv2.imread(str(sample_image())), (256, 256))
    for _ in range(20):
        writer.write(image)
    writer.release()
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    out = tmp_path / "faces.json"
    assert main(["predict", str(tmp_path / "cut.avi"), "--json", str(out)]) == 1  # was 0, with libav noise only
    err = capsys.readouterr().err
    assert "cut.avi: only" in err and "of the 20 frames it states could be decoded (truncated or damaged)" in err
    assert "overread" not in err  # libav's own lines are kept quiet
    assert 0 < len(json.loads(out.read_text())) < 20  # the frames before the cut are kept


def test_broken_links_and_unlistable_folders_are_reported_not_skipped(tmp_path, fk, monkeypatch):
    import os

    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    (folder / "face.png").write_bytes(sample_image().read_bytes())
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "loop").symlink_to(folder)  # a link to a folder is not followed: not forever, nor to /usr
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.png").write_bytes(sample_image().read_bytes())
    (folder / "out").symlink_to(tmp_path / "elsewhere")
    real_scandir, real_listdir = os.scandir, os.listdir

    def refuse(real):  # chmod 000 does not stop root, which the tests may run as
        def listing(path="."):
            if Path(path) == folder / "locked":
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        return listing

    monkeypatch.setattr(os, "scandir", refuse(real_scandir))
    monkeypatch.setattr(os, "listdir", refuse(real_listdir))
    results = {r.source.name: r for r in fk.detect_files(folder, workers=0)}
    assert sorted(results) == ["face.png", "gone.jpg", "locked"]
    assert [r.source.name for r in fk.detect_files([folder, folder / "face.png"], workers=0)
            if r.source.name == "face.png"] == ["face.png"]  # named twice, read once
    assert len(results["face.png"].faces) == 1
    assert results["gone.jpg"].error == f"{folder / 'gone.jpg'}: cannot read (a broken link)"
    assert results["locked"].error == f"{folder / 'locked'}: cannot read (a folder that cannot be listed: " \
                                      "Permission denied)"


def test_a_full_disk_names_the_file(tmp_path):
    """A write that fails (here: over a file-size limit, as a full disk would) names the file; a picture that
    cannot be written does not cost the records."""
    import subprocess
    import sys

    def predict(limit: int, *args: str) -> subprocess.CompletedProcess:
        code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
                f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
                "from facekeypoints.cli import main; sys.exit(main(sys.argv[1:]))")
        return subprocess.run([sys.executable, "-c", code, "predict", str(sample_image()), *args],
                              capture_output=True, text=True, timeout=120)

    out, drawn = tmp_path / "faces.json", tmp_path / "drawn"
    done = predict(20_000, "--json", str(out), "--save-dir", str(drawn))
    assert done.returncode == 1
    assert f"{drawn / 'astronaut.png'}: cannot write (File too large)" in done.stderr
    assert len(json.loads(out.read_text())[0]["faces"]) == 1
    done = predict(100, "--json", str(tmp_path / "other.json"))
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (
        1, f"facekeypoints: error: {tmp_path / 'other.json'}: cannot write (File too large)")


def test_detections_dropped_as_not_faces_are_counted(fk, tmp_path, capsys):
    """A model that sees no face anywhere "found 0 faces" with no reason given."""
    grey = read_image(sample_image())
    real, background = fk(grey)[0].box, (400, 380, 100, 100)

    def detector(image):
        return [real, background]

    [result] = FaceKeypoints(fk.model, detector=detector).detect_files(sample_image())
    assert (len(result.faces), result.not_faces, result.to_dict()["not_faces"]) == (1, 1, 1)
    out = tmp_path / "faces.json"
    assert main(["predict", str(sample_image()), "--json", str(out), "--max-spread", "1"]) == 0
    [record] = json.loads(out.read_text())
    assert (record["faces"], record["not_faces"]) == ([], 1)
    assert "0 face(s) found, 1 detection(s) dropped as not faces" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", str(sample_image()), "--max-spread", "nan"])
    assert "--max-spread: must be above 0, not nan" in capsys.readouterr().err


# ------------------------------------------------------------------------------- faces the user already has


def test_faces_you_already_have_skip_the_detector(fk):
    image = read_colour(sample_image())
    [found] = fk(image, channels="bgr")
    [given] = fk(image, channels="bgr", boxes=[found.box])  # the box as the crop: no detector, no score
    assert given.box == found.box and np.isnan(given.score) and given.angle == 0
    inter_ocular = np.linalg.norm(found.as_array()[0] - found.as_array()[1])
    assert np.linalg.norm(given.as_array() - found.as_array(), axis=1).mean() < 0.1 * inter_ocular
    assert fk(image, channels="bgr", boxes=[]) == []
    with pytest.raises(ValueError, match="x, y, width, height"):
        fk(image, channels="bgr", boxes=[(1, 2, 3)])


def test_predict_takes_boxes_from_a_file_or_its_own_records(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(sample_image().read_bytes())
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({str(photo): [[150, 60, 150, 150], [10, 10, 20, 20]]}))
    out = tmp_path / "faces.json"
    assert main(["predict", str(photo), "--boxes", str(boxes), "--json", str(out), "-q"]) == 0
    [record] = json.loads(out.read_text())
    assert [face["box"] for face in record["faces"]] == [[150, 60, 150, 150], [10, 10, 20, 20]]
    assert record["faces"][0]["score"] is None and record["faces"][1]["too_small"]  # 20 px: under the minimum
    # predict's own records, edited or not, are boxes too: the same answers come back
    detected = tmp_path / "detected.json"
    assert main(["predict", str(photo), "--json", str(detected), "-q"]) == 0
    again = tmp_path / "again.json"
    assert main(["predict", str(photo), "--boxes", str(detected), "--json", str(again), "-q"]) == 0
    first, second = (json.loads(p.read_text())[0]["faces"][0] for p in (detected, again))
    assert first["box"] == second["box"]
    for bad, message in (("{", "line 1: not JSON"), ('{"a.jpg": [[1, 2, 3]]}', "boxes of a.jpg"),
                         ("[1, 2]", "expected")):
        boxes.write_text(bad)
        capsys.readouterr()
        assert main(["predict", str(photo), "--boxes", str(boxes), "-q"]) == 1
        err = capsys.readouterr().err
        assert message in err and str(boxes) in err and len(err.strip().splitlines()) == 1
