"""What a photo's faces come to: the model's answers for its crops mapped back into the photo (`Face`),
false detections dropped, gathered per image or video frame (`FileResult`), and drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..keypoints import KEYPOINT_NAMES
from .crops import Crop, Found

# Detections whose keypoint heatmaps spread wider than this (median over the 15, pixels of the crop) are not
# faces. Measured with the shipped model: on the 600 public-test crops median 6.5, 99th percentile 8.9 (two
# above 14: a photo whose labels are on a small face in its corner, and a blurred face); on the sample
# photos' faces 6.1-6.4; on the Haar detector's five false positives in gus.jpg's background 19.6-33.
MAX_SPREAD = 14.0


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

    def describe(self) -> str:
        """One line for people: where the face is and its keypoints, rounded to pixels."""
        points = ", ".join(f"{name} ({x:.0f}, {y:.0f})" for name, (x, y) in (self.keypoints or {}).items())
        return f"face at {list(self.box)}: {points or 'too small for keypoints'}"

    def draw(self, image: np.ndarray, labels: bool = False) -> np.ndarray:
        """Draw this face on a BGR uint8 image, in place: its box (yellow; red when too small) and keypoints
        (with their names if `labels`). Returns the image."""
        x, y, w, h = self.box
        thick = max(1, round(w / 80))
        colour = (0, 0, 255) if self.too_small else (0, 220, 255)
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, thick, cv2.LINE_AA)
        if self.keypoints is None:
            return image
        radius = max(2, round(w / 60))
        for name, (px, py) in self.keypoints.items():
            centre = (int(round(px)), int(round(py)))
            cv2.circle(image, centre, radius + thick, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(image, centre, radius, (60, 255, 60), -1, cv2.LINE_AA)
            if labels:
                cv2.putText(image, name.replace("_", " "), (centre[0] + radius + 2, centre[1] - radius),
                            cv2.FONT_HERSHEY_SIMPLEX, max(0.3, w / 700), (255, 255, 255), 1, cv2.LINE_AA)
        return image


def draw_faces(image: np.ndarray, faces: list[Face], labels: bool = False) -> np.ndarray:
    """A copy of a BGR uint8 image with each face drawn (`Face.draw`)."""
    out = image.copy()
    for face in faces:
        face.draw(out, labels)
    return out


def faces_from(found: Found, keypoints: np.ndarray, spread: np.ndarray, max_spread: float = MAX_SPREAD
               ) -> list[Face]:
    """The `Face`s of one image from its detections and the model's answers for their usable crops
    (keypoints (K, 15, 2) and spread (K,) in crop pixels): mapped back into the photo, and detections on
    which the model sees no face (spread above `max_spread`) dropped. Too small faces come without keypoints."""
    answers = dict(zip(found.usable, zip(keypoints, np.asarray(spread).tolist())))
    faces = []
    for i, (box, crop) in enumerate(zip(found.boxes, found.crops)):
        if i not in answers:
            faces.append(Face(box, None, crop))
            continue
        points, doubt = answers[i]
        if doubt > max_spread:  # the model sees no face there: a false detection
            continue
        named = {name: (float(x), float(y)) for name, (x, y) in zip(KEYPOINT_NAMES, crop.to_photo(points))}
        faces.append(Face(box, named, crop, doubt))
    return faces


@dataclass
class FileResult:
    """The faces of one image, or of one frame of a video."""

    source: Path
    frame: int | None  # the frame's number in a video; None for a still image
    width: int = 0
    height: int = 0
    faces: list[Face] = field(default_factory=list)
    image: np.ndarray | None = field(default=None, repr=False)  # BGR uint8, when asked for (keep_images)
    fps: float = 0.0  # a video's frame rate
    error: str | None = None  # why the file (or the rest of a video) could not be read; no faces then

    def to_dict(self) -> dict:
        """The JSON record `facekeypoints predict --json` writes for it."""
        return {"source": str(self.source), "frame": self.frame, "width": self.width, "height": self.height,
                "faces": [face.to_dict() for face in self.faces]}

    def annotated(self, labels: bool = False) -> np.ndarray:
        """A copy of the image with its faces drawn (needs the image: `detect_files(..., keep_images=True)`)."""
        if self.image is None:
            raise ValueError(f"{self.source}: no image kept to draw on (detect_files(..., keep_images=True))")
        return draw_faces(self.image, self.faces, labels)
