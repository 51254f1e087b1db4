"""Face detectors, and how each one's box maps to the crop the model was trained on.

A detector is any callable from a uint8 grey image to boxes (x, y, w, h). The model was trained on Kaggle's
96x96 crops, which are framed in one particular way; a detector whose boxes are framed differently says so
with a `framing` attribute (a `Framing`), so that its boxes can be turned into crops framed like Kaggle's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import cv2
import numpy as np

from ..errors import FacekeypointsError


@dataclass(frozen=True)
class Framing:
    """The square crop to cut around a detector's box, in units of the box's width w.

    The crop's left edge is at x + left * w, its top edge at y + top * w, and its side is side * w (the box's
    height is not used). `Framing()` (0, 0, 1) takes the box itself as the crop.
    """

    left: float = 0.0
    top: float = 0.0
    side: float = 1.0

    def __post_init__(self) -> None:
        if not self.side > 0:
            raise ValueError(f"a framing's side must be positive, got {self.side}")


IDENTITY_FRAMING = Framing()


class FaceDetector(Protocol):
    """Anything that finds faces: grey image (H, W) uint8 -> boxes (x, y, w, h) in pixels.

    It may have a `framing` attribute (a `Framing`); without one its boxes are taken as the crops themselves.
    """

    def __call__(self, grey: np.ndarray) -> Sequence[Sequence[float]]: ...


def framing_of(detector: FaceDetector) -> Framing:
    """The framing of a detector's boxes: its own `framing` attribute, else the box as the crop."""
    framing = getattr(detector, "framing", None)
    if framing is None:
        return IDENTITY_FRAMING
    return framing if isinstance(framing, Framing) else Framing(*framing)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (Viola-Jones), bundled with opencv-python-headless < 5."""

    # The Kaggle crop in units of the Haar box's width. Measured with `python benchmarks/framing.py`: the
    # median Haar box on 791 of 800 15-keypoint training crops is x -0.5, y -0.5, width 97 pixels of the
    # 96-pixel crop; the crops are (almost) Haar boxes.
    framing = Framing(0.0052, 0.0052, 0.9897)

    def __init__(self, min_size: int = 24, scale_factor: float = 1.1, min_neighbors: int = 5):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise FacekeypointsError(f"cannot load OpenCV's face cascade {path}")
        self.min_size, self.scale_factor, self.min_neighbors = min_size, scale_factor, min_neighbors

    # Worker processes get a copy by pickling: OpenCV's classifier cannot be pickled, so it is built again.
    def __getstate__(self) -> dict:
        return {"min_size": self.min_size, "scale_factor": self.scale_factor, "min_neighbors": self.min_neighbors}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def __call__(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        found = self.cascade.detectMultiScale(cv2.equalizeHist(grey), scaleFactor=self.scale_factor,
                                              minNeighbors=self.min_neighbors,
                                              minSize=(self.min_size, self.min_size))
        boxes = [tuple(int(v) for v in box) for box in found]
        return sorted(boxes, key=lambda b: -b[2] * b[3])  # largest first


DETECTORS: dict[str, Callable[..., FaceDetector]] = {"haar": HaarDetector}
DEFAULT_DETECTOR = "haar"


def create_detector(name: str = DEFAULT_DETECTOR, **options) -> FaceDetector:
    """A detector by its name in `DETECTORS`; `options` go to its constructor."""
    if name not in DETECTORS:
        raise FacekeypointsError(f"unknown face detector {name!r}: choose from {', '.join(sorted(DETECTORS))}")
    return DETECTORS[name](**options)
