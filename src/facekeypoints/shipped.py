"""What ships inside the package: trained weights (weights/<name>.pt, and weights/<name>.onnx for ONNX Runtime,
exported from them by `facekeypoints export`) and a sample photo (samples/)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED = ("keypointnet", "fast", "mean")  # models loadable by name; fast: keypointnet at width 8, no flip
DEFAULT_MODEL = "keypointnet"  # used wherever no model is named


def shipped_weights(name: str) -> Path:
    return Path(str(resources.files("facekeypoints") / "weights" / f"{name}.pt"))


def shipped_onnx(name: str) -> Path:
    return Path(str(resources.files("facekeypoints") / "weights" / f"{name}.onnx"))


def sample_image() -> Path:
    """NASA's portrait of astronaut Eileen Collins (public domain; also scikit-image's astronaut.png)."""
    return Path(str(resources.files("facekeypoints") / "samples" / "astronaut.png"))
