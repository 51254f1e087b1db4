"""Annotation files people already have, read into one form (`Annotations`): faces in images, each with its
points in one keypoint set. `read_annotations` knows the format from the path, `write_annotations` writes any
but Kaggle's, and `convert` does both:

- a 300-W style folder: images beside iBUG `.pts` files of the same stem (1-based coordinates);
- COCO keypoints JSON (CVAT and Label Studio export it; `coco.py`);
- dlib's imglab XML (`dlib_xml.py`);
- Kaggle's training CSV (its faces are in the file itself: each face carries its pixels).

Coordinates here are 0-based pixel centres, as everywhere in the package (Kaggle's convention); readers of
1-based formats subtract 1, COCO's reader 0.5 (see coco.py). A malformed file raises a DataError naming the
file, the entry and what is wrong, and nothing is half-loaded. docs/annotations.md is the user's guide.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from .._fs import atomic_folder
from .._media import IMAGE_SUFFIXES
from .._progress import progress
from ..errors import DataError, FacekeypointsError
from ..keypoints import IBUG_68, KEYPOINT_NAMES
from .annotated import AnnotatedFace, Annotations, encode_png, flip_pairs_for, keypoint_set_for, output_names
from .coco import read_coco, write_coco
from .dlib_xml import read_dlib, write_dlib
from .kaggle import KeypointData, load_training
from .sources import KAGGLE_ZIP, NotFound

__all__ = ["AnnotatedFace", "Annotations", "FORMATS", "as_keypoint_data", "convert", "keypoint_set_for",
           "flip_pairs_for", "read_300w", "read_annotations", "read_coco", "read_dlib", "read_kaggle", "read_pts",
           "write_300w", "write_annotations", "write_coco", "write_dlib"]

FORMATS = ("coco", "300w", "dlib")  # what write_annotations writes


# ------------------------------------------------------------------------------------------------ 300-W


def read_pts(path: Path) -> np.ndarray:
    """An iBUG .pts file -> points (n, 2), 0-based (the file's are 1-based)."""
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read: {error}", str(path)) from None
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    header = {}
    body_at = None
    for at, (number, line) in enumerate(lines):
        if line == "{":
            body_at = at + 1
            break
        key, colon, value = line.partition(":")
        if not colon:
            raise DataError(f"expected a header line 'key: value' or '{{', got {line[:60]!r}", str(path), number)
        header[key.strip().lower()] = value.strip()
    if body_at is None:
        raise DataError("no '{' opening the points", str(path))
    count = header.get("n_points")
    if count is None or not count.isdigit():
        raise DataError(f"the header needs 'n_points: N' (got {count!r})", str(path))
    points = []
    for number, line in lines[body_at:]:
        if line == "}":
            break
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            x, y = float(parts[0]), float(parts[1])
            if not (np.isfinite(x) and np.isfinite(y)):
                raise ValueError
        except ValueError:
            raise DataError(f"expected a point 'x y' of two finite numbers, got {line[:60]!r}", str(path),
                            number) from None
        points.append((x - 1, y - 1))
    else:
        raise DataError("no '}' closing the points", str(path))
    if len(points) != int(count):
        raise DataError(f"n_points says {count}, the file holds {len(points)}", str(path))
    return np.array(points, np.float64).reshape(-1, 2)


def read_300w(folder: Path, flip_pairs=None) -> Annotations:
    """A folder (searched recursively) of images beside .pts files of the same stem, as 300-W, HELEN, LFPW and
    AFW are laid out. Every .pts needs its image and every file the same number of points."""
    pts_files = sorted(folder.rglob("*.pts"))
    if not pts_files:
        raise DataError("no .pts files in this folder", str(folder))
    faces, count = [], None
    for pts in pts_files:
        image = next((pts.with_suffix(s) for s in IMAGE_SUFFIXES + tuple(x.upper() for x in IMAGE_SUFFIXES)
                      if pts.with_suffix(s).is_file()), None)
        if image is None:
            raise DataError(f"no image beside it (looked for {', '.join(IMAGE_SUFFIXES)})", str(pts))
        points = read_pts(pts)
        if count is None:
            count = len(points)
        elif len(points) != count:
            raise DataError(f"{len(points)} points where {pts_files[0].name} has {count}: one folder, one "
                            "keypoint set", str(pts))
        faces.append(AnnotatedFace(image, points, None, pts.relative_to(folder).as_posix()))
    names = IBUG_68.names if count == len(IBUG_68) else tuple(f"point_{i}" for i in range(1, count + 1))
    return Annotations(keypoint_set_for(names, f"{folder.name}-{count}", flip_pairs), faces, str(folder), "300w")


def write_300w(annotations: Annotations, folder: str | Path, force: bool = False) -> str:
    """A 300-W style folder: one image and one .pts (1-based) per face, named after the face's image (faces
    that are pixels only: 00001.png, ...; a second face of one image: NAME_2). Written whole into a new folder
    that then takes `folder`'s place; never over an existing one without `force`. .pts files hold every point,
    so faces with unlabelled points are refused (before anything is written)."""
    folder = Path(folder)
    for face in annotations.faces:
        missing = int((~face.labelled).sum())
        if missing:
            unlabelled = sum(int((~f.labelled).any()) for f in annotations.faces)
            raise DataError(f"{face.entry}: {missing} of its {len(face.points)} points are not labelled, and a "
                            f".pts file holds every point ({unlabelled} of the {len(annotations)} faces are so): "
                            "write COCO (.json) or dlib (.xml) instead", annotations.source)
    stems = output_names(annotations.faces, per_face=True)
    with atomic_folder(folder, force) as staged:
        for face, stem in progress(list(zip(annotations.faces, stems)), desc="writing 300-W", unit="face"):
            if face.pixels is not None:
                (staged / f"{stem}.png").write_bytes(encode_png(face.pixels, face.entry))
            else:
                try:
                    shutil.copyfile(face.image, staged / (stem + face.image.suffix))
                except OSError as error:
                    raise DataError(f"{face.entry}: cannot copy its image ({error.strerror})", str(face.image)) \
                        from None
            rows = "".join(f"{_pts_number(x + 1)} {_pts_number(y + 1)}\n" for x, y in face.points.tolist())
            (staged / f"{stem}.pts").write_text(f"version: 1\nn_points: {len(face.points)}\n{{\n{rows}}}\n")
    return f"wrote {folder}: 300-W folder, {len(annotations)} faces (.pts and image each)"


def _pts_number(value: float) -> str:
    """300-W's three decimals where they say the value exactly, else as many digits as it takes."""
    short = f"{value:.3f}"
    return short if float(short) == value else repr(value)


# ------------------------------------------------------------------------------------------------ Kaggle


def read_kaggle(path: str | Path, flip_pairs=None) -> Annotations:
    """Kaggle's training CSV (a folder, the CSV, its zip or Kaggle's zip, as load_training takes it): each face
    carries its 96x96 pixels, its box is the whole crop, its id is its line, and its image is named
    `SOURCE#line-N` (no file)."""
    data = load_training(path)
    keypoint_set = keypoint_set_for(KEYPOINT_NAMES, "kaggle-15", flip_pairs)
    size = float(data.images.shape[-1])
    faces = [AnnotatedFace(Path(f"{data.source}#line-{line}"), points.astype(np.float64), (0.0, 0.0, size, size),
                           f"line {line}", image, int(line))
             for points, image, line in zip(data.keypoints, data.images, data.lines.tolist())]
    return Annotations(keypoint_set, faces, data.source, "kaggle")


def as_keypoint_data(annotations: Annotations) -> KeypointData:
    """Faces of Kaggle's 15 points on 96x96 images (their pixels, or grey image files) as the Kaggle loader gives
    them: the same arrays as load_training's for a Kaggle file written out and read back. `lines` are the faces'
    ids (Kaggle's lines), else their numbers from 1."""
    from ..photos.io import read_image

    if annotations.keypoint_set.names != KEYPOINT_NAMES:
        raise DataError(f"keypoint set {annotations.keypoint_set.name!r}, not Kaggle's 15 points",
                        annotations.source)
    images = np.zeros((len(annotations), 96, 96), np.uint8)
    for i, face in enumerate(annotations.faces):
        pixels = face.pixels if face.pixels is not None else read_image(face.image)
        if pixels.shape != (96, 96):
            raise DataError(f"{face.entry}: the image is {pixels.shape[1]}x{pixels.shape[0]}, not Kaggle's 96x96",
                            annotations.source)
        images[i] = pixels
    keypoints = annotations.points().astype(np.float32).reshape(-1, len(KEYPOINT_NAMES), 2)
    ids = [f.id for f in annotations.faces]
    lines = np.array(ids if None not in ids else range(1, len(ids) + 1), np.int64)
    return KeypointData(images, keypoints, ~np.isnan(keypoints).any(axis=2), lines, annotations.source,
                        annotations.keypoint_set)


# ------------------------------------------------------------------------------------------------ any format


def annotation_format(path: str | Path) -> str | None:
    """Which format `path` is in, from its name (and a folder's files): "coco", "dlib", "300w", "kaggle", or None."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        if any((path / name).is_file() for name in ("training.csv", "training.zip", KAGGLE_ZIP)):
            return "kaggle"
        return "300w" if next(path.rglob("*.pts"), None) is not None else None
    return {".json": "coco", ".xml": "dlib", ".csv": "kaggle", ".zip": "kaggle"}.get(suffix)


def zipped_annotations(path: Path) -> str:
    """For a zip that is not Kaggle's: "" or a hint naming the annotation files inside (a CVAT export)."""
    if path.suffix.lower() != ".zip":
        return ""
    try:
        with zipfile.ZipFile(path) as archive:
            inside = [n for n in archive.namelist() if n.lower().endswith((".json", ".xml", ".pts"))]
    except (zipfile.BadZipFile, OSError):
        return ""
    if not inside:
        return ""
    return (f"; it holds {inside[0]}" + (f" and {len(inside) - 1} more annotation files" if len(inside) > 1 else "")
            + ": unzip it and give that file (or the folder of .pts files)")


def read_annotations(path: str | Path, flip_pairs=None, category=None) -> Annotations:
    """The annotations at `path`, in whichever format it is: a folder with .pts files (300-W), .json (COCO),
    .xml (dlib), .csv, .zip or a folder with training.csv (Kaggle). `flip_pairs`: see keypoint_set_for;
    `category`: COCO's keypoint category (name or id) where a file has several."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", str(path))
    kind = annotation_format(path)
    if kind == "coco":
        return read_coco(path, flip_pairs, category)
    if kind == "dlib":
        return read_dlib(path, flip_pairs)
    if kind == "300w":
        return read_300w(path, flip_pairs)
    if kind == "kaggle":
        try:
            return read_kaggle(path, flip_pairs)
        except NotFound as error:
            raise DataError(error.message + zipped_annotations(path), error.path) from None
    raise DataError("not an annotation file this package reads (a 300-W folder of .pts files, COCO keypoints "
                    ".json, dlib .xml, or Kaggle's training.csv)", str(path))


def write_annotations(annotations: Annotations, path: str | Path, to: str | None = None, force: bool = False) -> str:
    """Write the annotations as `to` ("coco", "300w" or "dlib"; default: from the path, .json COCO, .xml dlib,
    anything else a 300-W folder). Returns a one-line summary."""
    path = Path(path)
    if to is None and path.suffix.lower() in (".csv", ".zip"):
        raise FacekeypointsError(f"{path}: Kaggle's CSV is read, not written: give NAME.json (COCO), NAME.xml (dlib) "
                                 "or a folder (300-W)")
    if to is None:
        to = {".json": "coco", ".xml": "dlib"}.get(path.suffix.lower(), "300w")
    if to not in FORMATS:
        raise FacekeypointsError(f"cannot write {to!r}: the formats written are {', '.join(FORMATS)}")
    if to == "300w" and path.suffix.lower() in (".json", ".xml", ".csv", ".zip"):
        raise FacekeypointsError(f"{path}: a 300-W folder is a folder; give a folder name, not a {path.suffix} file")
    writer = {"coco": write_coco, "300w": write_300w, "dlib": write_dlib}[to]
    return writer(annotations, path, force)


def convert(source: str | Path, target: str | Path, to: str | None = None, force: bool = False, flip_pairs=None,
            category=None) -> str:
    """`facekeypoints data convert`: read `source` in its format, write `target` in `to`'s (or its suffix's)."""
    if Path(source).resolve() == Path(target).resolve():
        raise FacekeypointsError(f"{target}: the output is the input")
    annotations = read_annotations(source, flip_pairs, category)
    return write_annotations(annotations, target, to, force)
