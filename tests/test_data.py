"""Reading Kaggle files: layouts, line endings, caching, and every kind of bad input."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest
from conftest import lookup_csv, make_faces, kaggle_test_csv, training_csv, zip_bytes

from facekeypoints.data import LookupTable, load_lookup, load_test, load_training, read_submission
from facekeypoints.data import cache as cache_module
from facekeypoints.data.check import check_path
from facekeypoints.data.sources import NotFound
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


@pytest.mark.parametrize("location, fragment", [
    ("nan", "Location 'nan' is not a number"),
    ("1e999", "Location '1e999' is out of range"),
    ("1e155", "Location '1e155' is out of range"),  # its square would make the RMSE inf
    ("6_6.0", "Location '6_6.0' is not a number"),
])
def test_submission_locations_are_coordinates(tmp_path, location, fragment):
    path = tmp_path / "sub.csv"
    path.write_text(f"RowId,Location\n1,3.5\n2,{location}\n")
    _expect(path, read_submission, 3, fragment)


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


# ---------------------------------------------------------------------- damaged zips (issue 14 items 7, 11)


def _zipped(data: bytes, method=zipfile.ZIP_DEFLATED, name: str = "training.csv") -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr(name, data)
    return bytearray(buf.getvalue())


def _patch_headers(archive: bytearray, local: int, central: int, value: int) -> bytes:
    """Write a 2-byte field into the member's local header and its central directory entry, as another tool
    would have written it (zipfile cannot write encrypted or deflate64 members)."""
    struct.pack_into("<H", archive, archive.find(b"PK\x03\x04") + local, value)
    struct.pack_into("<H", archive, archive.find(b"PK\x01\x02") + central, value)
    return bytes(archive)


def _member_data_offset(archive: bytearray) -> int:
    start = archive.find(b"PK\x03\x04")
    name_length, extra_length = struct.unpack_from("<HH", archive, start + 26)
    return start + 30 + name_length + extra_length


def _bad_crc(csv: bytes, name: str) -> bytes:
    archive = _zipped(csv, zipfile.ZIP_STORED, name)
    archive[_member_data_offset(archive) + 100] ^= 1  # one bit of the stored CSV: only the CRC notices
    return bytes(archive)


def _bad_deflate(csv: bytes, name: str) -> bytes:
    archive = _zipped(csv, name=name)
    archive[_member_data_offset(archive)] = 0xFF  # final block of the reserved type 3: invalid deflate data
    return bytes(archive)


def _truncated(csv: bytes, name: str) -> bytes:
    archive = _zipped(csv, name=name)
    return bytes(archive[: len(archive) // 2])


BAD_ZIPS = {
    "bad CRC": (_bad_crc, "training.zip:training.csv: the zip member is damaged (Bad CRC-32"),
    "bad deflate data": (_bad_deflate, "training.zip:training.csv: the zip member is damaged (Error -3"),
    "encrypted": (lambda csv, name: _patch_headers(_zipped(csv, name=name), 6, 8, 0x1),
                  "training.zip:training.csv: the zip member is encrypted"),
    "deflate64": (lambda csv, name: _patch_headers(_zipped(csv, name=name), 8, 10, 9),
                  "training.zip:training.csv: the zip member is compressed with deflate64"),
    "gzip named .zip": (lambda csv, name: gzip.compress(csv), "training.zip: not a valid zip file: it holds gzip data"),
    "truncated": (_truncated, "training.zip: not a valid zip file: truncated or damaged"),
}


@pytest.mark.parametrize("case", BAD_ZIPS)
@pytest.mark.parametrize("nested", [False, True], ids=["training.zip", "in-kaggle-zip"])
def test_unreadable_zip_is_one_data_error_for_loader_and_check(tmp_path, faces, case, nested):
    make, fragment = BAD_ZIPS[case]
    archive = make(training_csv(*faces[:2]), "training.csv")
    if nested:  # the damaged training.zip inside Kaggle's zip
        archive = zip_bytes({"training.zip": archive, "IdLookupTable.csv": lookup_csv([(1, "nose_tip_x")])})
        fragment = "facial-keypoints-detection.zip:" + fragment
    path = tmp_path / ("facial-keypoints-detection.zip" if nested else "training.zip")
    path.write_bytes(archive)
    for target in (path, tmp_path):
        with pytest.raises(DataError) as loaded:
            load_training(target)
        assert fragment in str(loaded.value)
        with pytest.raises(DataError) as checked:  # not "no training file found", not a traceback
            check_path(target)
        assert str(checked.value) == str(loaded.value)


def test_a_zip_without_the_file_is_not_an_error_for_check(tmp_path, faces):
    (tmp_path / "test.zip").write_bytes(zip_bytes({"test.csv": kaggle_test_csv(faces[0])}))
    [result] = check_path(tmp_path)
    assert result.kind == "test" and not result.errors
    with pytest.raises(DataError, match="no training.csv, training.zip or facial"):
        load_training(tmp_path)


# ------------------------------------------------------------------- CSV dialects and numbers (items 7, 11)


def agree(path, loader):
    """Load `path` and check it; assert they agree. Returns the loaded data, or the loader's DataError."""
    try:
        loaded = loader(path)
    except DataError as exc:
        loaded = exc
    try:
        results = check_path(path)
    except DataError as exc:
        assert isinstance(loaded, DataError), f"check refuses {path.name}, the loader accepts it: {exc}"
        if not isinstance(exc, NotFound):  # (check looks for every kind of file, the loader for one)
            assert str(exc) == str(loaded)
        return loaded
    errors = [p for r in results for p in r.problems if p.severity == "error"]
    if isinstance(loaded, DataError):
        assert errors, f"the loader refuses {path.name} ({loaded}), check finds no error"
        assert (errors[0].line, errors[0].message) == (loaded.line, loaded.message.split(" (and ")[0])
    else:
        assert not errors, f"the loader accepts {path.name}, check reports {errors}"
        assert sum(r.rows for r in results) == len(loaded[0] if isinstance(loaded, tuple) else loaded)
    return loaded


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"], ids=["CR", "CRLF", "LF"])
def test_line_ends_are_read_alike_by_loader_and_check(tmp_path, faces, newline):
    images, keypoints, mask = faces
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints, newline=newline))
    (tmp_path / "IdLookupTable.csv").write_bytes(lookup_csv([(1, "nose_tip_x"), (2, "nose_tip_y")], newline))
    data = agree(tmp_path / "training.csv", load_training)
    np.testing.assert_array_equal(data.images, images)
    assert agree(tmp_path / "IdLookupTable.csv", load_lookup).keypoint.tolist() == [10, 10]
    other = tmp_path / "other.csv"  # a file not named as Kaggle's is known by its header, whatever the line ends
    other.write_bytes(training_csv(images, keypoints, newline=newline))
    [result] = check_path(other)
    assert result.kind == "training" and result.rows == 7 and not result.errors


@pytest.mark.parametrize("token", ["+12", "0012", "012", "00000000000000000000000012", "-0"])
def test_a_pixel_is_any_spelling_of_a_whole_number_0_to_255(tmp_path, faces, token):
    lines = _training_lines(faces)
    lines[2] = _replace_image(lines[2], " ".join([token] * 9216))
    data = agree(_write(tmp_path, lines), load_training)
    assert (data.images[1] == int(token)).all()


@pytest.mark.parametrize("token, fragment", [
    ("1" * 5000, "Image value 11111111111111111111... (5000 characters) is outside 0-255"),
    ("-" + "9" * 5000, "Image value -9999999999999999999... (5001 characters) is outside 0-255"),
    ("0256", "Image value 0256 is outside 0-255"),
    ("-1", "Image value -1 is outside 0-255"),
    ("1.5", "Image value 1.5 is not a whole number"),
    ("1_2", "Image holds a non-numeric value '1_2'"),
])
def test_a_bad_pixel_is_one_message_in_loader_and_check(tmp_path, faces, token, fragment):
    lines = _training_lines(faces)
    lines[4] = _replace_image(lines[4], " ".join(["7"] * 100 + [token] + ["7"] * 9115))
    path = _write(tmp_path, lines)
    assert fragment in agree(path, load_training).message
    [result] = check_path(path)
    assert result.rows == 6 and [p.line for p in result.problems if p.severity == "error"] == [5]


@pytest.mark.parametrize("value", ["6_6.0", "nan", "inf", "0x10", "1,5"])
def test_a_coordinate_is_a_plain_decimal_number(tmp_path, faces, value):
    lines = _training_lines(faces)
    fields = lines[2].split(",")
    fields[20] = f'"{value}"'  # nose_tip_x, quoted so that "1,5" stays one field
    lines[2] = ",".join(fields)
    assert agree(_write(tmp_path, lines), load_training).message == f"nose_tip_x {value!r} is not a number"


@pytest.mark.parametrize("value", ["40", "+40", "40.", ".4e2", "4.0E+01", " 40 "])
def test_decimal_spellings_of_a_coordinate(tmp_path, faces, value):
    lines = _training_lines(faces)
    fields = lines[2].split(",")
    fields[20] = value
    lines[2] = ",".join(fields)
    assert agree(_write(tmp_path, lines), load_training).keypoints[1, 10, 0] == 40.0


@pytest.mark.parametrize("field, fragment", [
    ("6_6", "ImageId '6_6' is not a whole number"),
    ("1.0", "ImageId '1.0' is not a whole number"),
    ("9" * 19, "ImageId '9999999999999999999' is not a whole number of at most 18 digits"),
    ("9" * 5000, "ImageId '99999999999999999999... (5000 characters)' is not a whole number of at most 18"),
])
def test_ids_are_whole_numbers(tmp_path, faces, field, fragment):
    lines = kaggle_test_csv(faces[0]).decode().splitlines()
    lines[3] = field + lines[3][1:]
    assert fragment in agree(_write(tmp_path, lines, "test.csv"), load_test).message
    lookup = tmp_path / "IdLookupTable.csv"
    lookup.write_bytes(lookup_csv([(1, "nose_tip_x")]).replace(b"\n1,", f"\n{field},".encode()))
    assert fragment.replace("ImageId", "RowId") in agree(lookup, load_lookup).message


@pytest.mark.parametrize("name, header, what", [
    ("training.csv", training_csv(np.zeros((0, 96, 96)), np.zeros((0, 15, 2))), "no faces"),
    ("test.csv", b"ImageId,Image\r\n", "no faces"),
    ("IdLookupTable.csv", b"RowId,ImageId,FeatureName,Location\r\n\r\n", "no rows"),
    ("submission.csv", b"RowId,Location\n", "no rows"),
])
def test_header_only_file_is_an_error(tmp_path, name, header, what):
    path = tmp_path / name
    path.write_bytes(header)
    loader = {"training.csv": load_training, "test.csv": load_test, "IdLookupTable.csv": load_lookup,
              "submission.csv": read_submission}[name]
    error = agree(path, loader)
    assert str(error) == f"{path}: the file holds only its header: {what}"


def test_quoted_fields_and_trailing_commas_are_read_as_csv_reads_them(tmp_path, faces):
    images, keypoints, mask = faces
    lines = _training_lines(faces)
    quoted = ['"' + '","'.join(line.split(",")) + '"' for line in lines]
    dialects = {
        "every field quoted": quoted,
        "a trailing comma on every row": [line + "," for line in lines],
        "a trailing comma on every data row": lines[:1] + [line + "," for line in lines[1:]],
        "quoted, CRLF and trailing commas": [line + "," for line in quoted],
    }
    for dialect, rows in dialects.items():
        path = _write(tmp_path, rows)
        if "CRLF" in dialect:
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        data = agree(path, load_training)
        np.testing.assert_array_equal(data.images, images, err_msg=dialect)
        np.testing.assert_array_equal(data.keypoints[mask], keypoints[mask], err_msg=dialect)
    (tmp_path / "sub.csv").write_text('"RowId","Location",\n"1","2.5",\n2,"3"\n')
    assert [a.tolist() for a in read_submission(tmp_path / "sub.csv")] == [[1, 2], [2.5, 3.0]]


@pytest.mark.parametrize("row, fragment", [
    ('"1,"2",3', "line 3: badly quoted field (',' expected after '\"')"),
    ('"1,2', "line 3: badly quoted field (unexpected end of data)"),
    ("1,2,,", "line 3: expected 2 comma-separated fields, found 4"),  # two trailing commas are not one
    ('"1,2",3', "line 3: RowId '1,2' is not a whole number"),  # a quoted comma is part of its field
])
def test_ambiguous_csv_is_refused_with_its_line(tmp_path, row, fragment):
    path = tmp_path / "sub.csv"
    path.write_text(f"RowId,Location\n1,2\n{row}\n")
    assert fragment in str(agree(path, read_submission))


def test_lookup_table_requested_with_no_rows_is_all_false():
    table = LookupTable(*np.zeros((5, 0), np.int64))
    assert not table.requested(np.array([3, 4])).any()


# --------------------------------------------------------------------------- the command line, one line


def _one_error_line(capsys, argv, fragment):
    from facekeypoints.cli import main

    assert main([str(a) for a in argv]) == 1
    out, err = capsys.readouterr()
    assert not out and err.count("\n") == 1 and err.startswith("facekeypoints: error: ") and fragment in err, err


@pytest.mark.parametrize("case", BAD_ZIPS)
def test_cli_reports_an_unreadable_zip_in_one_line(tmp_path, faces, capsys, case):
    make, fragment = BAD_ZIPS[case]
    (tmp_path / "test.zip").write_bytes(make(kaggle_test_csv(faces[0]), "test.csv"))
    (tmp_path / "IdLookupTable.csv").write_bytes(lookup_csv([(1, "nose_tip_x")]))
    (tmp_path / "training.zip").write_bytes(make(training_csv(*faces[:2]), "training.csv"))
    _one_error_line(capsys, ["data", "check", tmp_path / "training.zip"], fragment)
    _one_error_line(capsys, ["data", "check", tmp_path], fragment)
    _one_error_line(capsys, ["submit", "--data", tmp_path, "--out", tmp_path / "s.csv"], "test.zip")
    assert not (tmp_path / "s.csv").exists()


def test_cli_reports_header_only_files_in_one_line(kaggle_dir, capsys):
    from facekeypoints.cli import main

    (kaggle_dir / "IdLookupTable.csv").write_bytes(b"RowId,ImageId,FeatureName,Location\r\n")
    _one_error_line(capsys, ["submit", "--data", kaggle_dir, "--out", kaggle_dir / "s.csv"],
                    "IdLookupTable.csv: the file holds only its header: no rows")
    (kaggle_dir / "empty.csv").write_text("RowId,Location\n")
    _one_error_line(capsys, ["score", kaggle_dir / "empty.csv", kaggle_dir / "solution.csv"],
                    "empty.csv: the file holds only its header: no rows")
    _one_error_line(capsys, ["score", kaggle_dir / "solution.csv", kaggle_dir / "empty.csv"],
                    "empty.csv: the file holds only its header: no rows")
    (kaggle_dir / "training.csv").write_text("ImageId,Image\n")  # a wrong header, by the loader's words
    assert main(["data", "check", str(kaggle_dir / "training.csv"), str(kaggle_dir / "test.csv")]) == 1
    out, err = capsys.readouterr()
    assert "wrong header" in err and err.count("\n") == 1 and "test file, 4 good rows" in out  # and on to the next
