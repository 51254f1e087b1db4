"""From detections to the model's 96x96 grey crops, cut upright, and from crop pixels back to photo pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..keypoints import IMAGE_SIZE, MEAN_SHAPE
from .detection import Detection, FaceDetector, Framing, as_detection, detect, detect_images

# A face whose crop is smaller than this (pixels) is reported as too small, not guessed. Measured with
# `python benchmarks/face_size.py`: validation faces shrunk to 24 px keep the shipped model's RMSE within 1.5x of
# full size (1.40x; 1.62x at 20 px), with 5.7 % of faces off by more than 0.1 inter-ocular (1.7 % at full size).
MIN_CROP = 24


@dataclass
class Crop:
    """A square of the photo cut out as a 96x96 crop: its centre (x, y; pixel edges, so a box (x, y, w, h) has
    its centre at x + w/2), side (photo pixels) and angle (degrees, clockwise on screen: the crop turns with the
    face, so that the face in it is upright)."""

    centre: tuple[float, float]
    side: float
    angle: float = 0.0

    @property
    def scale(self) -> float:
        return IMAGE_SIZE / self.side

    @classmethod
    def from_box(cls, box: Sequence[float], framing: Framing, angle: float = 0.0) -> Crop:
        """The crop around a box (x, y, w, h), framed as `framing` says in the face's frame, turned by `angle`."""
        x, y, w, h = box
        # the crop's centre from the box's, in the face's frame, then turned into the photo's
        dx, dy = ((framing.left + framing.side / 2 - 0.5) * w, (framing.top + framing.side / 2 - 0.5) * w)
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        return cls((x + w / 2 + cos * dx - sin * dy, y + h / 2 + sin * dx + cos * dy), framing.side * w, angle)

    @classmethod
    def from_detection(cls, detection: Detection) -> Crop:
        """The crop of a detection: its framing in units of its size, about its box's centre, turned with it."""
        x, y, w, h = detection.box
        size = detection.size
        square = (x + (w - size) / 2, y + (h - size) / 2, size, size)
        return cls.from_box(square, detection.framing, detection.angle)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, size: int = IMAGE_SIZE) -> Crop:
        """The crop whose `to_photo_matrix(size)` is this similarity transform (2, 3)."""
        turn = np.asarray(matrix, np.float64)[:, :2]
        scale = math.sqrt(abs(np.linalg.det(turn)))
        centre = matrix[:, 2] + 0.5 - turn @ np.full(2, 0.5 - size / 2)
        angle = math.degrees(math.atan2(turn[1, 0], turn[0, 0]))
        return cls((float(centre[0]), float(centre[1])), scale * size, angle)

    @classmethod
    def from_keypoints(cls, points: np.ndarray, mean_shape=MEAN_SHAPE) -> Crop:
        """The crop that puts a face's keypoints (photo pixels, (K, 2)) nearest to where training crops have them
        on average (`mean_shape`, (K, 2): the keypoint set's; default Kaggle's 15): framed like the training
        crops and upright, whatever the detector said."""
        return cls.from_matrix(fit_similarity(mean_shape, points))

    def to_photo_matrix(self, size: int = IMAGE_SIZE) -> np.ndarray:
        """The affine map (2, 3) from the pixels of this crop cut at `size` x `size` to the photo's pixels (pixel
        centres at whole numbers in both)."""
        cos, sin = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        turn = np.array([[cos, -sin], [sin, cos]]) * (self.side / size)
        # crop pixel q has its centre at q + 0.5 from the crop's edge, photo pixel p at p + 0.5 from the photo's
        shift = np.asarray(self.centre) - 0.5 + turn @ np.full(2, 0.5 - size / 2)
        return np.column_stack([turn, shift])

    def cut(self, image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
        """The crop of `image` (grey (H, W) or colour (H, W, C), channels kept as they are) at `size` x `size`
        pixels (edges replicated where the crop leaves the photo)."""
        if not (math.isfinite(self.side) and self.side > 0 and all(map(math.isfinite, self.centre))):
            raise ValueError(f"a crop needs a finite centre and a positive size, got {self}")
        if self.side > size + 1:  # warpAffine has no area averaging (it would alias): cut at full size, then shrink
            # at most twice the photo's long side: a crop larger than that is mostly border (a box far off the
            # photo, a lost track), and its cost stays the photo's, not the crop's
            full = self._warp(image, min(math.ceil(self.side), 2 * max(image.shape[:2]) + size))
            return cv2.resize(full, (size, size), interpolation=cv2.INTER_AREA)
        return self._warp(image, size)

    def _warp(self, image: np.ndarray, size: int) -> np.ndarray:
        return cv2.warpAffine(image, self.to_photo_matrix(size), (size, size),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Crop pixel coordinates (..., 2) -> photo pixel coordinates."""
        matrix = self.to_photo_matrix()
        return np.asarray(points, np.float64) @ matrix[:, :2].T + matrix[:, 2]

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Photo pixel coordinates (..., 2) -> crop pixel coordinates (`to_photo` undone)."""
        matrix = self.to_photo_matrix()
        return np.linalg.solve(matrix[:, :2], (np.asarray(points, np.float64) - matrix[:, 2]).T).T


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The similarity transform (rotation, uniform scale, shift: (2, 3)) that maps points `source` (N, 2) onto
    `target` (N, 2) with the least squared error (Umeyama 1991; N >= 2, not all at one place). No reflection."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(0), target.mean(0)
    s, t = source - mean_s, target - mean_t
    # As complex numbers a similarity is t = z * s: least squares gives z = sum(conj(s) t) / sum(|s|^2)
    sc, tc = s[:, 0] + 1j * s[:, 1], t[:, 0] + 1j * t[:, 1]
    norm = float(np.sum(np.abs(sc) ** 2))
    if norm == 0:
        raise ValueError("cannot fit a similarity to points that all lie at one place")
    z = np.sum(np.conj(sc) * tc) / norm
    turn = np.array([[z.real, -z.imag], [z.imag, z.real]])
    return np.column_stack([turn, mean_t - turn @ mean_s])


@dataclass
class Found:
    """The faces a detector found in one image, cut into crops for the model (no keypoints yet)."""

    detections: list[Detection]
    crops: list[Crop]
    usable: list[int]  # indices of the detections whose crop is large enough for keypoints
    faces: np.ndarray  # uint8 (len(usable), 96, 96): the usable crops, ready for the model
    size: tuple[int, int]  # the image's width and height (the head pose's camera is made from it)
    smaller: int = 0  # faces the detector saw under the smallest size asked for and left out (its `smaller`)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A uint8 grey (H, W) or BGR (H, W, 3) image as BGR, what detectors take."""
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def find_faces(image: np.ndarray, detector: FaceDetector, min_crop: int = MIN_CROP,
               boxes: Sequence[Detection | Sequence[float]] | None = None) -> Found:
    """Detect the faces in a uint8 BGR (or grey) image and cut the 96x96 grey crop of each one large enough,
    upright and framed as its detection says. `boxes`: faces already known, as `Detection`s or boxes (x, y, w, h)
    taken as the crops (the detector is not run)."""
    if boxes is None:
        detections = detect(detector, to_bgr(image))
    else:
        detections = [box if isinstance(box, Detection) else as_detection(clip_box(box, image.shape))
                      for box in boxes]
    found = cut_faces(image, detections, [Crop.from_detection(d) for d in detections], min_crop)
    found.smaller = getattr(detector, "smaller", 0) if boxes is None else 0
    return found


def find_faces_batch(images: Sequence[np.ndarray], detector: FaceDetector, min_crop: int = MIN_CROP) -> list[Found]:
    """`find_faces` for each of several uint8 BGR (or grey) images, the detector run on them as one batch
    (`detection.detect_images`): the same faces as image by image."""
    found = detect_images(detector, [to_bgr(image) for image in images])
    return [cut_faces(image, detections, [Crop.from_detection(d) for d in detections], min_crop)
            for image, detections in zip(images, found)]


def clip_box(box: Sequence[float], shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """A box (x, y, w, h) given by the user cut to the image it is for (a box far larger than the image would
    otherwise cost its own size to crop); ValueError for one that is not a box or lies outside the image."""
    x, y, w, h = as_detection(box).box
    height, width = shape[:2]
    x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, float(width)), min(y + h, float(height))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the face box {[x, y, w, h]} lies outside the {width}x{height} image")
    return x0, y0, x1 - x0, y1 - y0


def cut_faces(image: np.ndarray, detections: list[Detection], crops: list[Crop], min_crop: int = MIN_CROP) -> Found:
    """The faces at these crops of a uint8 BGR (or grey) image, one for each detection, cut where large enough."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    usable = [i for i, crop in enumerate(crops) if crop.side >= min_crop]
    faces = (np.stack([crops[i].cut(grey) for i in usable]) if usable
             else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8))
    return Found(list(detections), crops, usable, faces, (image.shape[1], image.shape[0]))
