"""Property tests: mutated Kaggle files (truncated, bytes or characters inserted, fields dropped, doubled or
quoted, numbers of 5,000 digits, NaN and inf, CR/CRLF/LF line ends, zipped, damaged zips) fed to the loaders,
`data check` and scoring. The only outcomes allowed are a result or the project's one-line error, and the
loaders and `data check` must agree on every file: same verdict, same first message."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import kaggle_test_csv, lookup_csv, make_faces, training_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_data import agree

from facekeypoints.data import load_lookup, load_test, load_training, read_submission
from facekeypoints.errors import FacekeypointsError
from facekeypoints.keypoints import COORDINATE_COLUMNS
from facekeypoints.submission import score_files

PROPERTY = settings(max_examples=100, deadline=timedelta(seconds=3), derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_images, _points, _mask = make_faces(2, seed=5)
_requests = [(image, COORDINATE_COLUMNS[c]) for image in (1, 2) for c in (0, 1, 20, 21)]
BASE = {  # name: (bytes, loader); small, so that every example stays fast
    "training.csv": (training_csv(_images, _points), lambda p: load_training(p, use_cache=False)),
    "test.csv": (kaggle_test_csv(_images), lambda p: load_test(p, use_cache=False)),
    "IdLookupTable.csv": (lookup_csv(_requests), load_lookup),
    "SampleSubmission.csv": (b"RowId,Location\n" + b"".join(b"%d,%d.5\n" % (r, 40 + r) for r in range(1, 9)),
                             read_submission),
}

odd_values = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "+12", "0012", "6_6.0", "1_000",
                     " 7 ", '"', '""', "-0", "256", "1.5", ".5", "5.", "1e5", "0x1f", "\x00", "é", "\u2028"]),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.text(max_size=6),
)
index = st.integers(0, 10_000)  # taken modulo the length of what it indexes
position = st.floats(0, 1)
field_ops = st.one_of(
    st.tuples(st.just("set"), index, index, odd_values),
    st.tuples(st.just("drop"), index, index),
    st.tuples(st.just("double"), index, index),
    st.tuples(st.just("quote"), index, index),
    st.tuples(st.just("pixel"), index, index, odd_values),
    st.tuples(st.just("drop line"), index),
    st.tuples(st.just("double line"), index),
    st.just(("quote all",)),
    st.just(("trailing comma",)),
)
byte_ops = st.one_of(
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), position, st.text(min_size=1, max_size=4).map(str.encode)),
    st.tuples(st.just("delete"), position, st.integers(1, 40)),
)
zip_ops = st.one_of(st.tuples(st.just("flip"), position, st.integers(1, 255)), st.tuples(st.just("truncate"), position))


def _quote(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


def mutate(data: bytes, ops: list[tuple], newline: str) -> bytes:
    """Apply field operations to the rows, join them with `newline`, then apply byte operations."""
    rows = [line.split(",") for line in data.decode().splitlines()]
    for op, *args in (op for op in ops if op[0] not in ("truncate", "insert", "delete")):
        if op in ("quote all", "trailing comma"):
            rows = [[_quote(f) for f in row] if op == "quote all" else row + [""] for row in rows]
            continue
        row = rows[args[0] % len(rows)] if rows else None
        if op == "drop line" and rows:
            del rows[args[0] % len(rows)]
        elif op == "double line" and rows:
            rows.insert(args[0] % len(rows), list(row))
        elif row:
            j = args[1] % len(row)
            if op == "set":
                row[j] = args[2]
            elif op == "drop":
                del row[j]
            elif op == "double":
                row.insert(j, row[j])
            elif op == "quote":
                row[j] = _quote(row[j])
            elif op == "pixel":  # one grey level of the Image field (the last), or a whole field elsewhere
                values = row[-1].split(" ")
                values[args[1] % len(values)] = args[2]
                row[-1] = " ".join(values)
    out = "".join(",".join(row) + newline for row in rows).encode()
    for op, at, *args in (op for op in ops if op[0] in ("truncate", "insert", "delete")):
        cut = int(at * len(out))
        out = out[:cut] if op == "truncate" else out[:cut] + args[0] + out[cut:] if op == "insert" else \
            out[:cut] + out[cut + args[0]:]
    return out


def _zipped(name: str, data: bytes, damage: list[tuple]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    archive = bytearray(buf.getvalue())
    for op, at, *args in damage:
        cut = int(at * (len(archive) - 1))
        if op == "truncate":
            del archive[cut:]
        elif archive:
            archive[cut] ^= args[0]
    return bytes(archive)


def _one_line(error: FacekeypointsError) -> None:
    assert len(str(error).splitlines()) == 1, repr(str(error))


@pytest.mark.parametrize("name", BASE)
@PROPERTY
@given(ops=st.lists(st.one_of(field_ops, byte_ops), max_size=4), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       zipped=st.booleans(), damage=st.lists(zip_ops, max_size=2))
def test_loader_and_check_agree_on_mutated_files(name, ops, newline, zipped, damage):
    data, loader = BASE[name]
    mutated = mutate(data, ops, newline)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if zipped and name != "SampleSubmission.csv":  # Kaggle ships training.csv and test.csv zipped
            path = path.with_suffix(".zip")
            path.write_bytes(_zipped(name, mutated, damage))
        else:
            path.write_bytes(mutated)
        outcome = agree(path, loader)  # a result or a DataError: any other exception fails the test
        if isinstance(outcome, FacekeypointsError):
            _one_line(outcome)
        if not ops and not damage:
            assert not isinstance(outcome, FacekeypointsError), outcome


@PROPERTY
@given(submission=st.lists(st.one_of(field_ops, byte_ops), max_size=3),
       lookup=st.lists(st.one_of(field_ops, byte_ops), max_size=2), newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_scoring_mutated_files_gives_a_score_or_one_line(submission, lookup, newline):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        solution = BASE["SampleSubmission.csv"][0]
        (folder / "solution.csv").write_bytes(solution)
        (folder / "IdLookupTable.csv").write_bytes(mutate(BASE["IdLookupTable.csv"][0], lookup, newline))
        (folder / "submission.csv").write_bytes(mutate(solution, submission, newline))
        try:
            report = score_files(folder / "submission.csv", folder / "solution.csv")
        except FacekeypointsError as exc:
            _one_line(exc)
        else:
            assert np.isfinite(report.rmse) and report.rmse >= 0
            if not submission:
                assert report.rmse == 0
