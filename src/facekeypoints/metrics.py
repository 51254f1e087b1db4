"""Kaggle's metric: root mean squared error, in pixels, over every labelled coordinate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .keypoints import KEYPOINT_NAMES, pattern_name


@dataclass
class RmseReport:
    """RMSE overall, per keypoint and per label pattern ("15 keypoints" / "4 keypoints" / "other")."""

    rmse: float
    count: int  # coordinates scored
    per_keypoint: dict[str, tuple[float, int]] = field(default_factory=dict)
    per_pattern: dict[str, tuple[float, int]] = field(default_factory=dict)  # (rmse, images)

    @classmethod
    def from_errors(
        cls, squared: np.ndarray, keypoint: np.ndarray | None = None, image: np.ndarray | None = None,
        image_pattern: dict | None = None, names: tuple[str, ...] = KEYPOINT_NAMES,
    ) -> RmseReport:
        """Build a report from one squared error per scored coordinate.

        keypoint: each coordinate's keypoint index (for the per-keypoint breakdown);
        image: each coordinate's image, and image_pattern: image -> number of its keypoints scored (Kaggle's
        patterns: for other keypoint sets, give none). names: the keypoints' (default Kaggle's 15).
        """
        squared = np.asarray(squared, np.float64)
        report = cls(_rmse(squared), len(squared))
        if keypoint is not None:
            for k, name in enumerate(names):
                sel = keypoint == k
                if sel.any():
                    report.per_keypoint[name] = (_rmse(squared[sel]), int(sel.sum()) // 2)
        if image is not None and image_pattern is not None:
            patterns = np.array([pattern_name(image_pattern[i]) for i in image.tolist()])
            for name in ("15 keypoints", "4 keypoints", "other"):
                sel = patterns == name
                if sel.any():
                    report.per_pattern[name] = (_rmse(squared[sel]), len(np.unique(image[sel])))
        return report

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        lines = [f"RMSE {self.rmse:.4f} px over {self.count} coordinates"]
        if self.per_pattern:
            lines.append("by label pattern:")
            lines += [f"  {name:<26} {r:8.4f}  ({n} images)" for name, (r, n) in self.per_pattern.items()]
        if self.per_keypoint:
            lines.append("by keypoint:")
            lines += [f"  {name:<26} {r:8.4f}  ({n} labels)" for name, (r, n) in self.per_keypoint.items()]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "rmse": self.rmse,
            "count": self.count,
            "per_keypoint": {k: {"rmse": r, "labels": n} for k, (r, n) in self.per_keypoint.items()},
            "per_pattern": {k: {"rmse": r, "images": n} for k, (r, n) in self.per_pattern.items()},
        }


def _rmse(squared: np.ndarray) -> float:
    return float(np.sqrt(squared.mean())) if len(squared) else float("nan")


def face_rmse(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each face's RMSE (N,) over its labelled coordinates (0 for a face with none)."""
    squared = np.where(mask, ((predicted - truth) ** 2).sum(-1), 0.0).sum(1)
    return np.sqrt(squared / np.maximum(2 * mask.sum(1), 1))


def mean_point_error(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each face's mean Euclidean point error (N,) over its labelled points (NaN for a face with none): a face is
    "missed" in `benchmarks/robustness.py` when this exceeds 5 px."""
    distance = np.where(mask, np.linalg.norm(np.nan_to_num(predicted - truth), axis=-1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return distance.sum(1) / mask.sum(1)


def keypoint_rmse(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray,
                  names: tuple[str, ...] = KEYPOINT_NAMES) -> RmseReport:
    """Score (N, K, 2) predictions against labels where `mask` (N, K) is True; names: the K keypoints' (default
    Kaggle's 15, which also get the per-pattern breakdown)."""
    predicted, truth, mask = np.asarray(predicted), np.asarray(truth), np.asarray(mask, bool)
    if predicted.shape != truth.shape or mask.shape != truth.shape[:2] or truth.shape[1:] != (len(names), 2):
        raise ValueError(f"shapes differ: predicted {predicted.shape}, truth {truth.shape}, mask {mask.shape}")
    image, keypoint = np.nonzero(mask)
    diff = predicted[image, keypoint].astype(np.float64) - truth[image, keypoint]
    squared = (diff**2).reshape(-1)  # x and y of each labelled keypoint
    counts = mask.sum(axis=1)
    kaggle = tuple(names) == KEYPOINT_NAMES
    return RmseReport.from_errors(squared, np.repeat(keypoint, 2), np.repeat(image, 2),
                                  dict(enumerate(counts.tolist())) if kaggle else None, tuple(names))


def normalised_mean_error(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray, keypoint_set) -> np.ndarray:
    """Each face's NME (N,): its mean point error over its labelled points divided by the distance of its labelled
    outer eye corners (300-W's "inter-ocular" normalisation; NaN where a face lacks them)."""
    corners = keypoint_set.lookup(truth, ("right_eye_outer_corner", "left_eye_outer_corner"), "NME")
    with np.errstate(invalid="ignore"):
        return mean_point_error(predicted, truth, mask) / np.linalg.norm(corners[:, 0] - corners[:, 1], axis=-1)
