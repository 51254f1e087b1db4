"""Images, folders and videos in: decoding to grey or 8-bit colour, and walking the inputs of a batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import FacekeypointsError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


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


def read_colour(path: str | Path) -> np.ndarray:
    """An image file as 8-bit BGR (H, W, 3) for drawing on, EXIF orientation applied."""
    image = decode_image(path)
    if image.dtype != np.uint8:
        image = cv2.cvtColor(to_grey(image, "bgr"), cv2.COLOR_GRAY2BGR)
    return image


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


def count_frames(paths: list[Path], every: int = 1) -> int:
    """How many results `detect_files` will give for these files (for a progress bar): one per image, one per
    `every`-th frame of a video as its container states the count."""
    return sum(frame_count(p) // every if is_video(p) else 1 for p in paths)


def frame_count(path: Path) -> int:
    """A video's frame count as its container states it (0 if unknown); 1 for a still image."""
    if not is_video(path):
        return 1
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return max(count, 0)
