"""Keypoint networks, one plain `nn.Module` per file, created by name from a registry (as timm does).

Each file declares, beside its network, the codec that reads its output, its options and its training
defaults (`@register_model(...)`); every module in this folder is imported here, so a new file is all a
new model needs. A model maps a batch of faces, float (N, 1, 96, 96) in [0, 1] (`normalise`), to its raw
output; turning that output into pixel coordinates is the job of its codec (`facekeypoints.codecs`).
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import torch

from ._registry import (ModelSpec, Option, create_model, flip_offset, list_models, model_options, model_spec,
                        register_model)


def normalise(faces: torch.Tensor) -> torch.Tensor:
    """uint8 faces (N, 96, 96) -> float (N, 1, 96, 96) in [0, 1]: the input every model takes."""
    return faces.unsqueeze(1).float() / 255.0


def faces_to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """`normalise` for a numpy batch, on `device`."""
    return normalise(torch.from_numpy(np.ascontiguousarray(images)).to(device))


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")  # each registers its model

__all__ = ["ModelSpec", "Option", "create_model", "faces_to_tensor", "flip_offset", "list_models", "model_options",
           "model_spec", "normalise", "register_model"]
