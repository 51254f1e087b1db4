"""What a face detector gives (`Detection`: a box, a score, facial points) and how a box maps to the crop the
model was trained on (`Framing`).

A detector is any callable from a BGR uint8 image (H, W, 3) to detections: `Detection`s, or plain boxes
(x, y, w, h). The model was trained on Kaggle's 96x96 crops, which are framed in one particular way: a detector
whose boxes are framed differently says how with a `Framing`, on each `Detection` or as its own `framing`
attribute, so that its boxes can be turned into crops framed like Kaggle's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

# Without a size asked for, detectors look for faces down to this fraction of the image's long side, and not
# under FLOOR pixels: the time they take grows with the image's pixels over the smallest face's, and this keeps a
# 640x480 photo (faces from 32 px) within 15 ms end to end and a 2000x1334 one (from 100 px) near 50 ms, most of
# it decoding (`python benchmarks/photos.py`). Ask for smaller faces with `min_size`.
AUTO_FRACTION, AUTO_FLOOR = 1 / 20, 24

# The six points BlazeFace gives, in its order. "right" is the person's right: on the image's left when they face
# the camera.
DETECTION_POINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True)
class Framing:
    """The square crop to cut around a detection, in units of its size w (`Detection.size`: the box's width, or
    for a detection with points the eye distance plus the eyes' distance to the mouth, which do not change when
    the face turns in the image plane, as its box does).

    Take the square of side w about the box's centre, at x, y: the crop's left edge is at x + left * w, its top
    edge at y + top * w, and its side is side * w. For a turned face (a `Detection` with an angle) this holds in
    the face's own frame: the crop turns with the face about the box's centre. `Framing()` (0, 0, 1) takes the box
    itself as the crop.
    """

    left: float = 0.0
    top: float = 0.0
    side: float = 1.0

    def __post_init__(self) -> None:
        if not self.side > 0:
            raise ValueError(f"a framing's side must be positive, got {self.side}")


IDENTITY_FRAMING = Framing()


@dataclass(frozen=True)
class Detection:
    """One face found by a detector, in the image's pixels.

    box: x, y, w, h (x, y: the top-left corner's edge). score: the detector's confidence in [0, 1] (NaN where it
    gives none). points: the person's eyes, nose tip, mouth and ear tragions as (6, 2) x, y, in `DETECTION_POINTS`
    order, or None. framing: how the box maps to a Kaggle-like crop.
    """

    box: tuple[float, float, float, float]
    score: float = float("nan")
    points: np.ndarray | None = field(default=None, repr=False, compare=False)
    framing: Framing = IDENTITY_FRAMING

    @property
    def size(self) -> float:
        """The unit its `framing` is in: the box's width; for a detection with points, the distance between the
        eyes plus the distance from their midpoint to the mouth (as the face turns in the image plane the box
        shrinks, by 13 % at 30 degrees for BlazeFace, and these do not)."""
        if self.points is None:
            return self.box[2]
        right, left, mouth = self.points[0], self.points[1], self.points[3]
        return float(np.hypot(*(left - right)) + np.hypot(*((left + right) / 2 - mouth)))

    @property
    def angle(self) -> float:
        """How far the face is turned in the image plane, in degrees: the angle of the line from the person's
        right eye to their left eye (0: upright, positive: clockwise on screen). 0 without points."""
        if self.points is None:
            return 0.0
        (rx, ry), (lx, ly) = self.points[0], self.points[1]
        return math.degrees(math.atan2(ly - ry, lx - rx))


class FaceDetector(Protocol):
    """Anything that finds faces: BGR image (H, W, 3) uint8 -> `Detection`s or boxes (x, y, w, h) in pixels.

    Plain boxes are framed by the detector's `framing` attribute (a `Framing`) if it has one, else taken as the
    crops themselves.
    """

    def __call__(self, image: np.ndarray) -> Sequence[Detection | Sequence[float]]: ...


# A detector may also have `detect_batch(images) -> [answers of each image]`, for `detection.detect_images`.


def framing_of(detector: FaceDetector) -> Framing:
    """The framing of a detector's plain boxes: its own `framing` attribute, else the box as the crop."""
    framing = getattr(detector, "framing", None)
    if framing is None:
        return IDENTITY_FRAMING
    return framing if isinstance(framing, Framing) else Framing(*framing)


def as_detection(found: Detection | Sequence[float], framing: Framing = IDENTITY_FRAMING) -> Detection:
    """A detector's answer as a `Detection`: a plain box (x, y, w, h) gets `framing`."""
    if isinstance(found, Detection):
        return found
    box = tuple(float(v) for v in found)
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"a face box is x, y, width, height with a positive width and height, got {list(found)}")
    return Detection(box, framing=framing)  # type: ignore[arg-type]


def ious(one: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Intersection over union of a box with each of several, all as corners (x0, y0, x1, y1)."""
    inter = np.prod(np.clip(np.minimum(one[2:], corners[:, 2:]) - np.maximum(one[:2], corners[:, :2]), 0, None),
                    axis=1)
    area = np.prod(one[2:] - one[:2])
    return inter / (area + np.prod(corners[:, 2:] - corners[:, :2], axis=1) - inter)


def smallest_face(shape: tuple[int, ...], min_size: float | None) -> float:
    """The smallest face (box width, pixels) to look for in an image of this shape: `min_size` if given, else
    `AUTO_FRACTION` of its long side but at least `AUTO_FLOOR` pixels."""
    if min_size is not None:
        return float(min_size)
    return max(AUTO_FLOOR, max(shape[:2]) * AUTO_FRACTION)


def detect(detector: FaceDetector, image: np.ndarray) -> list[Detection]:
    """The detector's faces in a BGR uint8 image, as `Detection`s, largest first."""
    return detect_images(detector, [image])[0]


def detect_images(detector: FaceDetector, images: Sequence[np.ndarray]) -> list[list[Detection]]:
    """`detect` for each of several BGR uint8 images: in one call of the detector's `detect_batch(images)` where
    it has one (BlazeFace runs its networks batched over the images), else image by image."""
    framing = framing_of(detector)
    batched = getattr(detector, "detect_batch", None)
    answers = batched(list(images)) if batched is not None else [detector(image) for image in images]
    return [sorted((as_detection(one, framing) for one in found), key=lambda d: -d.box[2] * d.box[3])
            for found in answers]
