"""Models: each network's shape, and the registry (choices, defaults, options, rebuilding) that makes a model
one file."""

from __future__ import annotations

import pytest
import torch

from facekeypoints.models import create_model


def test_hourglass_is_fully_convolutional_at_full_resolution():
    model = create_model("hourglass", stacks=2, channels=16).train()
    outputs = model(torch.rand(2, 1, 96, 96))
    assert len(outputs) == 2 and all(o.shape == (2, 15, 96, 96) for o in outputs)
    assert model.eval()(torch.rand(1, 1, 96, 96)).shape == (1, 15, 96, 96)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_resnet18_regressor_shape(in_channels):
    model = create_model("resnet18", in_channels=in_channels).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 30)
    n = sum(p.numel() for p in model.parameters())
    assert 11_000_000 < n < 13_000_000  # ResNet-18 (11.2 M without its classifier) + the tutorial's head


def test_keypointnet_shape_and_size():
    model = create_model("keypointnet", width=16).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 19, 24, 24)  # 15 + 4 heads at stride 4
    default = create_model("keypointnet")
    assert sum(p.numel() for p in default.parameters()) * 4 < 10_000_000  # float32 weights under 10 MB
