"""Kaggle's own benchmark: every face gets each keypoint's mean position over the training labels."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..keypoints import IMAGE_SIZE, NUM_KEYPOINTS
from ..codecs import CoordinateCodec
from ._registry import register_model


@register_model(codec=CoordinateCodec, summary="Kaggle's mean-shape benchmark, fitted in closed form",
                closed_form=True)
class MeanShape(nn.Module):
    """Predicts the same (K, 2) shape for every face. Fitted in closed form, not by gradient descent."""

    name = "mean"

    def __init__(self, num_keypoints: int = NUM_KEYPOINTS) -> None:
        super().__init__()
        self.register_buffer("shape", torch.full((num_keypoints, 2), IMAGE_SIZE / 2))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.shape.expand(images.shape[0], -1, -1)

    @torch.no_grad()
    def fit(self, keypoints: np.ndarray, mask: np.ndarray) -> MeanShape:
        """Set each keypoint to the mean of its labels (keypoints (N, K, 2), mask (N, K))."""
        if not mask.any(axis=0).all():
            raise ValueError("every keypoint needs at least one label to fit the mean shape")
        counts = mask.sum(axis=0)[:, None]
        sums = np.where(mask[..., None], keypoints, 0.0).sum(axis=0, dtype=np.float64)
        self.shape.copy_(torch.from_numpy(sums / counts))
        return self
