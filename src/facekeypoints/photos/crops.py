"""From detector boxes to the model's 96x96 grey crops, and from crop pixels back to photo pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..keypoints import IMAGE_SIZE
from .detectors import FaceDetector, Framing, framing_of

MIN_CROP = 40  # a face whose crop is smaller than this (pixels) is reported as too small, not guessed


@dataclass
class Crop:
    """Where a 96x96 face crop came from: crop pixel = (photo pixel - origin) * scale."""

    origin: tuple[float, float]
    side: float  # the crop's side in photo pixels

    @property
    def scale(self) -> float:
        return IMAGE_SIZE / self.side

    @classmethod
    def from_box(cls, box: Sequence[float], framing: Framing) -> Crop:
        """The crop around a detector's box (x, y, w, h), framed as that detector's `framing` says."""
        x, y, w, _ = box
        return cls((x + framing.left * w, y + framing.top * w), framing.side * w)

    def cut(self, grey: np.ndarray) -> np.ndarray:
        """The 96x96 crop of `grey` (edges replicated where the crop leaves the photo)."""
        s = self.scale
        # Pixel centres: crop pixel i sits at photo position origin + (i + 0.5) / s - 0.5.
        matrix = np.array([[s, 0, (0.5 - self.origin[0]) * s - 0.5], [0, s, (0.5 - self.origin[1]) * s - 0.5]])
        interpolation = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(grey, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=interpolation,
                              borderMode=cv2.BORDER_REPLICATE)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Crop pixel coordinates (..., 2) -> photo pixel coordinates."""
        return (np.asarray(points, np.float64) + 0.5) / self.scale - 0.5 + np.asarray(self.origin)


@dataclass
class Found:
    """The faces a detector found in one image, cut into crops for the model (no keypoints yet)."""

    boxes: list[tuple[int, int, int, int]]
    crops: list[Crop]
    usable: list[int]  # indices of the boxes whose crop is large enough for keypoints
    faces: np.ndarray  # uint8 (len(usable), 96, 96): the usable crops, ready for the model


def find_faces(grey: np.ndarray, detector: FaceDetector, min_crop: int = MIN_CROP) -> Found:
    """Detect the faces in a uint8 grey image and cut the 96x96 crop of each one large enough, framed as
    the detector's `framing` says (`framing_of`)."""
    framing = framing_of(detector)
    boxes = [tuple(int(v) for v in box) for box in detector(grey)]
    crops = [Crop.from_box(box, framing) for box in boxes]
    usable = [i for i, crop in enumerate(crops) if crop.side >= min_crop]
    faces = (np.stack([crops[i].cut(grey) for i in usable]) if usable
             else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8))
    return Found(boxes, crops, usable, faces)
