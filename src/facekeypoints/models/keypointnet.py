"""KeypointNet: the project's own model, a small encoder-decoder that predicts stride-4 heatmaps.

Why this shape: a 96x96 face needs both context (where is the face, which way does it turn) and precise
local detail (the corner of an eye). The encoder goes down to 3x3 cells, where every cell sees the whole
face; the decoder comes back up to 24x24 with skip connections (as a U-Net / FPN does), and the heatmaps
are read out by soft-argmax (`IntegralCodec`), which gives sub-pixel coordinates from a coarse grid.

Its heads come from its keypoint set (`heads`, as timm's models take `num_classes`). For Kaggle's: 15
heatmaps for faces labelled in the 15-keypoint convention and 4 more for the 4-keypoint convention (eye
centres, nose tip, bottom lip), whose framing and labelling differ; the caller says which convention it
wants (see `IntegralCodec.select`).

`flip_offset` holds, per head, how far right of the mirror image the labels sit (pixels); it is learned
from flip-augmented training and used again by flip test-time averaging.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..keypoints import KAGGLE_15
from ..codecs import IntegralCodec
from ._registry import Option, register_model

HEADS = IntegralCodec(keypoint_set=KAGGLE_15).heads  # Kaggle's: 15, and 4 for its 4-keypoint convention


def conv_bn(in_channels: int, out_channels: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """Two 3x3 convolutions and a skip (ResNet's basic block at constant width)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Up(nn.Module):
    """Upsample the coarser map by 2, project it to the skip's width, add, and mix with a 3x3 conv."""

    def __init__(self, coarse: int, fine: int):
        super().__init__()
        self.project = nn.Conv2d(coarse, fine, 1, bias=False)
        self.mix = conv_bn(fine, fine)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # Projecting before upsampling costs a quarter of the other order.
        return self.mix(skip + F.interpolate(self.project(coarse), scale_factor=2.0, mode="nearest"))


@register_model(
    codec=IntegralCodec,
    summary="the project's own, stride-4 heatmaps read by soft-argmax, two labelling conventions and a learned "
    "flip offset",
    options={"width": Option(32, "channels at the finest level", low=1)},
    train={"epochs": 60, "batch_size": 64, "lr": 2e-3, "augment": True, "reframe": 0.5, "ema": 0.998, "weight_decay": 1e-4,
           "schedule": "cosine", "channels_last": False},
    flip_offset=True,
    heads_arg="heads",
)
class KeypointNet(nn.Module):
    name = "keypointnet"

    def __init__(self, width: int = 32, depth: tuple[int, ...] = (1, 1, 1, 1), heads: int = HEADS):
        super().__init__()
        self.width, self.depth, self.heads = width, tuple(depth), heads
        w = [width, 2 * width, 4 * width, 8 * width]  # channels at 24, 12, 6, 3 cells
        self.stem = nn.Sequential(conv_bn(1, width // 2, stride=2), conv_bn(width // 2, width, stride=2))
        stages = []
        for i, (channels, blocks) in enumerate(zip(w, self.depth)):
            layers = [conv_bn(w[i - 1], channels, stride=2)] if i else []
            layers += [Residual(channels) for _ in range(blocks)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.ups = nn.ModuleList([Up(w[i + 1], w[i]) for i in reversed(range(len(w) - 1))])
        self.head = nn.Conv2d(width, heads, 1)
        self.flip_offset = nn.Parameter(torch.zeros(heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Faces (N, 1, 96, 96) in [0, 1] -> heatmap logits (N, heads, 24, 24)."""
        x = self.stem(x - 0.5)
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            x = up(x, skip)
        return self.head(x)
