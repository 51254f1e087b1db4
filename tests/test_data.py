"""Reading Kaggle files: layouts, line endings, caching, and every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import lookup_csv, make_faces, kaggle_test_csv, training_csv, zip_bytes

from facekeypoints.data import load_lookup, load_test, load_training, read_submission
from facekeypoints.data import cache as cache_module
from facekeypoints.data.check import check_path
from facekeypoints.errors import DataError


@pytest.fixture
def faces():
    return make_faces(7, seed=3)


def test_training_round_trip(tmp_path, faces):
    images, keypoints, mask = faces
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    data = load_training(tmp_path / "training.csv")
    assert data.images.dtype == np.uint8 and data.images.shape == (7, 96, 96)
    assert data.keypoints.dtype == np.float32 and data.keypoints.shape == (7, 15, 2)
    assert data.mask.dtype == bool and data.mask.shape == (7, 15)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.mask, mask)
    np.testing.assert_array_equal(data.keypoints[mask], keypoints[mask])
    assert np.isnan(data.keypoints[~mask]).all()
    assert data.lines.tolist() == list(range(2, 9))


@pytest.mark.parametrize("layout", ["csv-crlf", "training.zip", "kaggle.zip", "folder-of-zips", "kaggle-zip-folder"])
def test_training_layouts(tmp_path, faces, layout):
    images, keypoints, _ = faces
    csv = training_csv(images, keypoints, newline="\r\n" if layout == "csv-crlf" else "\n")
    inner = zip_bytes({"training.csv": csv})
    kaggle = zip_bytes({"training.zip": inner, "test.zip": zip_bytes({"test.csv": kaggle_test_csv(images)}),
                        "IdLookupTable.csv": lookup_csv([(1, "nose_tip_x")])})
    target = {
        "csv-crlf": ("training.csv", csv, "training.csv"),
        "training.zip": ("training.zip", inner, "training.zip"),
        "kaggle.zip": ("facial-keypoints-detection.zip", kaggle, "facial-keypoints-detection.zip"),
        "folder-of-zips": ("training.zip", inner, "."),
        "kaggle-zip-folder": ("facial-keypoints-detection.zip", kaggle, "."),
    }[layout]
    (tmp_path / target[0]).write_bytes(target[1])
    data = load_training(tmp_path / target[2])
    np.testing.assert_array_equal(data.images, images)
    if layout.startswith("kaggle"):
        assert load_test(tmp_path / target[2]).images.shape == (7, 96, 96)
        assert load_lookup(tmp_path / target[2]).keypoint.tolist() == [10]


def test_cache_is_keyed_by_content(tmp_path, faces, monkeypatch):
    monkeypatch.setenv("FKD_CACHE_DIR", str(tmp_path / "cache"))
    images, keypoints, _ = faces
    path = tmp_path / "training.csv"
    path.write_bytes(training_csv(images, keypoints))
    first = load_training(path)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    calls = []
    monkeypatch.setattr(cache_module, "atomic_output", lambda *a, **k: calls.append(1))  # a miss would write
    second = load_training(path)
    assert not calls
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.mask, second.mask)
    monkeypatch.undo()
    monkeypatch.setenv("FKD_CACHE_DIR", str(tmp_path / "cache"))
    images[0, 0, 0] ^= 1  # one grey level changes: a new key, not the stale arrays
    path.write_bytes(training_csv(images, keypoints))
    assert load_training(path).images[0, 0, 0] == images[0, 0, 0]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_cache_off(tmp_path, faces, monkeypatch):
    monkeypatch.setenv("FKD_CACHE_DIR", "off")
    assert cache_module.cache_dir() is None
    images, keypoints, _ = faces
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    assert len(load_training(tmp_path / "training.csv")) == 7


# ----------------------------------------------------------------------------------------- bad input


def _training_lines(faces) -> list[str]:
    images, keypoints, _ = faces
    return training_csv(images, keypoints).decode().splitlines()


def _write(tmp_path, lines: list[str], name: str = "training.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _replace_image(line: str, image_text: str) -> str:
    return line.rsplit(",", 1)[0] + "," + image_text


def _expect(path, loader, line: int | None, fragment: str):
    with pytest.raises(DataError) as info:
        loader(path)
    message = str(info.value)
    assert str(path.name) in message
    if line is not None:
        assert f"line {line}:" in message
    assert fragment in message
    return message


def test_wrong_header(tmp_path, faces):
    lines = _training_lines(faces)
    lines[0] = lines[0].replace("nose_tip_x", "nose_x")
    msg = _expect(_write(tmp_path, lines), load_training, 1, "wrong header")
    assert "missing column(s) nose_tip_x" in msg and "unexpected column(s) nose_x" in msg


def test_missing_header(tmp_path, faces):
    _expect(_write(tmp_path, _training_lines(faces)[1:]), load_training, 1, "missing header")


def test_image_with_too_few_values(tmp_path, faces):
    lines = _training_lines(faces)
    lines[3] = _replace_image(lines[3], " ".join(["7"] * 9215))
    _expect(_write(tmp_path, lines), load_training, 4, "Image has 9215 values, expected 9216")


def test_image_with_too_many_values(tmp_path, faces):
    lines = _training_lines(faces)
    lines[2] = _replace_image(lines[2], " ".join(["7"] * 9217))
    _expect(_write(tmp_path, lines), load_training, 3, "Image has 9217 values")


def test_non_numeric_pixel(tmp_path, faces):
    lines = _training_lines(faces)
    lines[5] = _replace_image(lines[5], " ".join(["7"] * 100 + ["x1"] + ["7"] * 9115))
    _expect(_write(tmp_path, lines), load_training, 6, "non-numeric value 'x1'")


@pytest.mark.parametrize("value", ["256", "-3", "1000"])
def test_pixel_out_of_range(tmp_path, faces, value):
    lines = _training_lines(faces)
    lines[1] = _replace_image(lines[1], " ".join(["7"] * 9000 + [value] + ["7"] * 215))
    _expect(_write(tmp_path, lines), load_training, 2, f"Image value {value} is outside 0-255")


@pytest.mark.parametrize("value", ["-0.5", "96.5", "1e9"])
def test_keypoint_outside_image(tmp_path, faces, value):
    lines = _training_lines(faces)
    fields = lines[2].split(",")
    fields[20] = value  # nose_tip_x
    lines[2] = ",".join(fields)
    _expect(_write(tmp_path, lines), load_training, 3, "nose_tip_x = ")


def test_non_numeric_keypoint(tmp_path, faces):
    lines = _training_lines(faces)
    fields = lines[4].split(",")
    fields[1] = "abc"
    lines[4] = ",".join(fields)
    _expect(_write(tmp_path, lines), load_training, 5, "left_eye_center_y 'abc' is not a number")


def test_half_labelled_keypoint(tmp_path, faces):
    lines = _training_lines(faces)
    fields = lines[2].split(",")
    fields[21] = ""  # nose_tip_y without nose_tip_x
    lines[2] = ",".join(fields)
    _expect(_write(tmp_path, lines), load_training, 3, "nose_tip has only one of its x and y")


def test_wrong_field_count(tmp_path, faces):
    lines = _training_lines(faces)
    lines[6] = "1,2," + lines[6]
    _expect(_write(tmp_path, lines), load_training, 7, "expected 31 comma-separated fields, found 33")


def test_empty_file(tmp_path):
    (tmp_path / "training.csv").write_bytes(b"")
    _expect(tmp_path / "training.csv", load_training, None, "the file is empty")


def test_binary_file(tmp_path):
    (tmp_path / "training.csv").write_bytes(bytes(range(256)) * 10)
    _expect(tmp_path / "training.csv", load_training, None, "binary data, not a CSV")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_training(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no training.csv, training.zip or facial-keypoints-detection.zip"):
        load_training(tmp_path)


def test_bad_zip(tmp_path):
    (tmp_path / "training.zip").write_bytes(b"PK not really a zip")
    _expect(tmp_path / "training.zip", load_training, None, "not a valid zip file")


def test_duplicate_image_id(tmp_path, faces):
    images = faces[0]
    (tmp_path / "test.csv").write_bytes(kaggle_test_csv(images[:3], ids=[1, 2, 1]))
    _expect(tmp_path / "test.csv", load_test, 4, "ImageId 1 appears again (first on line 2)")


def test_lookup_unknown_feature(tmp_path):
    path = tmp_path / "IdLookupTable.csv"
    path.write_bytes(lookup_csv([(1, "nose_tip_x"), (1, "nose_tip_z")]))
    _expect(path, load_lookup, 3, "unknown FeatureName 'nose_tip_z'")


def test_submission_with_bad_location(tmp_path):
    path = tmp_path / "sub.csv"
    path.write_text("RowId,Location\n1,3.5\n2,oops\n")
    _expect(path, read_submission, 3, "Location 'oops' is not a number")


def test_first_error_mentions_the_others(tmp_path, faces):
    lines = _training_lines(faces)
    lines[1] = _replace_image(lines[1], "1 2 3")
    lines[3] = _replace_image(lines[3], "1 2 3")
    msg = _expect(_write(tmp_path, lines), load_training, 2, "and 1 more problems")
    assert "facekeypoints data check" in msg


def test_check_reports_every_problem(tmp_path, faces):
    lines = _training_lines(faces)
    lines[1] = _replace_image(lines[1], "1 2 3")
    fields = lines[3].split(",")
    fields[20] = "120"
    lines[3] = ",".join(fields)
    fields = lines[5].split(",")
    fields[0], fields[2] = fields[2], fields[0]  # left eye now left of the right eye: swapped labels
    lines[5] = ",".join(fields)
    lines.append(lines[6])  # a duplicate image
    [result] = check_path(_write(tmp_path, lines))
    assert result.kind == "training" and result.rows == 6
    got = [(p.line, p.severity) for p in result.problems]
    assert got == [(2, "error"), (4, "error"), (6, "warning"), (9, "warning")]
    assert "same image as line 7" in result.problems[-1].message
