"""Export a model to ONNX: the whole `InferenceGraph`, decoding included, so that an ONNX file alone maps
uint8 faces (N, 96, 96) and a bool (N,) "four_point" to keypoints (N, K, 2) and spreads (N, K), and
any ONNX runtime (not only ours) can use it. The batch axis is dynamic. Its metadata ("facekeypoints": JSON)
holds the codec's settings, the keypoint set (names, flip pairs, mean shape) among them."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from .._fs import atomic_output
from .torch_backend import KeypointModel

OPSET = 17


def onnx_bytes(model: KeypointModel, flip: bool | None = None) -> bytes:
    """The model as a serialised ONNX graph, with flip averaging baked in when `flip` (default: the model's)."""
    import onnx

    graph = model.graph(flip).eval()
    # Export in float32 and the default memory layout: ONNX Runtime picks its own layouts.
    graph.module = _copy_contiguous(model.module)
    faces = torch.zeros(2, 96, 96, dtype=torch.uint8)
    four_point = torch.tensor([False, True])
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's notices about its future are not for users
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, (faces, four_point), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["faces", "four_point"], output_names=["keypoints", "spread"],
                          dynamic_axes={name: {0: "batch"} for name in ("faces", "four_point", "keypoints", "spread")})
    proto = onnx.load_from_string(buffer.getvalue())
    meta = {**{k: v for k, v in model.meta.items() if isinstance(v, (int, float, str))},
            "model": model.name, "flip": graph.flip, "codec": model.codec.config()}
    entry = proto.metadata_props.add()
    entry.key, entry.value = "facekeypoints", json.dumps(meta)
    proto.producer_name = "facekeypoints"
    return proto.SerializeToString()


def export_onnx(model: KeypointModel | str | Path, out: str | Path, flip: bool | None = None,
                force: bool = False) -> KeypointModel:
    """Write `model` (loaded, or a shipped name, checkpoint or run folder) to `out` as ONNX, atomically; an
    existing file only with `force`, refused before any work. Returns the model."""
    with atomic_output(out, force=force) as tmp:
        model = model if isinstance(model, KeypointModel) else KeypointModel.load(model, precision="fp32")
        tmp.write_bytes(onnx_bytes(model, flip))
    return model


def _copy_contiguous(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(module).float().to(memory_format=torch.contiguous_format)
