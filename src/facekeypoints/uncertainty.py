"""Per-keypoint confidence: a keypoint's heatmap spread turned into the error to expect, in pixels.

The spread (how far a soft-argmax heatmap's mass lies around its point) says how sure the model is, but not
in pixels of error. `Calibration` maps it there with one monotone table per keypoint: the actual error on
labelled faces against the spread, fitted by isotonic regression (pool adjacent violators), read between its
knots by linear interpolation, held flat below the first and grown in proportion to the spread above the last
(spread and error are both lengths; chosen on the validation split, where the points beyond the last knot err
5.2 px on average: 2.2 flat, 3.5 in proportion). `fit` makes one; a model's lives beside its weights
(`<model>.uncertainty.json`), and `tools/calibrate.py` writes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._fs import atomic_output
from .errors import DataError
from .keypoints import KEYPOINT_NAMES

FORMAT = "facekeypoints-uncertainty-1"
MIN_BIN = 20  # faces pooled before the fit: isotonic regression on single faces chases their label noise


def isotonic(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The non-decreasing sequence closest to `values` in weighted least squares (pool adjacent violators)."""
    values = np.asarray(values, np.float64)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, np.float64)
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist()):
        means.append(value)
        sizes.append(weight)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:  # pool the last two blocks while they violate
            total = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total
            sizes[-2], counts[-2] = total, counts[-2] + counts[-1]
            del means[-1], sizes[-1], counts[-1]
    return np.repeat(means, counts)


def fit_table(spread: np.ndarray, error: np.ndarray, min_bin: int = MIN_BIN) -> tuple[np.ndarray, np.ndarray]:
    """Knots (spread, expected error) of a monotone fit of `error` against `spread` (one value per face).

    The faces, in order of spread, are pooled in bins of `min_bin` (the last bin takes the remainder); the bins'
    mean errors are made non-decreasing (`isotonic`, weighted by bin size); each run of equal fitted values
    becomes one knot at its faces' mean spread.
    """
    spread, error = np.asarray(spread, np.float64), np.asarray(error, np.float64)
    if spread.shape != error.shape or spread.ndim != 1 or not len(spread):
        raise ValueError(f"expected two equal 1-D arrays, got shapes {spread.shape} and {error.shape}")
    order = np.argsort(spread, kind="stable")
    spread, error = spread[order], error[order]
    starts = np.arange(0, max(len(spread) - min_bin, 0) + 1, min_bin) if len(spread) >= min_bin else np.zeros(1, int)
    counts = np.diff(np.append(starts, len(spread)))
    fitted = isotonic(np.add.reduceat(error, starts) / counts, counts)
    # one knot per run of equal fitted values, at the mean spread of its faces
    runs = np.flatnonzero(np.diff(np.append(-np.inf, fitted)) > 0)
    faces = np.repeat(np.arange(len(counts)), counts)
    run_of_face = np.searchsorted(runs, faces, side="right") - 1
    knots = np.bincount(run_of_face, spread) / np.bincount(run_of_face)
    return knots, fitted[runs]


@dataclass(frozen=True)
class Calibration:
    """Expected error per keypoint as a function of its spread: `calibration(spread)` for spreads (..., K)
    in crop pixels gives errors (..., K) in crop pixels (NaN where the spread is NaN)."""

    knots: tuple[tuple[np.ndarray, np.ndarray], ...]  # per keypoint, in the model's order: (spread, error)
    about: dict
    names: tuple[str, ...] = KEYPOINT_NAMES  # the keypoints, in that order (the model's keypoint set's)

    def __call__(self, spread: np.ndarray) -> np.ndarray:
        spread = np.asarray(spread, np.float64)
        if spread.shape[-1:] != (len(self.knots),):
            raise ValueError(f"expected spreads (..., {len(self.knots)}), got shape {spread.shape}")
        out = np.stack([np.where(spread[..., k] > x[-1], y[-1] * spread[..., k] / x[-1],
                                 np.interp(spread[..., k], x, y)) for k, (x, y) in enumerate(self.knots)], axis=-1)
        return np.where(np.isnan(spread), np.nan, out)

    @classmethod
    def fit(cls, spread: np.ndarray, error: np.ndarray, mask: np.ndarray, about: dict | None = None,
            min_bin: int = MIN_BIN, names: tuple[str, ...] = KEYPOINT_NAMES) -> Calibration:
        """Fit on faces' spreads (N, K), actual errors (N, K) and which points are labelled (N, K); names: the
        K keypoints (default Kaggle's 15)."""
        spread, error, mask = np.asarray(spread), np.asarray(error), np.asarray(mask, bool)
        mask = mask & np.isfinite(spread) & np.isfinite(error)
        missing = [name for k, name in enumerate(names) if not mask[:, k].any()]
        if missing:
            raise ValueError(f"no labelled face with a spread for {', '.join(missing)}")
        knots = tuple(fit_table(spread[mask[:, k], k], error[mask[:, k], k], min_bin) for k in range(len(names)))
        counts = {name: int(mask[:, k].sum()) for k, name in enumerate(names)}
        return cls(knots, {**(about or {}), "min_bin": min_bin, "labelled": counts}, tuple(names))

    def to_json(self) -> dict:
        return {"format": FORMAT, "about": self.about,
                "points": {name: {"spread": np.round(x, 4).tolist(), "error": np.round(y, 4).tolist()}
                           for name, (x, y) in zip(self.names, self.knots)}}

    def write(self, path: str | Path, force: bool = False) -> None:
        with atomic_output(path, force=force) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Calibration:
        """A file written by `write`; anything else is a DataError naming the file and the problem."""
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"cannot read an uncertainty calibration: {error}", str(path)) from None
        if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("points"), dict):
            raise DataError(f"not an uncertainty calibration (expected \"format\": \"{FORMAT}\" and \"points\")",
                            str(path))
        knots, names = [], tuple(record["points"])  # in the model's order, as `to_json` wrote them
        for name in names:
            entry = record["points"].get(name)
            try:
                x, y = (np.asarray(entry[key], np.float64) for key in ("spread", "error"))
            except (TypeError, KeyError, ValueError):
                raise DataError(f'keypoint {name}: expected {{"spread": [...], "error": [...]}}', str(path)) from None
            if (x.ndim != 1 or x.shape != y.shape or not len(x) or not np.isfinite(x).all() or not np.isfinite(y).all()
                    or (x <= 0).any() or (np.diff(x) <= 0).any() or (np.diff(y) < 0).any() or (y < 0).any()):
                raise DataError(f"keypoint {name}: knots must be finite, spreads positive and increasing, errors "
                                "non-negative and non-decreasing", str(path))
            knots.append((x, y))
        return cls(tuple(knots), record.get("about", {}), names)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two equal 1-D arrays (ties take their mean rank)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1]) if len(a) > 1 else math.nan


def _ranks(values: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # ranks 0.. of each distinct value's first occurrence
    return (first + (counts - 1) / 2)[inverse]
