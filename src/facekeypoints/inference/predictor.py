"""What every loaded model offers, whatever runs it: `predict(images)` -> keypoints (N, K, 2), K the points of
its keypoint set (`keypoint_set`: Kaggle's 15 for the shipped models)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._progress import progress
from ..errors import FacekeypointsError
from ..keypoints import IMAGE_SIZE, KAGGLE_15, KeypointSet
from ..uncertainty import Calibration


class Predictor:
    """Base of the backends: checks input and batches; a subclass runs one batch (`_run`)."""

    backend = ""
    name = ""
    meta: dict[str, Any] = {}
    source = ""
    # Expected error per keypoint from its spread (`facekeypoints.uncertainty.Calibration`), fitted for this
    # model: `load_model` reads it from beside the weights; None where there is none (NaN-spread models too).
    uncertainty: Calibration | None = None
    keypoint_set: KeypointSet = KAGGLE_15  # the points it predicts, in its output order

    @property
    def can_flip(self) -> bool:
        """Whether the model can average its predictions with those on the mirrored faces."""
        return False

    @property
    def flips_by_default(self) -> bool:
        """Whether `predict` averages with the mirrored faces unless told (a model's "flip" metadata; the
        shipped models say no: measured not worth twice the time)."""
        return self.can_flip and bool(self.meta.get("flip", True))

    def resolve_flip(self, flip: bool | None) -> bool:
        """Whether a call asking `flip` (None: the default) averages with the mirrored faces."""
        return self.flips_by_default if flip is None else bool(flip) and self.can_flip

    def predict(self, images: np.ndarray, batch_size: int = 256, show_progress: bool = False,
                four_point: np.ndarray | None = None, flip: bool | None = None) -> np.ndarray:
        """Keypoints, float32 (N, K, 2) pixel (x, y), of uint8 grey faces (N, 96, 96); K: `keypoint_set`'s.

        four_point: bool (N,), faces to place in the Kaggle data's 4-keypoint labelling convention (for
        a model that knows both; others ignore it). flip: also predict on the mirrored faces and average
        (default: the model's own choice, see `flips_by_default`; ignored by a model that cannot).
        """
        return self._predict(images, batch_size, show_progress, four_point, flip)[0]

    def predict_with_spread(self, images: np.ndarray, batch_size: int = 256, flip: bool | None = None,
                            four_point: np.ndarray | None = None):
        """Keypoints as `predict`, and the spread of each keypoint's heatmap (N, K) in crop pixels: a measure
        of doubt, low (a median of about 7 over the 15) on faces and high on things that are not faces.
        NaN for models without heatmaps read by soft-argmax. `uncertainty` turns it into pixels of error.
        four_point: as `predict` takes it (the photo pipeline gives none)."""
        return self._predict(images, batch_size, False, four_point, flip)

    def _predict(self, images, batch_size, show_progress, four_point, flip):
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected faces of shape (N, 96, 96), got {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"expected uint8 grey levels, got {images.dtype}")
        flip = self.resolve_flip(flip)
        four_point = _four_point(four_point, len(images))
        k = len(self.keypoint_set)
        out = np.empty((len(images), k, 2), np.float32)
        doubt = np.full((len(images), k), np.nan, np.float32)
        starts = range(0, len(images), batch_size)
        for start in progress(starts, desc="predicting", unit="batch", disable=not show_progress):
            end = start + batch_size
            points, spread = self._run(np.ascontiguousarray(images[start:end]), four_point[start:end], flip)
            count = len(images[start:end])
            if np.shape(points) != (count, k, 2) or np.shape(spread) != (count, k):
                raise FacekeypointsError(f"model {self.source or self.name} answered keypoints of shape "
                                         f"{np.shape(points)} and spreads {np.shape(spread)} for {count} faces, not "
                                         f"({count}, {k}, 2) and ({count}, {k})")
            out[start:end] = points
            doubt[start:end] = spread
        return out, doubt

    def _run(self, faces: np.ndarray, four_point: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
        """One batch: keypoints (n, K, 2) and per-keypoint heatmap spread (n, K), both float32."""
        raise NotImplementedError


def _four_point(four_point, count: int) -> np.ndarray:
    """`four_point` as bool (count,): None is all false; True/False or 0/1 per face, nothing else."""
    if four_point is None:
        return np.zeros(count, bool)
    flags = np.asarray(four_point)
    if flags.shape != (count,):
        raise ValueError(f"expected four_point of shape ({count},), one flag per face, got shape {flags.shape}")
    if flags.dtype.kind not in "biuf" or not np.isin(flags, (0, 1)).all():
        raise ValueError(f"expected four_point flags True/False (or 1/0), got {flags.dtype} {flags[:5]}")
    return flags.astype(bool)
