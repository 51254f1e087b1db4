"""Prediction on 96x96 faces with either backend, and ONNX export.

    predictor.py      Predictor: the interface (checks input, batches); no torch, no onnxruntime
    onnx_backend.py   OnnxKeypointModel: an exported graph on ONNX Runtime (no torch needed)
    graph.py          InferenceGraph: network + codec decoding in one torch module, uint8 faces in
    torch_backend.py  KeypointModel: a checkpoint run by PyTorch through InferenceGraph
    export.py         InferenceGraph -> ONNX
    loading.py        load_model: a shipped name or a file -> the backend that suits it

Nothing here imports torch or onnxruntime until a model needs it.
"""

from __future__ import annotations

from .loading import BACKENDS, load_model
from .onnx_backend import OnnxKeypointModel
from .predictor import Predictor


def __getattr__(name: str):
    if name == "KeypointModel":  # torch loads only when asked for
        from .torch_backend import KeypointModel

        return KeypointModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKENDS", "KeypointModel", "OnnxKeypointModel", "Predictor", "load_model"]
