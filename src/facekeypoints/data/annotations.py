"""Annotation files people already have, read into one form (`Annotations`): faces in images, each with its
points in one keypoint set. `read_annotations` knows the format from the path:

- a 300-W style folder: images beside iBUG `.pts` files of the same stem (1-based coordinates);
- COCO keypoints JSON (CVAT and Label Studio export it): `images`, `annotations` with `keypoints`
  [x, y, v, ...] and `bbox`, `categories` with `keypoints` names and `skeleton`; v = 0 is unlabelled;
- dlib's imglab XML (`<images><image file=...><box ...><part name="00" x= y=/>`);
- Kaggle's training CSV (its faces are in the file itself).

Coordinates here are 0-based pixel centres, as everywhere in the package (Kaggle's convention); readers of
1-based formats subtract 1. A malformed file raises a DataError naming the file, the entry and what is
wrong, and nothing is half-loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..keypoints import IBUG_68, KNOWN_SETS, KeypointSet, pairs_from_names, resolve_flip_pairs

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


@dataclass
class AnnotatedFace:
    """One face: where its image is, its points (K, 2) float64 (0-based pixel centres, NaN where unlabelled),
    the box the file gives for it (x, y, w, h; None if none) and how messages name it (`entry`)."""

    image: Path
    points: np.ndarray
    box: tuple[float, float, float, float] | None = None
    entry: str = ""
    pixels: np.ndarray | None = field(default=None, repr=False)  # the image itself, for files that hold it (Kaggle)


@dataclass
class Annotations:
    """The faces of an annotation file or folder, all in one keypoint set."""

    keypoint_set: KeypointSet
    faces: list[AnnotatedFace]
    source: str
    format: str  # "300w", "coco", "dlib" or "kaggle"

    def __len__(self) -> int:
        return len(self.faces)


def keypoint_set_for(names, name: str, flip_pairs=None) -> KeypointSet:
    """The keypoint set of points with these names: a known set when the names are its own (or, for 68 points,
    300-W's numbering "1".."68" / dlib's "00".."67"), else a new set named `name`.

    flip_pairs: "none" (never mirror), pairs of indices or names (`keypoints.parse_flip_pairs`), or None: from a known scheme or from names that say
    left and right; a set where neither tells gets none, and trains without flipping."""
    names = tuple(str(n) for n in names)
    known = next((s for s in KNOWN_SETS.values() if s.names == names), None)
    if known is None and len(names) == len(IBUG_68) and _numbered(names):
        known = IBUG_68
    if known is not None:
        base = known
    else:
        base = KeypointSet(name, names, pairs_from_names(names))
    if flip_pairs is None:
        return base
    pairs = None if flip_pairs == "none" else resolve_flip_pairs(flip_pairs, base.names)
    return KeypointSet(base.name, base.names, pairs, base.mean_shape, base.partial, base.aliases)


def _numbered(names: tuple[str, ...]) -> bool:
    """Whether the names are plain numbers 1..n or 0..n-1 in order (300-W's and dlib's ways of naming points)."""
    if not all(re.fullmatch(r"\d+", n) for n in names):
        return False
    numbers = [int(n) for n in names]
    return numbers in (list(range(1, len(names) + 1)), list(range(len(names))))


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
        faces.append(AnnotatedFace(image, points, None, pts.name))
    names = IBUG_68.names if count == len(IBUG_68) else tuple(f"point_{i}" for i in range(1, count + 1))
    return Annotations(keypoint_set_for(names, f"{folder.name}-{count}", flip_pairs), faces, str(folder), "300w")


def read_annotations(path: str | Path, flip_pairs=None) -> Annotations:
    """The annotations at `path`, in whichever format it is (see the module's docstring)."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", str(path))
    if path.is_dir() and any(path.rglob("*.pts")):
        return read_300w(path, flip_pairs)
    raise DataError("not an annotation file this package reads (a 300-W folder of .pts files, COCO keypoints "
                    ".json, dlib .xml, or Kaggle's training.csv)", str(path))
