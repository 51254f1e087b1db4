"""Turn a trained model into keypoints: load by name or path, batch, normalise, decode."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._progress import progress
from .checkpoint import load_checkpoint, model_from_checkpoint
from .codecs import CoordinateCodec, codec_from_config
from .errors import FacekeypointsError
from .keypoints import IMAGE_SIZE, NUM_KEYPOINTS
from .shipped import DEFAULT_MODEL, SHIPPED, shipped_weights


def faces_to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """uint8 faces (N, 96, 96) -> float (N, 1, 96, 96) in [0, 1]: the input every model takes."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(255.0).unsqueeze(1)


def _cpu_has_amx() -> bool:
    # torch.cpu's feature probes are private; without them, assume no AMX (fp32 is always correct).
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe()) if probe else False
    except Exception:
        return False


class KeypointModel:
    """A trained model ready to predict: `KeypointModel.load().predict(images)` (the shipped default)."""

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
            return self.device.type == "cpu" and _cpu_has_amx()
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

    @property
    def can_flip(self) -> bool:
        """Whether the model can average its predictions with those on the mirrored faces."""
        return hasattr(self.codec, "unflip") and hasattr(self.module, "flip_offset")

    @torch.inference_mode()
    def predict(self, images: np.ndarray, batch_size: int = 256, show_progress: bool = False,
                four_point: np.ndarray | None = None, flip: bool | None = None) -> np.ndarray:
        """Keypoints, float32 (N, 15, 2) pixel (x, y), of uint8 grey faces (N, 96, 96).

        four_point: bool (N,), faces to place in the Kaggle data's 4-keypoint labelling convention (for
        a model that knows both; others ignore it). flip: also predict on the mirrored faces and average
        (default: whenever the model can).
        """
        return self._predict(images, batch_size, show_progress, four_point, flip)[0]

    @torch.inference_mode()
    def predict_with_spread(self, images: np.ndarray, batch_size: int = 256, flip: bool | None = None):
        """Keypoints as `predict`, and for each face the median spread of its 15 heatmaps (N,) in pixels:
        a measure of doubt, low (about 7) on faces and high on things that are not faces. NaN for models
        without heatmaps read by soft-argmax."""
        return self._predict(images, batch_size, False, None, flip)

    def _predict(self, images, batch_size, show_progress, four_point, flip):
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected faces of shape (N, 96, 96), got {images.shape}")
        flip = self.can_flip if flip is None else flip and self.can_flip
        out = np.empty((len(images), NUM_KEYPOINTS, 2), np.float32)
        doubt = np.full(len(images), np.nan, np.float32)
        starts = range(0, len(images), batch_size)
        for start in progress(starts, desc="predicting", unit="batch", disable=not show_progress):
            batch = faces_to_tensor(images[start : start + batch_size], self.device)
            four = None if four_point is None else torch.as_tensor(four_point[start : start + len(batch)])
            with torch.autocast(batch.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                points, spread = self._decode(batch, four, flip)
            out[start : start + len(batch)] = points.float().cpu().numpy()
            if spread is not None:
                doubt[start : start + len(batch)] = spread.cpu().numpy()
        return out, doubt

    def _decode(self, batch: torch.Tensor, four_point: torch.Tensor | None, flip: bool):
        """(keypoints (N, 15, 2), median heatmap spread (N,) or None) of a batch."""
        if not hasattr(self.codec, "select"):
            return self.codec.decode(self.module(batch)), None
        if flip:  # one forward pass over the faces and their mirror images: half the calls
            both = self.module(torch.cat((batch, batch.flip(-1))))
            points, spread = self.codec.points_and_spread(both[: len(batch)])
            mirrored = self.codec.unflip(self.codec.points(both[len(batch) :]), self.module.flip_offset)
            points = (points + mirrored) / 2
        else:
            points, spread = self.codec.points_and_spread(self.module(batch))
        spread = self.codec.select(spread.unsqueeze(-1), four_point)[..., 0].median(dim=1).values
        return self.codec.select(points, four_point), spread
