"""The PyTorch backend: a checkpoint's network and codec, run through `InferenceGraph`."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._device import cpu_has_amx
from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..codecs import Codec, CoordinateCodec, codec_from_config
from ..errors import FacekeypointsError
from ..models import faces_to_tensor, model_spec
from ..shipped import DEFAULT_MODEL, model_files
from .graph import InferenceGraph
from .predictor import Predictor


class KeypointModel(Predictor):
    """A trained model ready to predict: `KeypointModel.load().predict(images)` (the shipped default)."""

    backend = "torch"

    def __init__(self, module: nn.Module, codec: Codec | None = None, meta: dict[str, Any] | None = None,
                 source: str = "", precision: str = "auto"):
        """precision: "fp32", "bf16" (bfloat16 autocast), or "auto": bf16 on a CPU with AMX, where it is
        several times faster (measured: `benchmarks/models.py`), else fp32."""
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
        self.module = module.eval()
        self.codec = codec or CoordinateCodec()
        self.meta = meta or {}
        self.source = source
        self.precision = precision

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_MODEL, precision: str = "auto") -> KeypointModel:
        """A shipped model by name (default: the best) or a checkpoint file written by `facekeypoints train`."""
        files = model_files(name_or_path)
        if files.checkpoint is None:
            raise FacekeypointsError(f"{name_or_path} is an ONNX file: it runs on ONNX Runtime (--backend onnx)")
        payload = load_checkpoint(files.checkpoint)
        meta = payload.get("meta", {})
        codec = codec_from_config(meta["codec"]) if "codec" in meta else model_spec(payload["model"]).codec()
        # channels-last convolutions are faster on CPUs (only here: a model in training keeps its layout)
        module = model_from_checkpoint(payload).to(memory_format=torch.channels_last)
        return cls(module, codec, meta, str(files.checkpoint), precision)

    @property
    def name(self) -> str:
        return self.module.name

    @property
    def keypoint_set(self):
        return self.codec.keypoint_set

    @property
    def bf16(self) -> bool:
        if self.precision == "auto":
            return self.device.type == "cpu" and cpu_has_amx()
        return self.precision == "bf16"

    @property
    def device(self) -> torch.device:
        return next(itertools.chain(self.module.parameters(), self.module.buffers())).device

    @property
    def can_flip(self) -> bool:
        return model_spec(self.name).flip_offset and self.keypoint_set.can_flip

    def graph(self, flip: bool | None = None) -> InferenceGraph:
        return InferenceGraph(self.module, self.codec, self.resolve_flip(flip))

    @torch.inference_mode()
    def heatmaps(self, images: np.ndarray, four_point: np.ndarray | None = None) -> np.ndarray:
        """The heatmaps (N, K, H, W) of a heatmap model, in the faces' labelling convention: raw for the
        hourglass, the soft-argmax probabilities for keypointnet."""
        maps = self.codec.heatmaps(self.module(faces_to_tensor(images, self.device)))
        if maps is None:
            raise FacekeypointsError(f"model {self.name} predicts coordinates, not heatmaps")
        four = None if four_point is None else torch.as_tensor(four_point)
        return self.codec.select(maps.float(), four).cpu().numpy()

    @torch.inference_mode()
    def _run(self, faces, four_point, flip):
        device = self.device
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
            points, spread = self.graph(flip)(torch.from_numpy(faces).to(device),
                                              torch.from_numpy(four_point).to(device))
        return points.float().cpu().numpy(), spread.float().cpu().numpy()
