"""Keypoint sets: which points a model predicts, as data (`KeypointSet`), and the two the package knows.

`KAGGLE_15` is the Kaggle "Facial Keypoints Detection" competition's 15 points in Kaggle's column order; the
module-level constants below (NUM_KEYPOINTS, FLIP_PAIRS, ...) are that set's, for the Kaggle files. `IBUG_68`
is the 68-point iBUG scheme of 300-W, which dlib and face-alignment output. A set travels with every model
trained on it (checkpoint, codec settings, ONNX metadata), so a model file alone says what it predicts.

"left" and "right" are the subject's: the left eye sits on the image's right-hand side.
This module is the one place where names, columns and left/right pairs are defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import FacekeypointsError

IMAGE_SIZE = 96  # Kaggle's faces are 96x96 grey images

KEYPOINT_NAMES: tuple[str, ...] = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)

# Where each keypoint lies in Kaggle's crops on average: the mean of the 15-keypoint faces' labels in the shared
# training.csv (1655 faces; tests/test_real_data.py checks it). Crops fitted to a face's keypoints put them here.
MEAN_SHAPE: tuple[tuple[float, float], ...] = (
    (66.23, 36.82), (29.64, 37.07), (59.27, 37.84), (73.39, 37.61), (36.59, 37.91), (22.35, 38.05), (56.13, 29.20),
    (79.61, 29.62), (39.28, 29.41), (15.75, 30.44), (47.97, 57.19), (63.44, 75.90), (33.00, 76.15), (48.10, 72.71),
    (48.18, 82.60))

# The 30 coordinate columns of training.csv and the FeatureName values of IdLookupTable.csv.
COORDINATE_COLUMNS: tuple[str, ...] = tuple(f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in "xy")
COLUMN_INDEX: dict[str, tuple[int, int]] = {
    col: (i // 2, i % 2) for i, col in enumerate(COORDINATE_COLUMNS)
}  # column -> (keypoint index, axis 0=x 1=y)

# Index pairs that swap under a horizontal flip of the image.
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (KEYPOINT_NAMES.index(left), KEYPOINT_NAMES.index(left.replace("left", "right")))
    for left in KEYPOINT_NAMES
    if "left" in left
)
# FLIP_PERMUTATION[i] is the keypoint that i becomes in the mirrored image.
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    next((b if i == a else a for a, b in FLIP_PAIRS if i in (a, b)), i) for i in range(NUM_KEYPOINTS)
)

# Most training images carry only these four keypoints (a second collection with its own conventions,
# see the data README); the rest carry all 15.
PARTIAL_KEYPOINTS: tuple[int, ...] = tuple(
    KEYPOINT_NAMES.index(n) for n in ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
)


# The mask (labelled or requested keypoints) of a face of the 4-keypoint collection.
FOUR_POINT_PATTERN: tuple[bool, ...] = tuple(k in PARTIAL_KEYPOINTS for k in range(NUM_KEYPOINTS))


def four_point_faces(mask, keypoint_set=None):
    """bool (N,): which rows of a (N, K) labelled/requested mask are exactly the second (4-keypoint) convention's
    of `keypoint_set` (default: Kaggle's); all False for a set without one."""
    import numpy as np

    mask = np.asarray(mask, bool)
    partial = PARTIAL_KEYPOINTS if keypoint_set is None else keypoint_set.partial
    if not partial or mask.shape[1:] != ((NUM_KEYPOINTS,) if keypoint_set is None else (len(keypoint_set),)):
        return np.zeros(len(mask), bool)
    pattern = np.zeros(mask.shape[1], bool)
    pattern[list(partial)] = True
    return (mask == pattern).all(axis=1)


def pattern_name(count: int) -> str:
    """Name of an image's label pattern from the number of its labelled keypoints."""
    if count == NUM_KEYPOINTS:
        return "15 keypoints"
    if count == len(PARTIAL_KEYPOINTS):
        return "4 keypoints"
    return "other"


# ------------------------------------------------------------------------------------------------- sets


@dataclass(frozen=True)
class KeypointSet:
    """A set of keypoints as data: what a model predicts, and all the rest of the package needs to know of it.

    names:      the points, in the model's output order.
    flip_pairs: index pairs that swap when the image is mirrored (every other point maps to itself); None when
                nobody said, and then training does not flip (mirroring with wrong pairs teaches a model to
                swap its eyes).
    mean_shape: where each point lies on average in a 96x96 training crop (x, y): crops fitted to a face's
                keypoints (video tracking) put them there. None until a training set gives it.
    partial:    the points of a second labelling convention in the same data that get heads of their own (the
                Kaggle data's 4-keypoint faces); () for most sets.
    aliases:    other names a point answers to, each the mean of some points: how pose, alignment and drawing,
                which ask for Kaggle's names (eye centres, nose tip, mouth corners), find them in any set.
    """

    name: str
    names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...] | None = None
    mean_shape: tuple[tuple[float, float], ...] | None = None
    partial: tuple[int, ...] = ()
    aliases: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        n = len(self.names)
        if n == 0:
            raise FacekeypointsError(f"keypoint set {self.name!r} has no keypoints")
        doubled = sorted({x for x in self.names if self.names.count(x) > 1})
        if doubled:
            raise FacekeypointsError(f"keypoint set {self.name!r} names {', '.join(doubled)} twice")
        if self.flip_pairs is not None:
            pairs = tuple((int(a), int(b)) for a, b in self.flip_pairs)
            flat = [i for pair in pairs for i in pair]
            if any(not 0 <= i < n for i in flat) or len(set(flat)) != len(flat) or any(a == b for a, b in pairs):
                raise FacekeypointsError(f"keypoint set {self.name!r}: flip pairs {pairs} must pair distinct "
                                         f"points among 0..{n - 1}, each at most once")
            object.__setattr__(self, "flip_pairs", pairs)
        if self.mean_shape is not None:
            shape = tuple((float(x), float(y)) for x, y in self.mean_shape)
            if len(shape) != n:
                raise FacekeypointsError(f"keypoint set {self.name!r}: mean shape of {len(shape)} points, not {n}")
            object.__setattr__(self, "mean_shape", shape)
        partial = tuple(int(i) for i in self.partial)
        if any(not 0 <= i < n for i in partial) or len(set(partial)) != len(partial):
            raise FacekeypointsError(f"keypoint set {self.name!r}: partial points {partial} out of 0..{n - 1}")
        object.__setattr__(self, "partial", partial)
        aliases = {str(k): tuple(int(i) for i in v) for k, v in dict(self.aliases).items()}
        if any(not v or not all(0 <= i < n for i in v) for v in aliases.values()):
            raise FacekeypointsError(f"keypoint set {self.name!r}: an alias names a point out of 0..{n - 1}")
        object.__setattr__(self, "aliases", aliases)

    def __len__(self) -> int:
        return len(self.names)

    def __hash__(self) -> int:
        return hash((self.name, self.names, self.flip_pairs))

    def __repr__(self) -> str:
        return f"KeypointSet({self.name!r}, {len(self)} points)"

    @property
    def can_flip(self) -> bool:
        return self.flip_pairs is not None

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """flip_permutation[i]: the point that i becomes in the mirrored image (identity for a set without pairs,
        which is never mirrored)."""
        perm = list(range(len(self)))
        for a, b in self.flip_pairs or ():
            perm[a], perm[b] = b, a
        return tuple(perm)

    def index(self, name: str) -> tuple[int, ...]:
        """The points a name stands for: its own index, or an alias's points; KeyError if the set has neither."""
        if name in self.names:
            return (self.names.index(name),)
        if name in self.aliases:
            return self.aliases[name]
        raise KeyError(name)

    def has(self, *names: str) -> bool:
        return all(n in self.names or n in self.aliases for n in names)

    def lookup(self, points, names: Sequence[str], purpose: str = ""):
        """Points (..., K, 2) of this set -> (..., len(names), 2) for the named points (aliases averaged).
        A name the set lacks is a FacekeypointsError saying what `purpose` needed it."""
        import numpy as np

        self.lookup_names(names, purpose or "this")
        points = np.asarray(points, np.float64)
        return np.stack([points[..., list(self.index(n)), :].mean(axis=-2) for n in names], axis=-2)

    def lookup_names(self, names: Sequence[str], purpose: str) -> tuple[str, ...]:
        """`names`, checked: a FacekeypointsError saying what `purpose` needs when the set lacks any of them."""
        missing = [n for n in names if not self.has(n)]
        if missing:
            raise FacekeypointsError(f"{purpose} needs the keypoints {', '.join(names)}; the model's keypoint set "
                                     f"{self.name!r} has no {', '.join(missing)}")
        return tuple(names)

    def with_mean_shape(self, mean_shape) -> "KeypointSet":
        return KeypointSet(self.name, self.names, self.flip_pairs, tuple(map(tuple, mean_shape)), self.partial,
                           self.aliases)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, strings and numbers: JSON, checkpoints (weights_only) and ONNX metadata hold it."""
        return {"name": self.name, "names": list(self.names),
                "flip_pairs": None if self.flip_pairs is None else [list(p) for p in self.flip_pairs],
                "mean_shape": None if self.mean_shape is None else [list(p) for p in self.mean_shape],
                "partial": list(self.partial), "aliases": {k: list(v) for k, v in self.aliases.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "KeypointSet":
        """The set `to_dict` wrote; None (a model saved before sets were data) is Kaggle's 15."""
        if data is None:
            return KAGGLE_15
        if isinstance(data, KeypointSet):
            return data
        try:
            return cls(str(data["name"]), tuple(data["names"]), data.get("flip_pairs"), data.get("mean_shape"),
                       tuple(data.get("partial") or ()), data.get("aliases") or {})
        except (KeyError, TypeError, ValueError) as error:
            raise FacekeypointsError(f"not a keypoint set ({type(error).__name__}: {error})") from None


def pairs_from_names(names: Sequence[str]) -> tuple[tuple[int, int], ...] | None:
    """Flip pairs read from names that say left and right (left_eye / right_eye, l_ear / r_ear, LeftEye /
    RightEye): None when no name says a side, or when some side has no partner (better no flip than a wrong one)."""
    sides = (("left", "right"), ("Left", "Right"), ("LEFT", "RIGHT"))
    pairs, paired = [], set()
    index = {n: i for i, n in enumerate(names)}
    for i, name in enumerate(names):
        other = None
        for left, right in sides:
            if left in name:
                other = name.replace(left, right)
            elif right in name:
                other = name.replace(right, left)
            if other is not None:
                break
        if other is None:
            short = re.fullmatch(r"([lr])([_\-.].*)", name, re.I)  # l_eye / r_eye
            if short:
                swap = {"l": "r", "r": "l", "L": "R", "R": "L"}[short.group(1)]
                other = swap + short.group(2)
        if other is None:
            continue
        if other not in index:
            return None
        if i not in paired:
            pairs.append((i, index[other]))
            paired.update((i, index[other]))
    return tuple(pairs) or None


def parse_flip_pairs(text: str | None):
    """`--flip-pairs` as given: None (not given), "none" (never mirror) or pairs "a:b,c:d" of indices (0-based)
    or names -> None, "none" or ((a, b), ...) of str, resolved against a set's names by `resolve_flip_pairs`."""
    if text is None:
        return None
    text = text.strip()
    if text.lower() == "none":
        return "none"
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        a, colon, b = item.partition(":")
        if not colon or not a.strip() or not b.strip():
            raise FacekeypointsError(f"--flip-pairs: expected pairs 'a:b' (indices or names) separated by commas, "
                                     f"or 'none', got {item!r}")
        pairs.append((a.strip(), b.strip()))
    if not pairs:
        raise FacekeypointsError("--flip-pairs: no pairs given (use 'none' to never mirror)")
    return tuple(pairs)


def resolve_flip_pairs(pairs, names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Pairs of indices or names (`parse_flip_pairs`) -> index pairs into `names`; unknown ones are an error."""
    out = []
    for pair in pairs:
        indices = []
        for item in pair:
            item = str(item)
            if item in names:
                indices.append(list(names).index(item))
            elif item.isdigit() and int(item) < len(names):
                indices.append(int(item))
            else:
                raise FacekeypointsError(f"--flip-pairs: {item!r} is neither a keypoint's name nor an index "
                                         f"0..{len(names) - 1}")
        out.append(tuple(indices))
    return tuple(out)


def shared_points(model_set: KeypointSet, data_set: KeypointSet) -> tuple[tuple[int, ...], tuple[int, ...],
                                                                             tuple[str, ...]]:
    """The points two keypoint sets both have, as (the first set's indices, the second's, their names): all of
    them when the sets are one; else those one names that the other names, or gives as a one-point alias (a
    model's points scored on data of another set; the heads `--init` carries over)."""
    if model_set.names == data_set.names:
        every = tuple(range(len(data_set)))
        return every, every, data_set.names
    ours, theirs, names = [], [], []
    for i, name in enumerate(model_set.names):
        if name in data_set.names:
            j = data_set.names.index(name)
        elif len(data_set.aliases.get(name, ())) == 1:
            j = data_set.aliases[name][0]
        else:
            continue
        ours.append(i), theirs.append(j), names.append(name)
    for j, name in enumerate(data_set.names):  # a data set's point the model names by one-point alias
        if j not in theirs and len(model_set.aliases.get(name, ())) == 1:
            ours.append(model_set.aliases[name][0]), theirs.append(j), names.append(name)
    return tuple(ours), tuple(theirs), tuple(names)


KAGGLE_15 = KeypointSet(
    "kaggle-15", KEYPOINT_NAMES, FLIP_PAIRS, MEAN_SHAPE, PARTIAL_KEYPOINTS,
    aliases={})


def _ibug_68() -> KeypointSet:
    """300-W's 68 points (1-based in its files, 0-based here): jaw 1-17, brows 18-27, nose 28-36, eyes 37-48,
    mouth 49-68, the subject's right side first. Aliases give Kaggle's names (their nearest points)."""
    names = ([f"jaw_{i:02d}" for i in range(1, 18)] + [f"right_eyebrow_{i}" for i in range(1, 6)]
             + [f"left_eyebrow_{i}" for i in range(1, 6)] + [f"nose_bridge_{i}" for i in range(1, 5)]
             + [f"nose_base_{i}" for i in range(1, 6)] + [f"right_eye_{i}" for i in range(1, 7)]
             + [f"left_eye_{i}" for i in range(1, 7)] + [f"outer_lip_{i:02d}" for i in range(1, 13)]
             + [f"inner_lip_{i}" for i in range(1, 9)])
    mirror = {}

    def pair(a, b):  # 1-based, as the scheme is drawn
        mirror[a - 1], mirror[b - 1] = b - 1, a - 1

    for i in range(1, 9):
        pair(i, 18 - i)  # jaw
    for i in range(5):
        pair(18 + i, 27 - i)  # brows
    pair(32, 36), pair(33, 35)  # nostrils
    for a, b in ((37, 46), (38, 45), (39, 44), (40, 43), (41, 48), (42, 47)):
        pair(a, b)  # eyes: outer corner 37 <-> 46, inner 40 <-> 43
    for a, b in ((49, 55), (50, 54), (51, 53), (56, 60), (57, 59), (61, 65), (62, 64), (66, 68)):
        pair(a, b)  # mouth: corners 49 <-> 55, inner corners 61 <-> 65
    pairs = tuple(sorted((a, b) for a, b in mirror.items() if a < b))
    one = lambda *points: tuple(p - 1 for p in points)  # noqa: E731
    aliases = {
        "right_eye_center": one(37, 38, 39, 40, 41, 42), "left_eye_center": one(43, 44, 45, 46, 47, 48),
        "right_eye_outer_corner": one(37), "right_eye_inner_corner": one(40),
        "left_eye_inner_corner": one(43), "left_eye_outer_corner": one(46),
        "right_eyebrow_outer_end": one(18), "right_eyebrow_inner_end": one(22),
        "left_eyebrow_inner_end": one(23), "left_eyebrow_outer_end": one(27),
        "nose_tip": one(31), "mouth_right_corner": one(49), "mouth_left_corner": one(55),
        "mouth_center_top_lip": one(52), "mouth_center_bottom_lip": one(58),
    }
    return KeypointSet("ibug-68", tuple(names), pairs, None, (), aliases)


IBUG_68 = _ibug_68()
KNOWN_SETS: dict[str, KeypointSet] = {s.name: s for s in (KAGGLE_15, IBUG_68)}
