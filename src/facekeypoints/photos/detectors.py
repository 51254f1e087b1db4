"""The face detectors by name, for `--detector` and `FaceKeypoints(detector=...)`."""

from __future__ import annotations

from typing import Callable

from ..errors import FacekeypointsError
from .blazeface import BlazeFaceDetector
from .detection import FaceDetector
from .haar import HaarDetector

DETECTORS: dict[str, Callable[..., FaceDetector]] = {"blazeface": BlazeFaceDetector, "haar": HaarDetector}
DEFAULT_DETECTOR = "blazeface"


def create_detector(name: str = DEFAULT_DETECTOR, **options) -> FaceDetector:
    """A detector by its name in `DETECTORS`; `options` go to its constructor (e.g. min_size)."""
    if name not in DETECTORS:
        raise FacekeypointsError(f"unknown face detector {name!r}: choose from {', '.join(sorted(DETECTORS))}")
    return DETECTORS[name](**options)
