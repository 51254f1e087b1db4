"""Checkpoints: one dict of tensors and plain values, loadable with `torch.load(weights_only=True)`.

{"format": 1, "model": registry name, "config": constructor kwargs, "state_dict": weights,
 "meta": what it was trained on and how well it did, "train_state": optional, to resume training}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._fs import atomic_output
from .errors import FacekeypointsError
from .models import create_model

FORMAT = 1


def save_checkpoint(
    path: str | Path, model: nn.Module, config: dict[str, Any], meta: dict[str, Any] | None = None,
    train_state: dict[str, Any] | None = None, force: bool = True,
) -> None:
    """Write atomically: a run killed mid-save keeps its previous checkpoint."""
    payload = {"format": FORMAT, "model": model.name, "config": config, "state_dict": model.state_dict(),
               "meta": meta or {}}
    if train_state is not None:
        payload["train_state"] = train_state
    with atomic_output(path, force=force) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FacekeypointsError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # pickle, zip and unsafe-type errors all mean "not our checkpoint"
        raise FacekeypointsError(f"{path}: not a facekeypoints checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload:
        raise FacekeypointsError(f"{path}: not a facekeypoints checkpoint (format {FORMAT})")
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """The network a checkpoint holds, rebuilt from the model registry, in eval mode."""
    model = create_model(payload["model"], **payload.get("config", {}))
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as error:  # missing, extra or mis-shaped weights
        first = str(error).strip().splitlines()[0]
        raise FacekeypointsError(f"checkpoint weights do not fit model {payload['model']!r}: {first}") from None
    return model.eval()
