"""OpenCV's frontal-face Haar cascade (Viola-Jones), the detector Kaggle's crops were (almost exactly) cut with."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import FacekeypointsError
from .detection import Detection, Framing, smallest_face

WINDOW = 24  # the cascade's own window: the smallest face it can see, in pixels of the image it scans


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, bundled with opencv-python-headless < 5. Upright faces only.

    min_size: the smallest face (pixels) to look for; None: `detection.smallest_face`'s default for the image.
    Large images are scanned shrunk as far as that smallest face allows (the cascade's time grows with the
    pixels it scans: about 1 s for gus.jpg's 2.7 MP here; 20000x20000 crashed it), the boxes mapped back.
    """

    # The Kaggle crop in units of the Haar box's width. Measured with `python benchmarks/framing.py haar`: the
    # median Haar box on 791 of 800 15-keypoint training crops is x -0.5, y -0.5, width 97 pixels of the
    # 96-pixel crop; the crops are (almost) Haar boxes.
    framing = Framing(0.0052, 0.0052, 0.9897)

    def __init__(self, min_size: float | None = None, scale_factor: float = 1.1, min_neighbors: int = 5):
        if min_size is not None and not min_size > 0:
            raise ValueError(f"min_size must be a positive number of pixels, got {min_size!r}")
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

    def __call__(self, image: np.ndarray) -> list[Detection]:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        scale = min(1.0, WINDOW / smallest_face(grey.shape, self.min_size))
        if scale < 1:
            grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
        found = self.cascade.detectMultiScale(cv2.equalizeHist(grey), scaleFactor=self.scale_factor,
                                              minNeighbors=self.min_neighbors, minSize=(WINDOW, WINDOW))
        return [Detection(tuple(float(v) / scale for v in box), framing=self.framing) for box in found]
