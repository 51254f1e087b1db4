"""`facekeypoints data check`: list every problem and every suspicious row of Kaggle files, and describe an
annotation file of any format (faces, keypoint set, points per face, mirror pairs, unlabelled points) with its
suspicious faces."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._progress import progress
from ..errors import DataError, FacekeypointsError
from ..keypoints import KAGGLE_15, KEYPOINT_NAMES, NUM_KEYPOINTS, PARTIAL_KEYPOINTS, KeypointSet
from . import kaggle
from .annotated import Annotations, image_size, keypoint_set_for
from .annotations import annotation_format, read_annotations, zipped_annotations
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
    details: list[str] = field(default_factory=list)  # what the file holds, a line each (keypoint set, ...)

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
        return (f"{self.source}: {self.kind} file, {self.rows} good rows, {self.errors} errors, {self.warnings} "
                "warnings" + "".join(f"\n  {line}" for line in self.details))


def check_path(path: str | Path, flip_pairs=None, category=None) -> list[CheckResult]:
    """Check one CSV, or every Kaggle file found in a folder or zip, or an annotation file of another format
    (COCO .json, dlib .xml, a 300-W folder). Unreadable files raise DataError."""
    path = Path(path)
    if annotation_format(path) in ("coco", "dlib", "300w"):
        return [check_annotations(read_annotations(path, flip_pairs, category))]
    if path.is_dir() or path.suffix.lower() == ".zip":
        results = []
        for kind in ("training", "test", "lookup"):
            try:
                source = resolve(path, kind)
            except NotFound:
                continue  # this folder or zip lacks that file (a damaged one is an error, as for the loaders)
            results.append(check_source(source, kind, flip_pairs))
        if not results:
            where = "in this folder" if path.is_dir() else "inside this zip"
            raise NotFound(f"no training, test or IdLookupTable file (or {KAGGLE_ZIP}) {where}"
                           + zipped_annotations(path), str(path))
        return results
    source = Source(path)
    return [check_source(source, _kind(source), flip_pairs)]


def report(paths, errors_only: bool = False, quiet: bool = False, flip_pairs=None, category=None, out=None,
           err=None) -> bool:
    """`facekeypoints data check`: every problem of each path (`check_path`, with `flip_pairs` and `category`)
    printed to `out` (stdout), a summary per file unless `quiet`, and a path that cannot be read said on `err`
    (stderr); each path is checked, whatever the one before it came to. Returns whether any file has errors (or
    could not be read)."""
    out, err = out or sys.stdout, err or sys.stderr
    failed = False
    for path in paths:
        try:
            results = check_path(path, flip_pairs, category)
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


def check_source(source: Source, kind: str, flip_pairs=None) -> CheckResult:
    parsed, problems = PARSERS[kind](source.read(), source.name)
    details = []
    if kind == "training":
        problems = problems + _training_warnings(parsed)
        details = describe(keypoint_set_for(KAGGLE_15.names, KAGGLE_15.name, flip_pairs), parsed.mask, len(parsed))
    elif kind == "test":
        problems = problems + _image_warnings(parsed.images, parsed.lines)
    rows = len(parsed[0]) if isinstance(parsed, tuple) else len(parsed)
    return CheckResult(source.name, kind, rows, sorted(problems, key=lambda p: p.line or 0), details)


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


# ------------------------------------------------------------------------------------------ annotation files

FORMAT_NAMES = {"coco": "COCO keypoints", "dlib": "dlib XML", "300w": "300-W", "kaggle": "Kaggle training"}


@dataclass
class AnnotationCheck(CheckResult):
    """An annotation file read whole (a file that cannot be read raises instead); problems name their face."""

    def problem_lines(self, errors_only: bool = False) -> list[str]:
        return [f"{self.source}: {p.severity}: {p.message}" for p in self.problems
                if p.severity == "error" or not errors_only]

    def summary(self) -> str:
        return (f"{self.source}: {FORMAT_NAMES[self.kind]} file, {self.rows} faces, {self.errors} errors, "
                f"{self.warnings} warnings" + "".join(f"\n  {line}" for line in self.details))


def check_annotations(annotations: Annotations) -> AnnotationCheck:
    """What `data check` says of annotations: faces without a labelled point, points outside their image, images
    that cannot be read (errors), image sizes other than the file says, eyes that look swapped, the same face
    twice; and the description."""
    problems: list[kaggle.Problem] = []
    sizes: dict = {}
    seen: dict[bytes, str] = {}
    kset = annotations.keypoint_set
    eyes = ("left_eye_center", "right_eye_center")
    for face in progress(annotations.faces, desc="checking faces", unit="face"):
        labelled = face.labelled
        if not labelled.any():
            problems.append(kaggle.Problem(None, f"{face.entry}: no point labelled", "warning"))
            continue
        if face.image not in sizes:  # once per image
            try:
                sizes[face.image] = image_size(face)
            except DataError as error:
                sizes[face.image] = None
                problems.append(kaggle.Problem(None, f"{face.entry}: {error.message}"))
            size = sizes[face.image]
            if size is not None and face.size is not None and tuple(face.size) != tuple(size):
                problems.append(kaggle.Problem(None, f"{face.entry}: the file says the image is {face.size[0]}x"
                                               f"{face.size[1]}, the image is {size[0]}x{size[1]}", "warning"))
        size = sizes[face.image]
        if size is not None:
            x, y = face.points[:, 0], face.points[:, 1]
            outside = labelled & ((x < -0.5) | (y < -0.5) | (x > size[0] - 0.5) | (y > size[1] - 0.5))
            if outside.any():
                k = int(np.argmax(outside))
                problems.append(kaggle.Problem(None, f"{face.entry}: {_points(int(outside.sum()))} outside the "
                                               f"{size[0]}x{size[1]} image, e.g. {kset.names[k]} at "
                                               f"({x[k]:g}, {y[k]:g})", "warning"))
        if kset.has(*eyes):
            (left, right), = kset.lookup(face.points[None], eyes)
            if left[0] < right[0]:  # the subject's left eye is on the image's right: larger x
                problems.append(kaggle.Problem(None, f"{face.entry}: left and right eyes look swapped (the left "
                                               "eye's x is smaller)", "warning"))
        key = hashlib.blake2b(str(face.image).encode() + face.points.tobytes(), digest_size=16).digest()
        if key in seen:
            problems.append(kaggle.Problem(None, f"{face.entry}: the same face as {seen[key]}", "warning"))
        seen.setdefault(key, face.entry)
    labelled = np.array([f.labelled for f in annotations.faces], bool).reshape(len(annotations), len(kset))
    details = describe(kset, labelled, len({f.image for f in annotations.faces})) + list(annotations.notes)
    return AnnotationCheck(annotations.source, annotations.format, len(annotations), problems, details)


def describe(kset: KeypointSet, labelled: np.ndarray, images: int) -> list[str]:
    """Lines saying what faces with these labelled points (bool (N, K)) hold, in this keypoint set."""
    n, k = labelled.shape
    shown = ", ".join(kset.names[:4]) + (", ..." if k > 4 else "")
    lines = [f"{n} faces in {images} images", f"keypoint set {kset.name}: {k} points ({shown})"]
    if kset.flip_pairs is None:
        lines.append("flip pairs: none (training will not mirror the faces; give --flip-pairs A:B,... to say them)")
    else:
        pairs = ", ".join(f"{kset.names[a]}:{kset.names[b]}" for a, b in kset.flip_pairs[:3])
        more = ", ..." if len(kset.flip_pairs) > 3 else ""
        lines.append(f"flip pairs: {len(kset.flip_pairs)} ({pairs}{more})")
    counts = Counter(labelled.sum(axis=1).tolist())
    common = counts.most_common(4)
    rest = n - sum(c for _, c in common)
    lines.append("labelled points per face: " + ", ".join(f"{p} in {c} faces" for p, c in common)
                 + (f", other counts in {rest} faces" if rest else ""))
    missing = int((~labelled).sum())
    lines.append(f"unlabelled points: {missing} of {n * k}" + (f" ({100 * missing / (n * k):.1f} %), in "
                                                              f"{int((~labelled).any(axis=1).sum())} faces"
                                                              if missing else ""))
    return lines


def _points(n: int) -> str:
    return f"{n} point{'s' if n != 1 else ''}"
