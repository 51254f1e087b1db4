"""From photos to Kaggle-like face crops and back: image decoding, face detection, framing.

The model was trained on 96x96 grey crops framed in one particular way, so a detector's box is turned
into a crop with that framing (`FRAMING`, measured by `benchmarks/framing.py`), the crop is resized to
96x96, and the keypoints found in it are mapped back into the photo's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import cv2
import numpy as np

from .errors import FacekeypointsError
from .keypoints import IMAGE_SIZE

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")

# The Kaggle crop in units of the Haar box's width: (left, top, side), left and top from the box's corner.
# Measured with `python benchmarks/framing.py`: the median Haar box on 791 of 800 15-keypoint training
# crops is x -0.5, y -0.5, width 97 pixels of the 96-pixel crop; the crops are (almost) Haar boxes.
FRAMING = (0.0052, 0.0052, 0.9897)
MIN_CROP = 40  # a face whose crop is smaller than this (pixels) is reported as too small, not guessed
# Detections whose keypoint heatmaps spread wider than this (median over the 15, pixels of the crop) are not
# faces. Measured with the shipped model: on the 600 public-test crops median 6.5, 99th percentile 8.9 (two
# above 14: a photo whose labels are on a small face in its corner, and a blurred face); on the sample
# photos' faces 6.1-6.4; on the Haar detector's five false positives in gus.jpg's background 19.6-33.
MAX_SPREAD = 14.0


class ImageError(FacekeypointsError):
    """An image file that cannot be read or decoded."""


def decode_image(path: str | Path) -> np.ndarray:
    """Decode an image file to BGR (H, W, 3), 8 or 16 bits as stored, EXIF orientation applied; alpha dropped."""
    path = Path(path)
    try:
        encoded = np.fromfile(path, np.uint8)  # works for any file name, unlike cv2.imread
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    # IMREAD_COLOR applies the EXIF orientation (IMREAD_UNCHANGED would not); ANYDEPTH keeps 16 bits.
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH) if len(encoded) else None
    if image is None:
        raise ImageError(f"{path}: not an image OpenCV can decode")
    return image


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8 grey (H, W), honouring EXIF orientation.

    Colour, grey, 16-bit and images with alpha are all accepted (alpha is dropped, 16-bit scaled to 8).
    """
    return to_grey(decode_image(path), "bgr")


def to_grey(image, channels: str = "rgb") -> np.ndarray:
    """uint8 grey (H, W) from a grey or colour array (H, W[, 3 or 4]) of any integer or float depth,
    or a PIL image. `channels` says the colour order of an array: "rgb" (PIL, matplotlib, scikit-image)
    or "bgr" (OpenCV)."""
    if hasattr(image, "convert") and hasattr(image, "mode"):  # a PIL image
        image, channels = np.asarray(image.convert("RGB")), "rgb"
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        if image.shape[2] not in (3, 4):
            raise ValueError(f"expected 1, 3 or 4 channels, got an array of shape {image.shape}")
        code = cv2.COLOR_BGR2GRAY if channels == "bgr" else cv2.COLOR_RGB2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), code)
    elif image.ndim != 2:
        raise ValueError(f"expected an image (H, W) or (H, W, C), got an array of shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257).round().astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):  # floats are taken to be in [0, 1]
        return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


class FaceDetector(Protocol):
    """Anything that finds faces: grey image (H, W) uint8 -> boxes (x, y, w, h) in pixels."""

    def __call__(self, grey: np.ndarray) -> Sequence[Sequence[float]]: ...


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (Viola-Jones), bundled with opencv-python-headless < 5."""

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


@dataclass
class Crop:
    """Where a 96x96 face crop came from: crop pixel = (photo pixel - origin) * scale."""

    origin: tuple[float, float]
    side: float  # the crop's side in photo pixels

    @property
    def scale(self) -> float:
        return IMAGE_SIZE / self.side

    @classmethod
    def from_box(cls, box: Sequence[float]) -> Crop:
        x, y, w, _ = box
        left, top, side = FRAMING
        return cls((x + left * w, y + top * w), side * w)

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
    """Detect the faces in a uint8 grey image and cut the 96x96 crop of each one large enough."""
    boxes = [tuple(int(v) for v in box) for box in detector(grey)]
    crops = [Crop.from_box(box) for box in boxes]
    usable = [i for i, crop in enumerate(crops) if crop.side >= min_crop]
    faces = np.stack([crops[i].cut(grey) for i in usable]) if usable else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    return Found(boxes, crops, usable, faces)
