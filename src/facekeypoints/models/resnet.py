"""ResNet-18 (He et al. 2016) with the coordinate-regression head of the Paddle facial-keypoints tutorial.

Written here because this machine has no CPU build of torchvision; the layout matches torchvision's
resnet18: a 7x7 stride-2 stem and max-pool, BasicBlocks x [2, 2, 2, 2] of widths 64-128-256-512, global
average pooling and the 1000-way classifier layer, which the tutorial then maps 1000 -> 512 -> 30.
"""

from __future__ import annotations

import torch
from torch import nn

from ..keypoints import NUM_KEYPOINTS
from ..codecs import RegressionCodec
from ._registry import Option, register_model


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


@register_model(
    codec=RegressionCodec,
    summary="the Paddle tutorial's ResNet-18 regressing the 30 coordinates, MSE on normalised coordinates",
    options={"in_channels": Option(3, "grey face replicated to 3 channels, or 1", choices=(1, 3))},
    train={"epochs": 60, "batch_size": 256, "lr": 1e-3},  # Adam 1e-3, batch 256, 60 epochs (the tutorial)
)
class ResNet18Regressor(nn.Module):
    """ResNet-18 -> Linear 512->1000 -> Linear 1000->512 -> ReLU -> Dropout -> Linear 512->30.

    Output: the 15 (x, y) pairs divided by the image size. `in_channels=3` feeds the grey face to
    all three input channels, as a colour ResNet expects; 1 uses a single-channel stem.
    """

    name = "resnet18"

    def __init__(self, in_channels: int = 3, dropout: float = 0.1, num_keypoints: int = NUM_KEYPOINTS):
        super().__init__()
        self.in_channels = in_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers, channels = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(channels, width, stride), BasicBlock(width, width)]
            channels = width
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)  # torchvision's classifier layer, kept as the tutorial kept it
        self.head = nn.Sequential(nn.Linear(1000, 512), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                  nn.Linear(512, 2 * num_keypoints))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.expand(-1, self.in_channels, -1, -1)
        x = self.pool(self.layers(self.stem(x))).flatten(1)
        return self.head(self.fc(x))
