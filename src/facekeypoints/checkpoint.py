"""Checkpoints: one dict of tensors and plain values, loadable with `torch.load(weights_only=True)`.

{"format": 1, "model": registry name, "config": constructor kwargs, "state_dict": weights,
 "meta": what it was trained on and how well it did, "train_state": optional, to resume training}
"""

from __future__ import annotations

import io
import math
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._fs import write_bytes_atomic
from .errors import FacekeypointsError
from .models import create_model

FORMAT = 1


def save_checkpoint(
    path: str | Path, model: nn.Module, config: dict[str, Any], meta: dict[str, Any] | None = None,
    train_state: dict[str, Any] | None = None, force: bool = True,
) -> None:
    """Write atomically: a run killed mid-save, or a disk that fills, keeps the previous checkpoint. A write
    that fails (no space, no permission) is a FacekeypointsError naming the file and the reason."""
    payload = {"format": FORMAT, "model": model.name, "config": config, "state_dict": model.state_dict(),
               "meta": meta or {}}
    if train_state is not None:
        payload["train_state"] = train_state
    buffer = io.BytesIO()  # torch.save's own file writer says only "file write failed"; Python's says why
    torch.save(payload, buffer)
    try:
        write_bytes_atomic(path, buffer.getbuffer(), force=force)
    except OSError as exc:
        raise FacekeypointsError(f"cannot save {path}: {exc.strerror or exc} ({len(buffer.getbuffer()) / 1e6:.1f} "
                                 "MB to write); the file as it was is kept") from None


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


MAX_LAYERS = 4096  # a stored list of layer counts (keypointnet's depth) summing to more is no model's


def _check_sizes(name: str, config: dict[str, Any]) -> None:
    """Refuse sizes that no network has before one is built: negative or non-finite ones, and layer counts
    that would take the building itself for ever. (A huge width costs nothing on the meta device, where the
    weights are compared first.)"""
    for key, value in config.items():
        numbers = value if isinstance(value, (list, tuple)) else [value]
        numbers = [v for v in numbers if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if any(not math.isfinite(v) or v < 0 for v in numbers) or (
                isinstance(value, (list, tuple)) and sum(numbers) > MAX_LAYERS):
            raise FacekeypointsError(f"checkpoint of model {name!r}: its setting {key}={value!r:.80} is no network's "
                                     "size: a damaged or hostile file, not loaded")


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """The network a checkpoint holds, rebuilt from the model registry, in eval mode. Settings that no stored
    weights can fit are refused before anything is built; the weights are compared with a network built on
    torch's meta device (no memory) before the real one is."""
    given, config = payload["state_dict"], payload.get("config", {})
    _check_sizes(payload["model"], config)
    try:
        with torch.device("meta"):
            model = create_model(payload["model"], **config)
    except FacekeypointsError:
        raise
    except Exception as exc:  # e.g. a width the network cannot take: the file's fault, said in one line
        raise FacekeypointsError(f"checkpoint settings {config} do not build model {payload['model']!r}: "
                                 f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
                                 ) from None
    expected = model.state_dict()
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    misfit = [k for k in expected if k in given and (not isinstance(given[k], torch.Tensor)
                                                     or given[k].shape != expected[k].shape)]
    if missing or unexpected or misfit:  # torch's own message is a page long: say it in one line
        parts = [f"{len(names)} {what} (first: {names[0]})" for what, names in
                 (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misfit)) if names]
        raise FacekeypointsError(f"checkpoint weights do not fit model {payload['model']!r}: " + ", ".join(parts))
    model = create_model(payload["model"], **config)  # the same sizes as the weights: bounded by the file
    model.load_state_dict(given)
    return model.eval()
