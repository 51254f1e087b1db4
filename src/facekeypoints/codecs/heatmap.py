"""Gaussian heatmap targets, decoded at the peak: the stacked-hourglass approach."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..keypoints import IMAGE_SIZE
from .base import Codec, cell_centres, gaussian


@dataclass
class HeatmapCodec(Codec):
    """One 2-D Gaussian per keypoint (peak 1 at the keypoint, std `sigma` pixels); keypoint = the peak.

    decoder "argmax": the hottest cell, as the original hourglass project did (integer pixels).
    decoder "subpixel": refines the argmax with a parabola through the log-heatmap at the peak and its
    neighbours, along x and y; for a Gaussian peak that is exact.
    """

    name = "heatmap"
    sigma: float = 2.0
    size: int = IMAGE_SIZE
    stride: int = 1
    decoder: str = "argmax"

    def __post_init__(self):
        if self.decoder not in ("argmax", "subpixel"):
            raise ValueError(f"unknown heatmap decoder {self.decoder!r}")
        self.sigma, self.size, self.stride = float(self.sigma), int(self.size), int(self.stride)
        self.cells = self.size // self.stride

    def heatmaps_of(self, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Target heatmaps (N, K, H, W) of points (N, K, 2); unlabelled keypoints get all zeros."""
        centres = cell_centres(self.cells, self.stride, points.device)
        heatmaps = gaussian(centres, centres, torch.nan_to_num(points.float()), self.sigma)
        return heatmaps * mask.to(heatmaps.dtype)[..., None, None]

    def encode(self, points, mask):
        return self.heatmaps_of(points, mask), mask.float()

    def loss(self, output, targets, weights):
        """Mean squared error per heatmap, averaged over labelled keypoints only (unlabelled: masked out).

        A list of outputs (stacked hourglasses) is intermediate supervision: each stack gets the loss.
        """
        outputs = output if isinstance(output, (list, tuple)) else [output]
        weight = weights.to(targets.dtype)
        total = 0.0
        for out in outputs:
            per_map = ((out - targets) ** 2).mean(dim=(-2, -1))
            total = total + (per_map * weight).sum() / weight.sum().clamp(min=1)
        return total

    def heatmaps(self, output):
        return output[-1] if isinstance(output, (list, tuple)) else output

    def target_heatmaps(self, keypoints, mask):
        return self.heatmaps_of(keypoints, mask)

    def decode_heads(self, heatmaps):
        n, k, h, w = heatmaps.shape
        index = heatmaps.reshape(n, k, h * w).argmax(dim=-1)
        iy, ix = index // w, index % w
        x, y = ix.to(torch.float32), iy.to(torch.float32)
        if self.decoder == "subpixel":
            logs = torch.log(heatmaps.float().clamp(min=1e-10))
            x = x + _parabola_peak(logs, iy, ix, axis=-1)
            y = y + _parabola_peak(logs, iy, ix, axis=-2)
        points = torch.stack((x, y), dim=-1) * self.stride + (self.stride - 1) / 2
        return points, torch.full_like(x, float("nan"))


def _parabola_peak(logs: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor, axis: int) -> torch.Tensor:
    """Offset in [-0.5, 0.5] of the vertex of the parabola through the peak and its two neighbours."""
    n, k, h, w = logs.shape
    size = w if axis == -1 else h
    centre = ix if axis == -1 else iy
    lo, hi = (centre - 1).clamp(min=0), (centre + 1).clamp(max=size - 1)
    flat = logs.reshape(n, k, h * w)

    def at(y, x):
        return flat.gather(-1, (y * w + x).unsqueeze(-1)).squeeze(-1)

    if axis == -1:
        left, mid, right = at(iy, lo), at(iy, ix), at(iy, hi)
    else:
        left, mid, right = at(lo, ix), at(iy, ix), at(hi, ix)
    curvature = left - 2 * mid + right
    offset = torch.where(curvature < -1e-6, 0.5 * (left - right) / curvature, torch.zeros_like(mid))
    inside = (centre > 0) & (centre < size - 1)
    return torch.where(inside, offset.clamp(-0.5, 0.5), torch.zeros_like(offset))
