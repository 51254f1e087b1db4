"""The PyTorch backend: load a checkpoint, and the graph from uint8 faces to keypoints that both backends run."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint, model_from_checkpoint
from .codecs import CoordinateCodec, codec_from_config
from .errors import FacekeypointsError
from .inference import Predictor
from .shipped import DEFAULT_MODEL, SHIPPED, shipped_weights


def normalise(faces: torch.Tensor) -> torch.Tensor:
    """uint8 faces (N, 96, 96) -> float (N, 1, 96, 96) in [0, 1]: the input every model takes."""
    return faces.unsqueeze(1).float() / 255.0


def faces_to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """`normalise` for a numpy batch, on `device`."""
    return normalise(torch.from_numpy(np.ascontiguousarray(images)).to(device))


def cpu_has_amx() -> bool:
    # torch.cpu's feature probes are private; without them, assume no AMX (fp32 is always correct).
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe()) if probe else False
    except Exception:
        return False


class InferenceGraph(nn.Module):
    """Network and decoding in one module: uint8 faces (N, 96, 96) and which of them are in the 4-keypoint
    convention (N,) -> keypoints (N, 15, 2) and each keypoint's heatmap spread (N, 15) (NaN for models
    without soft-argmax heatmaps). The torch backend runs it; `facekeypoints export` writes it to ONNX.

    flip: also run the mirrored faces (in the same batch) and average, undoing the labels' learned offset.
    """

    def __init__(self, module: nn.Module, codec, flip: bool = False):
        super().__init__()
        self.module, self.codec, self.flip = module, codec, flip

    def forward(self, faces: torch.Tensor, four_point: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = normalise(faces)
        if not hasattr(self.codec, "select"):
            points = self.codec.decode(self.module(batch)).float()
            return points, torch.full_like(points[..., 0], float("nan"))
        if self.flip:
            both = self.module(torch.cat((batch, batch.flip(-1))))
            n = batch.shape[0]
            points, spread = self.codec.points_and_spread(both[:n])
            mirrored = self.codec.unflip(self.codec.points(both[n:]), self.module.flip_offset)
            points = (points + mirrored) / 2
        else:
            points, spread = self.codec.points_and_spread(self.module(batch))
        return self.codec.select(points, four_point), self.codec.select(spread.unsqueeze(-1), four_point)[..., 0]


class KeypointModel(Predictor):
    """A trained model ready to predict: `KeypointModel.load().predict(images)` (the shipped default)."""

    backend = "torch"

    def __init__(self, module: nn.Module, codec=None, meta: dict[str, Any] | None = None, source: str = "",
                 precision: str = "auto"):
        """precision: "fp32", "bf16" (bfloat16 autocast), or "auto": bf16 on a CPU with AMX, where it is
        several times faster (measured: `benchmarks/models.py`), else fp32."""
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
        self.module = module.eval()
        self.codec = codec or CoordinateCodec()
        self.meta = meta or {}
        self.source = source
        self.precision = precision

    @property
    def bf16(self) -> bool:
        if self.precision == "auto":
            return self.device.type == "cpu" and cpu_has_amx()
        return self.precision == "bf16"

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_MODEL, precision: str = "auto") -> KeypointModel:
        """A shipped model by name (default: the best) or a checkpoint file written by `facekeypoints train`."""
        text = str(name_or_path)
        if text in SHIPPED:
            path = shipped_weights(text)
        elif Path(text).exists():
            path = Path(text)
        else:
            raise FacekeypointsError(
                f"unknown model {text!r}: give a checkpoint file or one of the shipped models: {', '.join(SHIPPED)}"
            )
        payload = load_checkpoint(path)
        meta = payload.get("meta", {})
        codec = codec_from_config(meta.get("codec", {"name": "coordinates"}))
        # channels-last convolutions are faster on CPUs (only here: a model in training keeps its layout)
        module = model_from_checkpoint(payload).to(memory_format=torch.channels_last)
        return cls(module, codec, meta, str(path), precision)

    @property
    def name(self) -> str:
        return self.module.name

    @property
    def device(self) -> torch.device:
        return next(itertools.chain(self.module.parameters(), self.module.buffers())).device

    @property
    def can_flip(self) -> bool:
        return hasattr(self.codec, "unflip") and hasattr(self.module, "flip_offset")

    def graph(self, flip: bool | None = None) -> InferenceGraph:
        return InferenceGraph(self.module, self.codec, self.resolve_flip(flip))

    @torch.inference_mode()
    def heatmaps(self, images: np.ndarray, four_point: np.ndarray | None = None) -> np.ndarray:
        """The heatmaps (N, 15, H, W) of a heatmap model: raw for the hourglass, the soft-argmax
        probabilities (in the faces' labelling convention) for keypointnet."""
        if self.codec.name not in ("heatmap", "integral"):
            raise FacekeypointsError(f"model {self.name} predicts coordinates, not heatmaps")
        output = self.module(faces_to_tensor(images, self.device)).float()
        if self.codec.name == "integral":
            four = None if four_point is None else torch.as_tensor(four_point)
            output = self.codec.select(self.codec.probabilities(output), four)
        return output.cpu().numpy()

    @torch.inference_mode()
    def _run(self, faces, four_point, flip):
        device = self.device
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
            points, spread = self.graph(flip)(torch.from_numpy(faces).to(device), torch.from_numpy(four_point).to(device))
        return points.float().cpu().numpy(), spread.float().cpu().numpy()
