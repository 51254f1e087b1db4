"""The top-level API: keypoints of the faces in a photo.

    >>> from facekeypoints import FaceKeypoints
    >>> fk = FaceKeypoints()                      # the shipped default model, OpenCV's face detector
    >>> faces = fk("photo.jpg")                   # or an RGB/grey numpy array, or a PIL image
    >>> faces[0].box, faces[0].keypoints["nose_tip"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .detect import MAX_SPREAD, MIN_CROP, Crop, FaceDetector, Found, HaarDetector, find_faces, read_image, to_grey
from .keypoints import KEYPOINT_NAMES
from .inference import Predictor, load_model
from .shipped import DEFAULT_MODEL


@dataclass
class Face:
    """One face found in an image, in that image's pixel coordinates."""

    box: tuple[int, int, int, int]  # the detector's box: x, y, width, height
    keypoints: dict[str, tuple[float, float]] | None  # name -> (x, y); None for a face too small to trust
    crop: Crop = field(repr=False)
    spread: float = float("nan")  # the model's doubt: median heatmap spread in crop pixels (faces: about 7)

    @property
    def too_small(self) -> bool:
        return self.keypoints is None

    def as_array(self) -> np.ndarray:
        """The 15 keypoints as float (15, 2) x, y in Kaggle's order (NaN for a face too small)."""
        if self.keypoints is None:
            return np.full((len(KEYPOINT_NAMES), 2), np.nan)
        return np.array([self.keypoints[name] for name in KEYPOINT_NAMES], np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"box": [x, y, w, h], "keypoints": {name: [x, y]} or null, "too_small": bool}."""
        points = None if self.keypoints is None else {k: [round(x, 2), round(y, 2)] for k, (x, y) in
                                                        self.keypoints.items()}
        spread = None if np.isnan(self.spread) else round(float(self.spread), 2)
        return {"box": [int(v) for v in self.box], "keypoints": points, "too_small": self.too_small,
                "spread": spread}


class FaceKeypoints:
    """Find faces in images and their 15 keypoints.

    model: a shipped model's name (default: the best shipped model) or a checkpoint file from
    `facekeypoints train` or an .onnx file from `facekeypoints export`, or a loaded model (`load_model`,
    `KeypointModel`). backend: "auto", "onnx" or "torch", as `load_model` takes it. detector: any callable
    from a grey uint8 image to boxes (x, y, w, h); default OpenCV's Haar cascade. min_crop: faces whose
    crop would be smaller than this many pixels are returned without keypoints (`Face.too_small`).
    max_spread: detections on which the model's heatmaps spread wider than this (pixels of the 96-pixel
    crop) are dropped as not faces.
    """

    def __init__(self, model: str | Path | Predictor = DEFAULT_MODEL, detector: FaceDetector | None = None,
                 min_crop: int = MIN_CROP, max_spread: float = MAX_SPREAD, backend: str = "auto"):
        self.model = model if isinstance(model, Predictor) else load_model(model, backend)
        self.detector = detector or HaarDetector()
        self.min_crop, self.max_spread = min_crop, max_spread

    def __call__(self, image, channels: str = "rgb") -> list[Face]:
        return self.detect(image, channels)

    def detect(self, image, channels: str = "rgb") -> list[Face]:
        """The faces in `image`, largest first.

        image: a file path; a numpy array, grey (H, W) or colour (H, W, 3|4) in `channels` order ("rgb",
        as PIL, matplotlib and scikit-image give; "bgr" for OpenCV's cv2.imread); or a PIL image.
        """
        grey = read_image(image) if isinstance(image, (str, Path)) else to_grey(image, channels)
        return self.detect_grey(grey)

    def detect_grey(self, grey: np.ndarray) -> list[Face]:
        """As `detect`, for a uint8 grey image (H, W)."""
        found = find_faces(grey, self.detector, self.min_crop)
        return self.faces(found, *self.model.predict_with_spread(found.faces))

    def faces(self, found: Found, keypoints: np.ndarray, spread: np.ndarray) -> list[Face]:
        """The `Face`s of one image from its detections and the model's answers for their usable crops
        (keypoints (K, 15, 2) and spread (K,) in crop pixels): mapped back, false detections dropped."""
        answers = dict(zip(found.usable, zip(keypoints, spread.tolist())))
        faces = []
        for i, (box, crop) in enumerate(zip(found.boxes, found.crops)):
            if i not in answers:
                faces.append(Face(box, None, crop))
                continue
            points, doubt = answers[i]
            if doubt > self.max_spread:  # the model sees no face there: a false detection
                continue
            named = {name: (float(x), float(y)) for name, (x, y) in zip(KEYPOINT_NAMES, crop.to_photo(points))}
            faces.append(Face(box, named, crop, doubt))
        return faces

    def detect_files(self, inputs, every: int = 1, workers: int | None = None, batch_size: int = 64,
                     keep_images: bool = False):
        """Faces in many image and video files, streamed: yields one `stream.FileResult` per image and per
        video frame (every `every`-th), in input order, with bounded memory.

        inputs: files and folders (searched recursively for images and videos). workers: processes that
        decode images and detect faces (default: one per CPU, at most 8, or none on 2 CPUs or fewer; 0: all
        in this process); the model runs here, on batches of up to `batch_size` faces gathered across images.
        keep_images: also yield each decoded image (BGR), for drawing. A file that cannot be read yields a
        result with `.error` set; the stream goes on.
        """
        from .stream import detect_files

        return detect_files(self, inputs, every=every, workers=workers, batch_size=batch_size,
                            keep_images=keep_images)

    def predict_crops(self, faces: np.ndarray, four_point: np.ndarray | None = None) -> np.ndarray:
        """Keypoints (N, 15, 2) of ready 96x96 uint8 grey face crops (N, 96, 96), as `submit` predicts them.

        four_point: bool (N,), crops to answer in the Kaggle data's 4-keypoint labelling convention.
        """
        return self.model.predict(np.asarray(faces, np.uint8), four_point=four_point)
