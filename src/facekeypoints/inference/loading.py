"""`load_model`: a shipped name or a file -> a model ready to predict, on the backend that suits it."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, FacekeypointsError
from ..shipped import DEFAULT_MODEL, ModelFiles, model_files
from ..uncertainty import Calibration
from .onnx_backend import OnnxKeypointModel, onnx_runtime_available
from .predictor import Predictor

BACKENDS = ("auto", "onnx", "torch")


def load_model(name_or_path: str | Path = DEFAULT_MODEL, backend: str = "auto", precision: str = "auto",
               threads: int | None = None) -> Predictor:
    """A model ready to predict, by shipped name or file (a checkpoint from `facekeypoints train`, its run
    folder, or an ONNX file from `facekeypoints export`).

    backend "auto": ONNX Runtime for shipped models and .onnx files when onnxruntime is installed (measured
    several times faster for one face than torch; see `benchmarks/models.py`), torch for checkpoints.
    "onnx" on a checkpoint exports it in memory first. precision applies to torch only (see `KeypointModel`).
    The model's `uncertainty` is read from <model>.uncertainty.json beside it (the shipped models have one).
    """
    if backend not in BACKENDS:
        raise FacekeypointsError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    files = model_files(name_or_path)
    model = _load(files, backend, precision, threads)
    model.uncertainty = Calibration.read(files.calibration) if files.calibration else None
    if model.uncertainty is not None and model.uncertainty.names != model.keypoint_set.names:
        raise DataError(f"its keypoints ({', '.join(model.uncertainty.names[:3])}, ...) are not the model's "
                        f"({model.keypoint_set.name}: {', '.join(model.keypoint_set.names[:3])}, ...): a calibration "
                        "of another model", str(files.calibration))
    return model


def _load(files: ModelFiles, backend: str, precision: str, threads: int | None) -> Predictor:
    if files.checkpoint is None:  # an ONNX file of the user's
        if backend == "torch":
            raise FacekeypointsError(f"{files.onnx} is an ONNX file: it runs on ONNX Runtime (--backend onnx or auto)")
        return OnnxKeypointModel(files.onnx, threads)
    if files.onnx is not None and (backend == "onnx" or (backend == "auto" and onnx_runtime_available())):
        return OnnxKeypointModel(files.onnx, threads)
    model = _torch_model(files.checkpoint, precision)
    if backend == "onnx":
        from .export import onnx_bytes

        return OnnxKeypointModel(onnx_bytes(model), threads, source=str(files.checkpoint))
    return model


def _torch_model(path: Path, precision: str) -> Predictor:
    try:
        from .torch_backend import KeypointModel
    except ImportError as error:
        raise FacekeypointsError(f"this model needs PyTorch ({error}): pip install 'facekeypoints[train]' (from a "
                                 "clone: pip install \".[train]\"), or use a shipped model or an .onnx file, which "
                                 "ONNX Runtime runs") from None
    return KeypointModel.load(path, precision)
