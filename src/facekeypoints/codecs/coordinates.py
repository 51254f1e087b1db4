"""Codecs for networks that output coordinates directly."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..keypoints import IMAGE_SIZE
from .base import Codec


def _no_spread(points: torch.Tensor) -> torch.Tensor:
    return torch.full_like(points[..., 0], float("nan"))


def _masked_mse(output: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the labelled heads' coordinates; unlabelled ones contribute nothing."""
    pred = output.reshape(targets.shape)
    weight = weights.unsqueeze(-1).expand_as(pred).to(pred.dtype)
    return ((pred - targets) ** 2 * weight).sum() / weight.sum().clamp(min=1)


@dataclass
class CoordinateCodec(Codec):
    """The network outputs pixel coordinates (e.g. the mean shape); its loss is the mean squared pixel error."""

    name = "coordinates"

    def encode(self, points, mask):
        return points, mask.float()

    def loss(self, output, targets, weights):
        return _masked_mse(output.float(), targets, weights)

    def decode_heads(self, output):
        points = output.reshape(output.shape[0], -1, 2).float()
        return points, _no_spread(points)


@dataclass
class RegressionCodec(Codec):
    """The network regresses coordinates divided by the image size (30 numbers in about [0, 1]); the loss
    is the MSE over labelled normalised coordinates (unlabelled ones contribute nothing)."""

    name = "regression"

    def encode(self, points, mask):
        return points / IMAGE_SIZE, mask.float()

    def loss(self, output, targets, weights):
        return _masked_mse(output, targets, weights)

    def decode_heads(self, output):
        points = output.reshape(output.shape[0], -1, 2).float() * IMAGE_SIZE
        return points, _no_spread(points)
