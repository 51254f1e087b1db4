"""Checkpoints: one dict of tensors and plain values, loadable with `torch.load(weights_only=True)`.

{"format": 1, "model": registry name, "config": constructor kwargs, "state_dict": weights,
 "meta": what it was trained on and how well it did, "train_state": optional, to resume training}
"""

from __future__ import annotations

import pickle
import re
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
    """The checkpoint's dict, checked for shape; anything else is one line saying what the file is not."""
    not_ours = f"{path}: not a facekeypoints checkpoint"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FacekeypointsError(f"{path}: no such checkpoint") from None
    except IsADirectoryError:
        raise FacekeypointsError(f"{path}: a folder, not a checkpoint") from None
    except pickle.UnpicklingError as exc:  # weights_only refused a type: never load it, whatever torch suggests
        raise FacekeypointsError(f"{not_ours}: not plain tensors and values, so it was not loaded"
                                 f"{_refusal_reason(str(exc))}") from None
    except Exception as exc:  # zip, pickle framing and torch's own errors all mean "not our file"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FacekeypointsError(f"{not_ours} ({first})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FacekeypointsError(f"{not_ours} (format {FORMAT})")
    for key, kind in (("model", str), ("config", dict), ("state_dict", dict), ("meta", dict)):
        if not isinstance(payload.get(key, {}), kind) or (key in ("model", "state_dict") and key not in payload):
            raise FacekeypointsError(f"{not_ours}: its {key!r} is missing or not a {kind.__name__}")
    return payload


def _refusal_reason(text: str) -> str:
    """What torch's weights-only unpickler objected to, without its page of advice to load unsafely."""
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n|$)", text, re.S)
    if found:
        return f" ({found.group(1).strip()})"
    advice = ("weights_only", "Weights only", "Check the documentation", "trust")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not any(a in line for a in advice)]
    return f" ({lines[0].rstrip('.')})" if lines else ""


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """The network a checkpoint holds, rebuilt from the model registry, in eval mode."""
    model = create_model(payload["model"], **payload.get("config", {}))
    expected, given = model.state_dict(), payload["state_dict"]
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    misfit = [k for k in expected if k in given and (not isinstance(given[k], torch.Tensor)
                                                     or given[k].shape != expected[k].shape)]
    if missing or unexpected or misfit:  # torch's own message is a page long: say it in one line
        parts = [f"{len(names)} {what} (first: {names[0]})" for what, names in
                 (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misfit)) if names]
        raise FacekeypointsError(f"checkpoint weights do not fit model {payload['model']!r}: " + ", ".join(parts))
    model.load_state_dict(given)
    return model.eval()
