"""`facekeypoints data check`: list every problem and every suspicious row of Kaggle files."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, FacekeypointsError
from ..keypoints import KEYPOINT_NAMES, NUM_KEYPOINTS, PARTIAL_KEYPOINTS
from . import kaggle
from .sources import KAGGLE_ZIP, STEMS, NotFound, Source, resolve

PARSERS = {
    "training": kaggle.parse_training,
    "test": kaggle.parse_test,
    "lookup": kaggle.parse_lookup,
    "submission": kaggle.parse_submission,
}
KAGGLE_NAMES = {f"{stem.lower()}.csv": kind for kind, stem in STEMS.items()} | {"samplesubmission.csv": "submission"}
HEADERS = {
    frozenset(kaggle.TRAINING_COLUMNS): "training",
    frozenset(kaggle.TEST_COLUMNS): "test",
    frozenset(kaggle.LOOKUP_COLUMNS): "lookup",
    frozenset(kaggle.SUBMISSION_COLUMNS): "submission",
}


@dataclass
class CheckResult:
    source: str
    kind: str
    rows: int  # rows read without an error
    problems: list[kaggle.Problem]

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    def problem_lines(self, errors_only: bool = False) -> list[str]:
        """One line per problem, as `data check` prints them: "FILE: line N: error: MESSAGE"."""
        return [f"{self.source}: {f'line {p.line}' if p.line is not None else 'file'}: {p.severity}: {p.message}"
                for p in self.problems if p.severity == "error" or not errors_only]

    def summary(self) -> str:
        return f"{self.source}: {self.kind} file, {self.rows} good rows, {self.errors} errors, {self.warnings} warnings"


def check_path(path: str | Path) -> list[CheckResult]:
    """Check one CSV, or every Kaggle file found in a folder or zip. Unreadable files raise DataError."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".zip":
        results = []
        for kind in ("training", "test", "lookup"):
            try:
                source = resolve(path, kind)
            except NotFound:
                continue  # this folder or zip lacks that file (a damaged one is an error, as for the loaders)
            results.append(check_source(source, kind))
        if not results:
            where = "in this folder" if path.is_dir() else "inside this zip"
            raise NotFound(f"no training, test or IdLookupTable file (or {KAGGLE_ZIP}) {where}", str(path))
        return results
    source = Source(path)
    return [check_source(source, _kind(source))]


def report(paths, errors_only: bool = False, quiet: bool = False, out=None, err=None) -> bool:
    """`facekeypoints data check`: every problem of each path printed to `out` (stdout), a summary per file
    unless `quiet`, and a path that cannot be read said on `err` (stderr); each path is checked, whatever the
    one before it came to. Returns whether any file has errors (or could not be read)."""
    out, err = out or sys.stdout, err or sys.stderr
    failed = False
    for path in paths:
        try:
            results = check_path(path)
        except FacekeypointsError as error:
            print(f"facekeypoints: error: {error}", file=err)
            failed = True
            continue
        for result in results:
            print("".join(line + "\n" for line in result.problem_lines(errors_only)), end="", file=out)
            if not quiet:
                print(result.summary(), file=out)
            failed |= bool(result.errors)
    return failed


def _kind(source: Source) -> str:
    """A file named as Kaggle names it is of that kind, as for the loaders, which find files by name (so a
    wrong header gets their message); any other file is known by its header."""
    by_name = KAGGLE_NAMES.get(source.path.name.lower())
    if by_name:
        return by_name
    columns = kaggle.read_header(source.read(), source.name)
    kind = HEADERS.get(frozenset(columns))
    if kind is None:
        header = ",".join(columns)
        first = header[:60] + ("..." if len(header) > 60 else "")
        raise DataError(f"not a Kaggle keypoints file: unknown header {first!r}", source.name, 1)
    return kind


def check_source(source: Source, kind: str) -> CheckResult:
    parsed, problems = PARSERS[kind](source.read(), source.name)
    if kind == "training":
        problems = problems + _training_warnings(parsed)
    elif kind == "test":
        problems = problems + _image_warnings(parsed.images, parsed.lines)
    rows = len(parsed[0]) if isinstance(parsed, tuple) else len(parsed)
    return CheckResult(source.name, kind, rows, sorted(problems, key=lambda p: p.line or 0))


def _training_warnings(data: kaggle.KeypointData) -> list[kaggle.Problem]:
    out = _image_warnings(data.images, data.lines)
    counts = data.mask.sum(axis=1)
    partial = np.zeros(NUM_KEYPOINTS, bool)
    partial[list(PARTIAL_KEYPOINTS)] = True
    for i in np.flatnonzero((counts != NUM_KEYPOINTS) & ~(data.mask == partial).all(axis=1)):
        out.append(_warning(data.lines[i], f"{counts[i]} of 15 keypoints labelled (usually all 15 or the usual 4)"))
    left, right = KEYPOINT_NAMES.index("left_eye_center"), KEYPOINT_NAMES.index("right_eye_center")
    with np.errstate(invalid="ignore"):
        swapped = data.keypoints[:, left, 0] < data.keypoints[:, right, 0]
    for i in np.flatnonzero(swapped):
        # The subject's left eye is on the image's right: larger x.
        out.append(_warning(data.lines[i], "left and right eye look swapped (left_eye_center_x < right_eye_center_x)"))
    return out


def _image_warnings(images: np.ndarray, lines: np.ndarray) -> list[kaggle.Problem]:
    out = []
    first_line: dict[bytes, int] = {}
    for image, line in zip(images, lines.tolist()):
        digest = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        if digest in first_line:
            out.append(_warning(line, f"same image as line {first_line[digest]}"))
        else:
            first_line[digest] = line
    for i in np.flatnonzero(images.std(axis=(1, 2)) < 2.0):
        out.append(_warning(lines[i], "the image is blank (almost uniform grey)"))
    return out


def _warning(line, message: str) -> kaggle.Problem:
    return kaggle.Problem(int(line), message, "warning")
