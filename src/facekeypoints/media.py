"""Inputs and outputs of `facekeypoints predict`: images, folders and videos in; overlays and records out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .api import Face
from .detect import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageError, decode_image, to_grey
from .errors import FacekeypointsError


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files as given, and the images and videos inside folders (recursively, sorted)."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in
                            IMAGE_SUFFIXES + VIDEO_SUFFIXES)
        else:
            paths.append(item)  # a missing or unreadable file is reported when it is read
    return paths


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def read_colour(path: Path) -> np.ndarray:
    """An image file as 8-bit BGR (H, W, 3) for drawing on, EXIF orientation applied."""
    image = decode_image(path)
    if image.dtype != np.uint8:
        image = cv2.cvtColor(to_grey(image, "bgr"), cv2.COLOR_GRAY2BGR)
    return image


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    index: int | None  # the frame number of a video, None for a still image
    fps: float = 0.0


def frames(path: Path, every: int = 1) -> Iterator[Frame]:
    """Every `every`-th frame of a video, or the one image of an image file."""
    if not is_video(path):
        yield Frame(read_colour(path), None)
        return
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ImageError(f"{path}: not a video OpenCV can decode")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield Frame(image, index, fps)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ImageError(f"{path}: no frame could be decoded")


def frame_count(path: Path) -> int:
    if not is_video(path):
        return 1
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return max(count, 0)


def annotate(image: np.ndarray, faces: list[Face], labels: bool = False) -> np.ndarray:
    """A copy of a BGR image with each face's box (yellow; red when too small) and keypoints drawn."""
    out = image.copy()
    for face in faces:
        x, y, w, h = face.box
        thick = max(1, round(w / 80))
        colour = (0, 0, 255) if face.too_small else (0, 220, 255)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick, cv2.LINE_AA)
        if face.keypoints is None:
            continue
        radius = max(2, round(w / 60))
        for name, (px, py) in face.keypoints.items():
            centre = (int(round(px)), int(round(py)))
            cv2.circle(out, centre, radius + thick, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(out, centre, radius, (60, 255, 60), -1, cv2.LINE_AA)
            if labels:
                cv2.putText(out, name.replace("_", " "), (centre[0] + radius + 2, centre[1] - radius),
                            cv2.FONT_HERSHEY_SIMPLEX, max(0.3, w / 700), (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_image(path: Path, image: np.ndarray, force: bool = False) -> None:
    """Write atomically; refuse to replace an existing file unless `force`."""
    from ._fs import write_bytes_atomic

    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise FacekeypointsError(f"{path}: OpenCV cannot encode this image format")
    write_bytes_atomic(path, encoded.tobytes(), force=force)


class VideoOutput:
    """An annotated video, written beside as NAME.part and renamed when complete."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], force: bool = False):
        if path.exists() and not force:
            raise FacekeypointsError(f"{path} already exists (use --force to overwrite)")
        self.path, self.partial = path, path.with_name(path.stem + ".part" + path.suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise FacekeypointsError(f"{path}: OpenCV cannot write this video")

    def write(self, image: np.ndarray) -> None:
        self.writer.write(image)

    def close(self, keep: bool = True) -> None:
        self.writer.release()
        if keep:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)
