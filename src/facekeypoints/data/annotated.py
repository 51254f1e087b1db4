"""The one form every annotation format is read into (`Annotations` of `AnnotatedFace`s), the keypoint set of a
file's point names (`keypoint_set_for`), a user's mirror pairs (`flip_pairs_for`), and what the readers and
writers of the formats share (finding images, their sizes, boxes, numbers).

Conventions, the package's everywhere: points are 0-based pixel centres (the centre of the top-left pixel is
(0, 0)); boxes (x, y, w, h) are in pixel edges (a box (0, 0, 96, 96) covers a whole 96x96 image).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..errors import DataError, FacekeypointsError
from ..keypoints import IBUG_68, KNOWN_SETS, KeypointSet, pairs_from_names, parse_flip_pairs


@dataclass
class AnnotatedFace:
    """One face: where its image is, its points (K, 2) float64 (0-based pixel centres, NaN where unlabelled),
    the box the file gives for it (x, y, w, h in pixel edges; None if none) and how messages name it (`entry`).

    pixels: the image itself (uint8), for files that hold it (Kaggle's CSV); `image` is then a name, not a file.
    id:     the face's number in its file where it has one (Kaggle's CSV line, COCO's annotation id): writers
            keep it where their format has a place for it, so Kaggle -> COCO -> Kaggle keeps the lines.
    size:   the image's (width, height) as the file states it (COCO's), for `data check` to compare.
    """

    image: Path
    points: np.ndarray
    box: tuple[float, float, float, float] | None = None
    entry: str = ""
    pixels: np.ndarray | None = field(default=None, repr=False)
    id: int | None = None
    size: tuple[int, int] | None = None

    @property
    def labelled(self) -> np.ndarray:
        """bool (K,): which points are labelled."""
        return ~np.isnan(self.points).any(axis=1)


@dataclass
class Annotations:
    """The faces of an annotation file or folder, all in one keypoint set, in the file's order.

    notes: what the reader left out on purpose, said in words (boxes marked ignore, other categories, images
    without faces): `data check` prints them."""

    keypoint_set: KeypointSet
    faces: list[AnnotatedFace]
    source: str
    format: str  # "300w", "coco", "dlib" or "kaggle"
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.faces)

    def points(self) -> np.ndarray:
        """float64 (N, K, 2): every face's points."""
        return np.stack([f.points for f in self.faces]) if self.faces else np.zeros((0, len(self.keypoint_set), 2))


# --------------------------------------------------------------------------------------------- keypoint sets


def keypoint_set_for(names, name: str, flip_pairs=None) -> KeypointSet:
    """The keypoint set of points with these names: a known set when the names are its own (or, for 68 points,
    300-W's numbering "1".."68" / dlib's "00".."67"), else a new set named `name`.

    flip_pairs: None (from a known scheme, or from names that say left and right; a set where neither tells gets
    none, and trains without flipping), "none" (never mirror), a user's string ("0:16,1:15",
    "left_eye:right_eye"), or pairs of indices or names (`keypoints.parse_flip_pairs`): see `flip_pairs_for`."""
    names = tuple(str(n) for n in names)
    known = next((s for s in KNOWN_SETS.values() if s.names == names), None)
    if known is None and len(names) == len(IBUG_68) and _numbered(names):
        known = IBUG_68
    base = known if known is not None else KeypointSet(name, names, pairs_from_names(names))
    pairs = flip_pairs_for(flip_pairs, base.names)
    if pairs is None:
        return base
    return KeypointSet(base.name, base.names, None if pairs == "none" else pairs, base.mean_shape, base.partial,
                       base.aliases)


def _numbered(names: tuple[str, ...]) -> bool:
    """Whether the names are plain numbers 1..n or 0..n-1 in order (300-W's and dlib's ways of naming points)."""
    if not all(re.fullmatch(r"\d+", n) for n in names):
        return False
    numbers = [int(n) for n in names]
    return numbers in (list(range(1, len(names) + 1)), list(range(len(names))))


def flip_pairs_for(spec, names) -> tuple[tuple[int, int], ...] | str | None:
    """Mirror pairs as a user gives them (`--flip-pairs`), checked against the set's point names:

    None, "" or "auto" -> None (from the scheme or the names); "none" -> "none" (never mirror); a string of
    pairs separated by commas, each two points joined by ':', or pairs already split (`keypoints.parse_flip_pairs`),
    each point a name or a 0-based index ("0:16,1:15", "left_eye:right_eye") -> index pairs. A point that is not
    in the set (with the nearest name), a point paired with itself or twice are FacekeypointsErrors saying which."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "auto")):
        return None
    if isinstance(spec, str):
        spec = parse_flip_pairs(spec)
    if isinstance(spec, str):  # "none"
        return "none"
    names = tuple(str(n) for n in names)
    index = {n: i for i, n in enumerate(names)}

    def point(item, pair: str) -> int:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        item = str(item).strip()
        if item in index:  # a name first: dlib's points are named "00", "01", ...
            return index[item]
        if re.fullmatch(r"\d+", item):
            if int(item) >= len(names):
                raise FacekeypointsError(f"flip pairs: {pair!r}: point {item} is out of range: the set has "
                                         f"{len(names)} points, 0..{len(names) - 1}")
            return int(item)
        close = difflib.get_close_matches(item, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise FacekeypointsError(f"flip pairs: {pair!r}: no point named {item!r} in the set{hint}")

    pairs, seen = [], {}
    for pair in spec:
        if len(pair) != 2:
            raise FacekeypointsError(f"flip pairs: {pair!r} is not a pair of two points")
        text = f"{pair[0]}:{pair[1]}"
        a, b = point(pair[0], text), point(pair[1], text)
        if a == b:
            raise FacekeypointsError(f"flip pairs: {text!r} pairs point {a} with itself (points on the middle line "
                                     "map to themselves: leave them out)")
        for i in (a, b):
            if i in seen:
                raise FacekeypointsError(f"flip pairs: point {i} ({names[i]}) is in {seen[i]!r} and again in "
                                         f"{text!r}")
            seen[i] = text
        pairs.append((a, b))
    return tuple(pairs)


# --------------------------------------------------------------------------------------------- shared parts


_DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")  # 12, -1.5, .5, 1e3: not 1_0, nan, inf


def number(value, what: str) -> float:
    """A finite number: an XML attribute's decimal text, or a JSON number (bool is not one; a JSON decimal comes
    as a Decimal), else ValueError saying what it is."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"{what} {value[:40]!r} is not a number")
    elif isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{what} {value!r} is not a number")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return result


def find_image(name: str, folders: tuple[Path, ...]) -> Path | None:
    """The image file `name` (absolute, or relative to the first of `folders` that holds it); None if none."""
    path = Path(name)
    if path.is_absolute():
        return path if path.is_file() else None
    return next((f / path for f in folders if (f / path).is_file()), None)


def image_size(face: AnnotatedFace) -> tuple[int, int]:
    """(width, height) of a face's image: from its pixels, else from the file's header (no pixel decoded)."""
    if face.pixels is not None:
        return face.pixels.shape[1], face.pixels.shape[0]
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(face.image) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{face.entry}: cannot read the image's size ({error})", str(face.image)) from None


def face_box(face: AnnotatedFace, size: tuple[int, int] | None = None) -> tuple[float, float, float, float]:
    """The face's box, or where it has none: the whole image for a face that is its image (a crop, Kaggle's),
    else the rectangle through its outermost labelled points (in pixel edges), else the whole image."""
    if face.box is not None:
        return face.box
    labelled = face.points[face.labelled]
    if face.pixels is None and len(labelled):
        (x0, y0), (x1, y1) = labelled.min(axis=0) + 0.5, labelled.max(axis=0) + 0.5
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
    width, height = size if size is not None else image_size(face)
    return 0.0, 0.0, float(width), float(height)


def encode_png(pixels: np.ndarray, what: str) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels))
    if not ok:
        raise DataError("cannot encode the image as PNG", what)
    return encoded.tobytes()


def output_names(faces: list[AnnotatedFace], per_face: bool = False) -> list[str]:
    """A file stem for each face's image (faces of one image share it, unless `per_face`: 300-W's one .pts per
    image): the image's own stem, the face's number (00001, ...) for images that are pixels only, and `_2`,
    `_3`, ... where two would clash."""
    stems: dict[object, str] = {}
    taken: set[str] = set()
    out = []
    for number_, face in enumerate(faces, start=1):
        key = number_ if per_face else face.image
        if key not in stems:
            stem = f"{number_:05d}" if face.pixels is not None else face.image.stem
            candidate, k = stem, 1
            while candidate in taken:
                k += 1
                candidate = f"{stem}_{k}"
            stems[key] = candidate
            taken.add(candidate)
        out.append(stems[key])
    return out
