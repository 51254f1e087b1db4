"""A batch of images already in memory, as a pipeline holds them (numpy arrays, encoded files' bytes, PIL images,
or file paths), in one call: the detector run once over the batch (`crops.find_faces_batch`), then the model once
over all of its faces. The results are those `stream.detect_files` gives for the same files, record for record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import FacekeypointsError
from .crops import MIN_CROP, find_faces_batch
from .detection import FaceDetector
from .io import MAX_PIXELS, decode_bytes, eight_bit, read_colour, to_image
from .results import MAX_SPREAD, FileResult, answer

ACCEPTED = "a file path, an encoded image file's bytes, a numpy array or a PIL image"


def decoded(item, channels: str = "rgb", max_pixels: float = MAX_PIXELS, name: str | Path = "<bytes>") -> np.ndarray:
    """One item of a batch as the uint8 BGR (or grey) image the detector takes: a path read and bytes decoded as
    `io.read_colour` reads files (EXIF orientation, 16 bits through grey, `max_pixels`), an array or PIL image
    as `io.to_image` takes it (`channels`: an array's colour order). Raises FacekeypointsError naming `name`."""
    if isinstance(item, (str, os.PathLike)):
        return read_colour(item, max_pixels)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return eight_bit(decode_bytes(item, name, max_pixels))
    if isinstance(item, (np.ndarray, Image.Image)):
        try:
            return to_image(item, channels)
        except (TypeError, ValueError) as exc:
            raise FacekeypointsError(f"{name}: {exc}") from None
    raise FacekeypointsError(f"{name}: expected {ACCEPTED}, got {type(item).__name__}")


def detect_batch(images: Sequence, model, detector: FaceDetector, sources: Sequence[str | os.PathLike] | None = None,
                 channels: str = "rgb", min_crop: int = MIN_CROP, max_spread: float = MAX_SPREAD,
                 max_pixels: float = MAX_PIXELS) -> list[FileResult]:
    """One `FileResult` per item of `images`, in order (`decoded` says what an item may be). sources: the name of
    each item in its result (and in its errors); default: a path's own, else `<image I>`. An item that cannot be
    read or is no image gets a result with `.error` set; the others are answered all the same. model: anything
    with `predict_with_spread(crops)` (a loaded `Predictor`), run once over all the batch's faces."""
    if sources is None:
        sources = [item if isinstance(item, (str, os.PathLike)) else f"<image {i}>" for i, item in enumerate(images)]
    if len(sources) != len(images):
        raise ValueError(f"expected one source per image, got {len(sources)} for {len(images)} images")
    results = [FileResult(Path(source), None) for source in sources]
    ready = []  # (result, image) of the items that decoded
    for result, item in zip(results, images):
        try:
            image = decoded(item, channels, max_pixels, result.source)
        except FacekeypointsError as exc:
            result.error = str(exc)
            continue
        result.height, result.width = image.shape[:2]
        ready.append((result, image))
    found = find_faces_batch([image for _, image in ready], detector, min_crop)
    answer([(result, one) for (result, _), one in zip(ready, found)], model, max_spread)
    return results
