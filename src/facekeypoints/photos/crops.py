"""From detector boxes to the model's 96x96 grey crops, and from crop pixels back to photo pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..keypoints import IMAGE_SIZE
from .detectors import FaceDetector, Framing, framing_of

MIN_CROP = 40  # a face whose crop is smaller than this (pixels) is reported as too small, not guessed

# Larger images are scanned for faces shrunk toward this many pixels, the boxes mapped back, the crops cut at full
# size. The Haar detector's time grows with the pixels (about 1 s for gus.jpg's 2.7 MP here; 16000x16000 took 26 s
# and 20000x20000 crashed it). The shrink stops where a face just large enough for keypoints (min_crop) would fall
# under the detector's smallest size (its `min_size`, if it has one): shrinking further would lose faces the full
# image finds (Haar: at most to 0.59 of the side, e.g. 54 MP of a 150 MP photo).
DETECT_PIXELS = 4_000_000


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


def _detect(grey: np.ndarray, detector: FaceDetector, detect_pixels: float, least_scale: float
            ) -> list[tuple[int, int, int, int]]:
    """The detector's boxes, found on the image shrunk toward `detect_pixels` pixels (but to no less than
    `least_scale` of its side) and mapped back."""
    scale = min(1.0, max((detect_pixels / grey.size) ** 0.5, least_scale))
    if scale == 1:
        return [tuple(int(v) for v in box) for box in detector(grey)]
    small = cv2.resize(grey, (max(1, int(grey.shape[1] * scale)), max(1, int(grey.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    sx, sy = grey.shape[1] / small.shape[1], grey.shape[0] / small.shape[0]
    return [tuple(int(round(v * s)) for v, s in zip(box, (sx, sy, sx, sy))) for box in detector(small)]


def find_faces(grey: np.ndarray, detector: FaceDetector, min_crop: int = MIN_CROP,
               detect_pixels: float = DETECT_PIXELS) -> Found:
    """Detect the faces in a uint8 grey image and cut the 96x96 crop of each one large enough, framed as
    the detector's `framing` says (`framing_of`). An image of more than `detect_pixels` pixels is shrunk to
    that for the detector, but never so far that a face of `min_crop` would be under the detector's `min_size`
    (its boxes are mapped back; the crops come from the full image)."""
    framing = framing_of(detector)
    least_scale = getattr(detector, "min_size", 0) * framing.side / max(min_crop, 1)
    boxes = _detect(grey, detector, detect_pixels, least_scale)
    crops = [Crop.from_box(box, framing) for box in boxes]
    usable = [i for i, crop in enumerate(crops) if crop.side >= min_crop]
    faces = (np.stack([crops[i].cut(grey) for i in usable]) if usable
             else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8))
    return Found(boxes, crops, usable, faces)
