"""Prediction with either backend: PyTorch (`predictor.KeypointModel`) or ONNX Runtime (`OnnxKeypointModel`).

Both run the same graph (`predictor.InferenceGraph`: uint8 faces in, decoded keypoints out), so they agree
to float rounding; this module batches, checks input and picks a backend (`load_model`). It imports
neither torch nor onnxruntime until asked: with the shipped ONNX files, inference needs no torch at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._progress import progress
from .errors import FacekeypointsError
from .keypoints import IMAGE_SIZE, NUM_KEYPOINTS
from .shipped import DEFAULT_MODEL, SHIPPED, shipped_onnx, shipped_weights

BACKENDS = ("auto", "onnx", "torch")


class Predictor:
    """What every loaded model offers: `predict(images)` -> keypoints (N, 15, 2). Subclasses run one batch."""

    backend = ""
    name = ""
    meta: dict[str, Any] = {}
    source = ""

    @property
    def can_flip(self) -> bool:
        """Whether the model can average its predictions with those on the mirrored faces."""
        return False

    @property
    def flips_by_default(self) -> bool:
        """Whether `predict` averages with the mirrored faces unless told (a model's "flip" metadata;
        the fast model says no: it is shipped for speed)."""
        return self.can_flip and bool(self.meta.get("flip", True))

    def resolve_flip(self, flip: bool | None) -> bool:
        """Whether a call asking `flip` (None: the default) averages with the mirrored faces."""
        return self.flips_by_default if flip is None else bool(flip) and self.can_flip

    def predict(self, images: np.ndarray, batch_size: int = 256, show_progress: bool = False,
                four_point: np.ndarray | None = None, flip: bool | None = None) -> np.ndarray:
        """Keypoints, float32 (N, 15, 2) pixel (x, y), of uint8 grey faces (N, 96, 96).

        four_point: bool (N,), faces to place in the Kaggle data's 4-keypoint labelling convention (for
        a model that knows both; others ignore it). flip: also predict on the mirrored faces and average
        (default: whenever the model can, unless its metadata says otherwise).
        """
        return self._predict(images, batch_size, show_progress, four_point, flip)[0]

    def predict_with_spread(self, images: np.ndarray, batch_size: int = 256, flip: bool | None = None):
        """Keypoints as `predict`, and for each face the median spread of its 15 heatmaps (N,) in pixels:
        a measure of doubt, low (about 7) on faces and high on things that are not faces. NaN for models
        without heatmaps read by soft-argmax."""
        return self._predict(images, batch_size, False, None, flip)

    def _predict(self, images, batch_size, show_progress, four_point, flip):
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected faces of shape (N, 96, 96), got {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"expected uint8 grey levels, got {images.dtype}")
        flip = self.resolve_flip(flip)
        four_point = np.zeros(len(images), bool) if four_point is None else np.asarray(four_point, bool)
        out = np.empty((len(images), NUM_KEYPOINTS, 2), np.float32)
        doubt = np.full(len(images), np.nan, np.float32)
        starts = range(0, len(images), batch_size)
        for start in progress(starts, desc="predicting", unit="batch", disable=not show_progress):
            end = start + batch_size
            points, spread = self._run(np.ascontiguousarray(images[start:end]), four_point[start:end], flip)
            out[start:end] = points
            doubt[start:end] = np.median(spread, axis=1)
        return out, doubt

    def _run(self, faces: np.ndarray, four_point: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
        """One batch: keypoints (n, 15, 2) and per-keypoint heatmap spread (n, 15), both float32."""
        raise NotImplementedError


def onnx_runtime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxKeypointModel(Predictor):
    """A model exported by `facekeypoints export`, run by ONNX Runtime on the CPU (no torch needed).

    threads: intra-op threads (default: ONNX Runtime's, one per core).
    """

    backend = "onnx"

    def __init__(self, model: str | Path | bytes, threads: int | None = None, source: str = ""):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        data = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise FacekeypointsError(f"cannot load ONNX model {source or model}: {error}") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = json.loads(props.get("facekeypoints", "{}"))
        self.name = self.meta.get("model", "onnx")
        self.flips = bool(self.meta.get("flip", False))
        self.source = source or str(model)
        self.inputs = {i.name for i in self.session.get_inputs()}

    @property
    def can_flip(self) -> bool:
        return self.flips

    def _run(self, faces, four_point, flip):
        if flip != self.flips:
            raise FacekeypointsError(
                f"{self.source} was exported {'with' if self.flips else 'without'} flip averaging; export it "
                f"again with {'--no-flip' if self.flips else '--flip'} to predict {'without' if self.flips else 'with'}")
        feed = {"faces": faces, "four_point": four_point}
        points, spread = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})
        return points, spread


def load_model(name_or_path: str | Path = DEFAULT_MODEL, backend: str = "auto", precision: str = "auto",
               threads: int | None = None) -> Predictor:
    """A model ready to predict, by shipped name or file (a checkpoint from `facekeypoints train`, or an
    ONNX file from `facekeypoints export`).

    backend "auto": ONNX Runtime for shipped models and .onnx files when onnxruntime is installed (measured
    several times faster for one face than torch; see `benchmarks/models.py`), torch for checkpoints.
    "onnx" on a checkpoint exports it in memory first. precision applies to torch only (see `KeypointModel`).
    """
    if backend not in BACKENDS:
        raise FacekeypointsError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    text = str(name_or_path)
    if text in SHIPPED:
        onnx_file = shipped_onnx(text)
        if backend == "onnx" or (backend == "auto" and onnx_file.exists() and onnx_runtime_available()):
            if not onnx_file.exists():
                raise FacekeypointsError(f"model {text!r} ships no ONNX file; use --backend torch")
            return OnnxKeypointModel(onnx_file, threads)
        return _torch_model(shipped_weights(text), precision)
    path = Path(text)
    if not path.exists():
        raise FacekeypointsError(
            f"unknown model {text!r}: give a checkpoint or .onnx file, or one of the shipped models: {', '.join(SHIPPED)}")
    if path.suffix.lower() == ".onnx":
        if backend == "torch":
            raise FacekeypointsError(f"{path} is an ONNX file: it runs on ONNX Runtime (--backend onnx or auto)")
        return OnnxKeypointModel(path, threads)
    model = _torch_model(path, precision)
    if backend == "onnx":
        from .export import onnx_bytes

        return OnnxKeypointModel(onnx_bytes(model), threads, source=str(path))
    return model


def _torch_model(path: Path, precision: str) -> Predictor:
    try:
        from .predictor import KeypointModel
    except ImportError as error:
        raise FacekeypointsError(f"this model needs PyTorch ({error}); install torch, or use a shipped model "
                                 "with onnxruntime installed") from None
    return KeypointModel.load(path, precision)
