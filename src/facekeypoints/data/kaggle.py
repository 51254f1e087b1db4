"""Read Kaggle's CSV files into arrays, exactly as Kaggle ships them (CRLF or LF, zipped or not).

Other tools' dialects read the same: CR line ends, quoted fields, a trailing comma on each row. Numbers
are plain decimals (12, +12, 0012, 1.5, .5, 1e-3): not Python's 6_6, and no nan or inf (an unlabelled
keypoint is an empty field). This is the only parser: `data check` reports exactly what the loaders refuse.

Every parser collects *all* problems of a file, each with its line number (header = line 1), so
`facekeypoints data check` can list them; the loaders raise on the first one. Pixels are parsed with
vectorised NumPy over the raw bytes: no Python loop per pixel.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..keypoints import COLUMN_INDEX, COORDINATE_COLUMNS, IMAGE_SIZE, KAGGLE_15, NUM_KEYPOINTS, KeypointSet
from . import cache
from .sources import Source, resolve

NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
TRAINING_COLUMNS = (*COORDINATE_COLUMNS, "Image")
TEST_COLUMNS = ("ImageId", "Image")
LOOKUP_COLUMNS = ("RowId", "ImageId", "FeatureName", "Location")
SUBMISSION_COLUMNS = ("RowId", "Location")
_ROWS_PER_CHUNK = 512  # rows whose pixels are parsed at once: bounds the temporary arrays
# The one spelling of numbers, in every column and in Image.
_INTEGER = re.compile(rb"\s*[+-]?\d+\s*")
_DECIMAL = re.compile(rb"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_MAX_DIGITS = 18  # a whole number fits int64
_LARGEST = float(np.finfo(np.float32).max)  # keypoints are float32: beyond, no coordinate (and squares overflow)


@dataclass(frozen=True)
class Problem:
    """Something wrong (severity "error") or odd ("warning") in one line of a file."""

    line: int | None
    message: str
    severity: str = "error"


@dataclass
class KeypointData:
    """Labelled faces: the content of a training.csv.

    images:    uint8 (N, 96, 96), grey levels.
    keypoints: float32 (N, K, 2), (x, y) in pixels; NaN where a keypoint is not labelled.
    mask:      bool (N, K), True where the keypoint is labelled.
    lines:     int (N,), each face's line in the source file (or entry in an annotation file), for messages.
    keypoint_set: the points' set (K of them: 15 here; other annotation files give others, `data.faces`).
    """

    images: np.ndarray
    keypoints: np.ndarray
    mask: np.ndarray
    lines: np.ndarray
    source: str = ""
    keypoint_set: KeypointSet = KAGGLE_15

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray | slice) -> KeypointData:
        return KeypointData(self.images[index], self.keypoints[index], self.mask[index], self.lines[index], self.source,
                            self.keypoint_set)


@dataclass
class TestImages:
    """Unlabelled faces: the content of a test.csv. image_ids: int64 (N,); images: uint8 (N, 96, 96)."""

    __test__ = False  # not a pytest test class, despite the name

    image_ids: np.ndarray
    images: np.ndarray
    lines: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class LookupTable:
    """IdLookupTable.csv: which coordinate each submission row asks for.

    row_ids, image_ids: int64 (M,); keypoint: int (M,) index into KEYPOINT_NAMES; axis: int (M,) 0 = x, 1 = y.
    """

    row_ids: np.ndarray
    image_ids: np.ndarray
    keypoint: np.ndarray
    axis: np.ndarray
    lines: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.row_ids)

    def requested(self, image_ids: np.ndarray) -> np.ndarray:
        """bool (N, 15): which keypoints the table asks for, for each of `image_ids`."""
        position = {int(i): n for n, i in enumerate(image_ids)}
        out = np.zeros((len(image_ids), NUM_KEYPOINTS), bool)
        rows = np.array([position.get(int(i), -1) for i in self.image_ids], np.int64)
        known = rows >= 0
        out[rows[known], self.keypoint[known]] = True
        return out


# ----------------------------------------------------------------------------------------------- tables


def read_header(data: bytes, name: str) -> list[str]:
    """The column names of a CSV file, read as the parsers read them (the rest of the file is not looked at)."""
    _check_text(data, name)
    end = re.search(rb"[\r\n]", data)
    return _columns(data[: end.start()] if end else data, name)


def _check_text(data: bytes, name: str) -> None:
    if not data or data.isspace():
        raise DataError("the file is empty", name)
    if b"\0" in data[:65536]:
        raise DataError("binary data, not a CSV text file", name)


def _columns(line: bytes, name: str) -> list[str]:
    try:
        columns = [c.decode().strip() for c in _split_row(line.removeprefix(codecs.BOM_UTF8))]
    except UnicodeDecodeError:
        raise DataError("binary data, not a CSV text file", name) from None
    except csv.Error as exc:
        raise DataError(f"the header is badly quoted ({exc})", name, 1) from None
    if len(columns) > 1 and not columns[-1]:
        columns.pop()  # a trailing comma
    return columns


def _split_row(line: bytes) -> list[bytes]:
    """A line's fields, as the csv module reads them: a field may be quoted (with "" for a quote inside).

    Lines without quotes (all of Kaggle's) are just split, which is what csv would do, only faster.
    Each line is read alone, so line numbers stay true and a quote left open is an error of its line.
    """
    if b'"' not in line:
        return line.split(b",")
    [fields] = csv.reader([line.decode("latin-1")], strict=True)  # latin-1: one character per byte, and back
    return [f.encode("latin-1") for f in fields]


def _split_table(data: bytes, name: str, expected: tuple[str, ...], problems: list[Problem]):
    """Check the header; return {column: index}, the rows' fields and their line numbers.

    Line ends may be CRLF, LF or CR. Rows with the wrong number of fields become problems; one empty
    field too many at the end (a trailing comma) is dropped. Blank lines are skipped (but counted).
    """
    _check_text(data, name)
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = data.split(b"\n")
    columns = _columns(lines[0], name)
    _check_header(columns, expected, name)
    index = {c: i for i, c in enumerate(columns)}
    rows, numbers = [], []
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            fields = _split_row(raw)
        except csv.Error as exc:
            problems.append(Problem(number, f"badly quoted field ({exc})"))
            continue
        if len(fields) == len(columns) + 1 and not fields[-1].strip():
            fields.pop()  # a trailing comma
        if len(fields) != len(columns):
            problems.append(Problem(number, f"expected {len(columns)} comma-separated fields, found {len(fields)}"))
            continue
        rows.append(fields)
        numbers.append(number)
    if not rows and not problems:
        what = "faces" if "Image" in expected else "rows"
        problems.append(Problem(None, f"the file holds only its header: no {what}"))
    return index, rows, numbers


def _check_header(columns: list[str], expected: tuple[str, ...], name: str) -> None:
    if sorted(columns) == sorted(expected):
        return
    hint = ",".join(expected) if len(expected) <= 4 else f"{expected[0]},{expected[1]},...,{expected[-1]}"
    if not columns[0] or re.fullmatch(r"[-+]?[\d.]+", columns[0]):
        raise DataError(f"missing header: the first line holds data; expected the header {hint}", name, 1)
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in expected if c not in columns]
    unexpected = [c for c in columns if c not in expected]
    parts = []
    if missing:
        parts.append("missing column(s) " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    if unexpected:
        parts.append("unexpected column(s) " + ", ".join(_shown(c, quote=False) for c in unexpected[:5])
                     + (" ..." if len(unexpected) > 5 else ""))
    if doubled:
        parts.append("repeated column(s) " + ", ".join(_shown(c, quote=False) for c in doubled))
    raise DataError(f"wrong header ({'; '.join(parts)}); expected {hint}", name, 1)


def _first_error(problems: list[Problem], name: str) -> None:
    errors = sorted((p for p in problems if p.severity == "error"), key=lambda p: p.line or 0)  # as data check
    if errors:
        more = f" (and {len(errors) - 1} more problems: run `facekeypoints data check {name.split(':')[0]}`)"
        raise DataError(errors[0].message + (more if len(errors) > 1 else ""), name, errors[0].line)


def _shown(field: bytes | str, quote: bool = True) -> str:
    """A field as messages show it: at most a few dozen characters."""
    text = field.decode(errors="replace").strip() if isinstance(field, bytes) else field
    text = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    return repr(text) if quote or not text or not text.isprintable() else text


def _parse_int(field: bytes, column: str, line: int, problems: list[Problem]) -> int | None:
    """A whole number, as CSV readers take one: an optional sign, digits; int64-sized (no 1_000, no 1.0)."""
    whole = _INTEGER.fullmatch(field)
    if whole and len(field.strip().lstrip(b"+-").lstrip(b"0")) <= _MAX_DIGITS:
        return int(field)
    limit = f" of at most {_MAX_DIGITS} digits" if whole else ""
    problems.append(Problem(line, f"{column} {_shown(field)} is not a whole number{limit}"))
    return None


def _parse_float(field: bytes) -> float | None:
    """A decimal number such as 66, 66.5, .5 or 6.6e1; None for anything else (nan, inf, Python's 6_6.0)."""
    return float(field) if _DECIMAL.fullmatch(field) else None


# ----------------------------------------------------------------------------------------------- pixels


def _parse_images(fields: list[bytes], lines: list[int], problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    """Parse space-separated grey levels, one image per field. Returns (uint8 (n, 96, 96), ok (n,)).

    Nearly every field is 9216 runs of 1-3 digits separated by single spaces: that is checked per row
    with C-speed bytes methods, and then all such rows are parsed at once in NumPy from the separators'
    positions. The other rows (rare) are read one by one by `_read_image`, which holds the rules.
    """
    fields = [f.strip() for f in fields]
    fast = np.array(
        [f.count(b" ") == NUM_PIXELS - 1 and b"  " not in f and not f.translate(None, b"0123456789 ") for f in fields],
        bool,
    )
    images = np.zeros((len(fields), NUM_PIXELS), np.uint8)
    slow = [np.flatnonzero(~fast)]
    good_rows = np.flatnonzero(fast)
    for start in range(0, len(good_rows), _ROWS_PER_CHUNK):
        rows = good_rows[start : start + _ROWS_PER_CHUNK]
        buf = np.frombuffer(b" ".join(fields[r] for r in rows), np.uint8)
        digits = buf - np.uint8(48)
        ends = np.append(np.flatnonzero(buf == 32), len(buf))  # one past each value's last digit
        lengths = np.diff(ends, prepend=-1) - 1
        values = digits[ends - 1].astype(np.int32)
        for k in (2, 3):
            longer = np.flatnonzero(lengths >= k)
            values[longer] += 10 ** (k - 1) * digits[ends[longer] - k]
        values[lengths > 3] = 1000  # out of range, or zero-padded: `_read_image` tells which
        values = values.reshape(len(rows), NUM_PIXELS)
        in_range = (values <= 255).all(axis=1)
        images[rows[in_range]] = values[in_range]
        slow.append(rows[~in_range])
    ok = fast.copy()  # until `_read_image` says otherwise
    for r in np.sort(np.concatenate(slow)).tolist():
        values, problem = _read_image(fields[r])
        ok[r] = values is not None
        if ok[r]:
            images[r] = values
        else:
            problems.append(Problem(lines[r], problem))
    return images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), ok


def _read_image(field: bytes) -> tuple[list[int] | None, str]:
    """The rules for Image: 9216 whole numbers 0-255 separated by single spaces; leading zeros and a sign
    are allowed, as in every number. Returns (the values, "") or (None, what is wrong)."""
    tokens = field.split()
    values = []
    for token in tokens:
        if not _INTEGER.fullmatch(token):
            if _DECIMAL.fullmatch(token):
                return None, f"Image value {_shown(token, quote=False)} is not a whole number"
            return None, f"Image holds a non-numeric value {_shown(token)}"
        magnitude = token.lstrip(b"+-").lstrip(b"0") or b"0"
        # The length first: int() refuses 4,300 digits or more.
        if len(magnitude) > 3 or int(magnitude) > 255 or (token.startswith(b"-") and magnitude != b"0"):
            return None, f"Image value {_shown(token, quote=False)} is outside 0-255"
        values.append(int(magnitude))
    if len(tokens) != NUM_PIXELS:
        return None, f"Image has {len(tokens)} values, expected {NUM_PIXELS} (96x96)"
    if b" ".join(tokens) != field:
        return None, "Image values are not separated by single spaces"
    return values, ""


# ----------------------------------------------------------------------------------------------- files


def parse_training(data: bytes, name: str) -> tuple[KeypointData, list[Problem]]:
    """Parse training.csv bytes; rows with problems are left out of the result and listed."""
    problems: list[Problem] = []
    index, rows, lines = _split_table(data, name, TRAINING_COLUMNS, problems)
    images, ok = _parse_images([r[index["Image"]] for r in rows], lines, problems)
    coord_index = [index[c] for c in COORDINATE_COLUMNS]
    coords = np.full((len(rows), len(COORDINATE_COLUMNS)), np.nan, np.float32)
    for r, fields in enumerate(rows):
        values = [_parse_float(fields[i]) if fields[i].strip() else np.nan for i in coord_index]  # empty: unlabelled
        if None in values:
            ok[r] = False
            column = COORDINATE_COLUMNS[values.index(None)]
            problems.append(Problem(lines[r], f"{column} {_shown(fields[index[column]])} is not a number"))
        else:
            with np.errstate(over="ignore"):  # 1e300 becomes inf: outside the image either way
                coords[r] = values
    xy = coords.reshape(-1, NUM_KEYPOINTS, 2)
    labelled = ~np.isnan(xy)
    with np.errstate(invalid="ignore"):
        outside = labelled & ~((xy >= 0) & (xy <= IMAGE_SIZE))
    half = labelled[..., 0] != labelled[..., 1]
    for r in np.flatnonzero(ok & (outside.any((1, 2)) | half.any(1))):
        ok[r] = False
        if outside[r].any():
            k, a = np.argwhere(outside[r])[0]
            column = COORDINATE_COLUMNS[2 * k + a]
            problems.append(Problem(lines[r], f"{column} = {xy[r, k, a]:g} lies outside the 96x96 image (0-96)"))
        else:
            column = COORDINATE_COLUMNS[2 * int(np.argmax(half[r]))]
            problems.append(Problem(lines[r], f"{column[:-2]} has only one of its x and y labelled"))
    problems.sort(key=lambda p: p.line or 0)
    keep = np.flatnonzero(ok)
    result = KeypointData(images[keep], xy[keep], labelled[keep, :, 0], np.asarray(lines, np.int64)[keep], name)
    return result, problems


def parse_test(data: bytes, name: str) -> tuple[TestImages, list[Problem]]:
    problems: list[Problem] = []
    index, rows, lines = _split_table(data, name, TEST_COLUMNS, problems)
    images, ok = _parse_images([r[index["Image"]] for r in rows], lines, problems)
    ids = np.zeros(len(rows), np.int64)
    first_seen: dict[int, int] = {}
    for r, fields in enumerate(rows):
        value = _parse_int(fields[index["ImageId"]], "ImageId", lines[r], problems)
        if value is None:
            ok[r] = False
        elif value in first_seen:
            ok[r] = False
            problems.append(Problem(lines[r], f"ImageId {value} appears again (first on line {first_seen[value]})"))
        else:
            first_seen[value] = lines[r]
            ids[r] = value
    problems.sort(key=lambda p: p.line or 0)
    keep = np.flatnonzero(ok)
    return TestImages(ids[keep], images[keep], np.asarray(lines, np.int64)[keep], name), problems


def parse_lookup(data: bytes, name: str) -> tuple[LookupTable, list[Problem]]:
    problems: list[Problem] = []
    index, rows, lines = _split_table(data, name, LOOKUP_COLUMNS, problems)
    out: list[tuple[int, int, int, int, int]] = []
    seen_rows: dict[int, int] = {}
    seen_features: dict[tuple[int, str], int] = {}
    for fields, line in zip(rows, lines):
        row_id = _parse_int(fields[index["RowId"]], "RowId", line, problems)
        image_id = _parse_int(fields[index["ImageId"]], "ImageId", line, problems)
        feature = fields[index["FeatureName"]].decode(errors="replace").strip()
        if feature not in COLUMN_INDEX:
            problems.append(Problem(line, f"unknown FeatureName {_shown(feature)}"))
            continue
        if row_id is None or image_id is None:
            continue
        if row_id in seen_rows:
            problems.append(Problem(line, f"RowId {row_id} appears again (first on line {seen_rows[row_id]})"))
            continue
        if (image_id, feature) in seen_features:
            first = seen_features[image_id, feature]
            problems.append(Problem(line, f"ImageId {image_id} asks for {feature} again (first on line {first})"))
            continue
        seen_rows[row_id] = seen_features[image_id, feature] = line
        out.append((row_id, image_id, *COLUMN_INDEX[feature], line))
    table = np.array(out, np.int64).reshape(-1, 5)
    return LookupTable(*table.T, source=name), problems


def parse_submission(data: bytes, name: str) -> tuple[tuple[np.ndarray, np.ndarray], list[Problem]]:
    """A submission or solution file: (row_ids int64 (M,), locations float64 (M,))."""
    problems: list[Problem] = []
    index, rows, lines = _split_table(data, name, SUBMISSION_COLUMNS, problems)
    row_ids, locations = [], []
    seen: dict[int, int] = {}
    for fields, line in zip(rows, lines):
        row_id = _parse_int(fields[index["RowId"]], "RowId", line, problems)
        text = fields[index["Location"]]
        location = _parse_float(text)
        if location is None or not abs(location) <= _LARGEST:
            wrong = "not a number" if location is None else "out of range"
            problems.append(Problem(line, f"Location {_shown(text)} is {wrong}"))
            continue
        if row_id is None:
            continue
        if row_id in seen:
            problems.append(Problem(line, f"RowId {row_id} appears again (first on line {seen[row_id]})"))
            continue
        seen[row_id] = line
        row_ids.append(row_id)
        locations.append(location)
    return (np.array(row_ids, np.int64), np.array(locations, np.float64)), problems


# ----------------------------------------------------------------------------------------------- loaders


def _load(source: Source, parse: Callable, use_cache: bool):
    def parse_or_raise() -> dict[str, np.ndarray]:
        result, problems = parse(source.read(), source.name)
        _first_error(problems, source.name)
        return {k: v for k, v in vars(result).items() if isinstance(v, np.ndarray)}

    arrays = cache.cached(source, parse.__name__, parse_or_raise) if use_cache else parse_or_raise()
    return arrays


def load_training(path: str | Path, *, use_cache: bool = True) -> KeypointData:
    """Load training.csv from a folder, the CSV, its zip or Kaggle's competition zip.

    Parsed arrays are cached (see `facekeypoints.data.cache`), keyed by the file's content.
    Raises DataError naming the file and line of the first problem.
    """
    source = resolve(path, "training")
    return KeypointData(**_load(source, parse_training, use_cache), source=source.name)


def load_test(path: str | Path, *, use_cache: bool = True) -> TestImages:
    """Load test.csv (ImageId, Image) from a folder, the CSV, its zip or Kaggle's competition zip."""
    source = resolve(path, "test")
    return TestImages(**_load(source, parse_test, use_cache), source=source.name)


def load_lookup(path: str | Path) -> LookupTable:
    """Load IdLookupTable.csv from a folder, the CSV or Kaggle's competition zip."""
    source = resolve(path, "lookup")
    return LookupTable(**_load(source, parse_lookup, False), source=source.name)


def read_submission(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a RowId,Location file (a submission or a solution): (row_ids, locations)."""
    source = Source(Path(path))
    (row_ids, locations), problems = parse_submission(source.read(), source.name)
    _first_error(problems, source.name)
    return row_ids, locations
