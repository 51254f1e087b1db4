"""What ships inside the package: trained weights (weights/<name>.pt, and weights/<name>.onnx for ONNX Runtime,
exported from them by `facekeypoints export`; weights/<name>.uncertainty.json, the expected error per keypoint
by spread, from `tools/calibrate.py`) and a sample photo (samples/); and where a model named by the user lives
(`model_files`), decided here once for every backend."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import FacekeypointsError

SHIPPED = ("keypointnet", "fast", "mean")  # models loadable by name; fast: keypointnet at width 8, no flip
DEFAULT_MODEL = "keypointnet"  # used wherever no model is named
MODEL_SUFFIXES = (".pt", ".pth", ".onnx")


def shipped_weights(name: str) -> Path:
    return Path(str(resources.files("facekeypoints") / "weights" / f"{name}.pt"))


def shipped_onnx(name: str) -> Path:
    return Path(str(resources.files("facekeypoints") / "weights" / f"{name}.onnx"))


def sample_image() -> Path:
    """NASA's portrait of astronaut Eileen Collins (public domain; also scikit-image's astronaut.png)."""
    return Path(str(resources.files("facekeypoints") / "samples" / "astronaut.png"))


@dataclass(frozen=True)
class ModelFiles:
    """A model's files: a checkpoint (torch) and/or an ONNX graph (ONNX Runtime); None where there is none."""

    checkpoint: Path | None
    onnx: Path | None
    calibration: Path | None = None  # <model>.uncertainty.json beside it, if there is one


def model_files(name_or_path: str | os.PathLike) -> ModelFiles:
    """A shipped model's name, a checkpoint, a training run's folder (its best.pt) or an .onnx file -> its files."""
    text = str(name_or_path)
    if text in SHIPPED:
        onnx = shipped_onnx(text)
        return ModelFiles(shipped_weights(text), onnx if onnx.exists() else None, _calibration(shipped_weights(text)))
    path = Path(text)
    if path.is_dir():
        if not (path / "best.pt").is_file():
            raise FacekeypointsError(f"{path}: a folder without best.pt (give a checkpoint, .onnx file or run folder)")
        path = path / "best.pt"
    if not path.exists():
        if path.suffix.lower() in MODEL_SUFFIXES or os.sep in text:
            raise FacekeypointsError(f"{path}: no such file")
        close = difflib.get_close_matches(text, SHIPPED, n=1)
        raise FacekeypointsError(f"unknown model {text!r}: " + (f"did you mean {close[0]}? " if close else "")
                                 + f"give a checkpoint or .onnx file, or a shipped model: {', '.join(SHIPPED)}")
    if path.suffix.lower() == ".onnx":
        return ModelFiles(None, path, _calibration(path))
    return ModelFiles(path, None, _calibration(path))


def calibration_path(model: Path) -> Path:
    """Where a model file's uncertainty calibration lives: beside it, as <stem>.uncertainty.json."""
    return model.with_suffix(".uncertainty.json")


def _calibration(model: Path) -> Path | None:
    path = calibration_path(model)
    return path if path.is_file() else None
