"""Stacked hourglass network (Newell et al. 2016) for keypoint heatmaps, as the original project built it.

Full resolution throughout: a 96x96 face in, 15 heatmaps of 96x96 out (a pixel-wise fully convolutional net).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..keypoints import NUM_KEYPOINTS
from ..codecs import HeatmapCodec
from ._registry import Option, register_model


class Residual(nn.Module):
    """Pre-activation bottleneck: BN-ReLU-1x1 (C->C/2), BN-ReLU-3x3, BN-ReLU-1x1 (C/2->C), plus the input."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        mid = out_channels // 2
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True), nn.Conv2d(in_channels, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, out_channels, 1),
        )
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class HourglassBlock(nn.Module):
    """One hourglass of `depth` levels: at each level a branch at this scale, and a branch that
    max-pools by 2, recurses, is upsampled by 2 and added back."""

    def __init__(self, depth: int, channels: int):
        super().__init__()
        self.up = Residual(channels, channels)
        self.down = Residual(channels, channels)
        self.inner = HourglassBlock(depth - 1, channels) if depth > 1 else Residual(channels, channels)
        self.after = Residual(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.after(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, scale_factor=2, mode="nearest")


@register_model(
    codec=HeatmapCodec,
    summary="the stacked hourglass of the original project, full-resolution Gaussian heatmaps read at the peak",
    options={"stacks": Option(1, "hourglasses stacked", low=1),
             "sigma": Option(2.0, "Gaussian std of the target heatmaps, pixels", codec=True, low=0.1),
             "decoder": Option("argmax", "heatmap decoding: the peak cell as the original, or subpixel",
                               choices=("argmax", "subpixel"), codec=True)},
    # Adam 1e-3, later 5e-4 (the original project): halved at half time
    train={"epochs": 4, "batch_size": 16, "lr": 1e-3, "schedule": "halve"},
)
class StackedHourglass(nn.Module):
    """`stacks` hourglasses in a row; each predicts heatmaps, which are mapped back into the features
    for the next (intermediate supervision). In training mode forward returns every stack's heatmaps,
    in eval mode the last stack's."""

    name = "hourglass"

    def __init__(self, stacks: int = 1, depth: int = 4, channels: int = 128, num_keypoints: int = NUM_KEYPOINTS):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, channels // 2, 3, padding=1, bias=False), nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True),
            Residual(channels // 2, channels),
        )
        self.hourglasses = nn.ModuleList(HourglassBlock(depth, channels) for _ in range(stacks))
        self.features = nn.ModuleList(
            nn.Sequential(Residual(channels, channels), nn.Conv2d(channels, channels, 1, bias=False),
                          nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for _ in range(stacks)
        )
        self.heads = nn.ModuleList(nn.Conv2d(channels, num_keypoints, 1) for _ in range(stacks))
        self.remap_features = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(stacks - 1))
        self.remap_heatmaps = nn.ModuleList(nn.Conv2d(num_keypoints, channels, 1) for _ in range(stacks - 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(images)
        outputs = []
        for i, (hourglass, features, head) in enumerate(zip(self.hourglasses, self.features, self.heads)):
            feat = features(hourglass(x))
            heatmaps = head(feat)
            outputs.append(heatmaps)
            if i < len(self.remap_features):
                x = x + self.remap_features[i](feat) + self.remap_heatmaps[i](heatmaps)
        return outputs if self.training else outputs[-1]
