"""Records a pipeline can take: JSON Lines (.jsonl) and Parquet (.parquet, a row per face) beside the JSON array,
picked by the suffix; every input has its record, an unreadable one its error record."""

from __future__ import annotations

import json
import sys

import pytest

from facekeypoints.cli import build_parser, main
from facekeypoints.errors import OutputExistsError
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos import FileResult, JsonLinesWriter, face_rows, records_writer
from facekeypoints.shipped import sample_image

pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs pyarrow (pip install '.[parquet]')")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    (folder / "a.png").write_bytes(sample_image().read_bytes())
    (folder / "b-broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (folder / "c-blank.png").write_bytes(_blank_png())
    return folder


def _blank_png() -> bytes:
    import cv2
    import numpy as np

    return cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()


@pytest.fixture(scope="module")
def records(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "faces.json"
    assert main(["predict", str(inputs), "--json", str(out), "-q"]) == 1  # the broken file
    return json.loads(out.read_text())


def test_json_lines_are_the_array_s_records_one_a_line(inputs, records, tmp_path):
    out = tmp_path / "faces.jsonl"
    assert main(["predict", str(inputs), "--json", str(out), "-q"]) == 1
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == records and len(lines) == 3
    assert [set(r) for r in records][1] == {"source", "frame", "error"}  # the broken one's error record
    assert len(records[0]["faces"]) == 1 and records[2]["faces"] == []
    assert main(["predict", str(inputs), "--json", str(out), "-q"]) == 1  # exists: refused, left as it was
    assert out.read_text().splitlines() == lines


def test_json_lines_append_to_a_file(tmp_path):
    out = tmp_path / "log.jsonl"
    for source in ("x.jpg", "y.jpg"):
        with JsonLinesWriter(out, append=True) as writer:
            writer.write(FileResult(tmp_path / source, None, 10, 10))
    assert [json.loads(line)["source"] for line in out.read_text().splitlines()] == [
        str(tmp_path / "x.jpg"), str(tmp_path / "y.jpg")]
    with pytest.raises(OutputExistsError), JsonLinesWriter(out):  # not appending: an existing file is not replaced
        pass


def test_parquet_has_a_row_per_face_a_column_per_coordinate(inputs, records, tmp_path):
    out = tmp_path / "faces.parquet"
    assert main(["predict", str(inputs), "--json", str(out), "-q"]) == 1
    table = pq.read_table(out)
    coordinates = [f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in "xy"]
    assert table.column_names[:6] == ["source", "frame", "width", "height", "error", "face"]
    assert table.column_names[-30:] == coordinates
    rows = table.to_pylist()
    assert rows == [row for record in records for row in face_rows(record)] and len(rows) == 3
    face, broken, blank = rows
    assert (face["face"], face["box_w"] > 50, face["too_small"]) == (0, True, False)
    assert [face[c] for c in coordinates] == [v for name in KEYPOINT_NAMES for v in records[0]["faces"][0][
        "keypoints"][name]]
    assert broken["error"].endswith("not an image OpenCV can decode") and broken["face"] is None
    assert (blank["face"], blank["width"], blank["error"]) == (None, 64, None)  # an image without faces keeps a row


def test_a_failed_parquet_write_leaves_no_file(tmp_path):
    out = tmp_path / "faces.parquet"
    with pytest.raises(RuntimeError, match="stop"), records_writer(out) as writer:
        writer.write(FileResult(tmp_path / "x.jpg", None, 10, 10))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_the_writer_is_picked_by_the_suffix_and_the_help_says_which(tmp_path):
    assert [type(records_writer(tmp_path / name)).__name__ for name in ("a.json", "a.jsonl", "a.PARQUET", "-")] == [
        "RecordsWriter", "JsonLinesWriter", "ParquetWriter", "RecordsWriter"]
    predict = build_parser(["predict"])._subparsers._group_actions[0].choices["predict"]
    text = " ".join(predict.format_help().split())
    assert ".jsonl JSON Lines" in text and ".parquet Parquet (a row per face" in text and "--ray ADDRESS" in text


@pytest.mark.parametrize("module, argv, hint", [
    ("ray", ["--ray", "local"], "predict needs ray: pip install 'facekeypoints[ray]'"),
    ("pyarrow", ["--json", "faces.parquet"], "predict needs pyarrow: pip install 'facekeypoints[parquet]'")])
def test_a_missing_extra_says_which_install_brings_it(module, argv, hint, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    monkeypatch.delitem(sys.modules, "facekeypoints.ray_data", raising=False)
    assert main(["predict", str(sample_image()), *argv, "-q"]) == 1
    assert hint in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_parquet_columns_follow_the_model_s_keypoints(tmp_path):
    """A model of another keypoint set: its points' names make the columns (taken from the first face)."""
    from facekeypoints.photos import Crop, Face

    face = Face((1, 2, 30, 30), {"chin": (5.0, 6.0), "nose": (7.0, 8.0)}, Crop((16.0, 17.0), 30.0))
    out = tmp_path / "faces.parquet"
    with records_writer(out) as writer:
        writer.write(FileResult(tmp_path / "empty.jpg", None, 50, 50))  # no face yet: the columns wait
        writer.write(FileResult(tmp_path / "x.jpg", None, 50, 50, [face]))
    table = pq.read_table(out)
    assert table.column_names[-4:] == ["chin_x", "chin_y", "nose_x", "nose_y"]
    assert [(r["face"], r["nose_y"]) for r in table.to_pylist()] == [(None, None), (0, 8.0)]
    with pytest.raises(Exception, match="keypoints chin, nose have no columns here"):
        with records_writer(tmp_path / "kaggle.parquet") as writer:
            writer.write(FileResult(tmp_path / "k.jpg", None, 50, 50, [Face((0, 0, 9, 9), {"left_eye_center": (
                1.0, 1.0)}, Crop((4.0, 4.0), 9.0))]))
            writer._flush()  # the columns fixed by the first face, as a full row group would
            writer.write(FileResult(tmp_path / "x.jpg", None, 50, 50, [face]))
    assert not (tmp_path / "kaggle.parquet").exists()
