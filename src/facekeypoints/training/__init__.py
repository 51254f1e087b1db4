"""Training: a run's settings (`config.py`), the loop with exact resume, EMA and DDP (`loop.py`), learning-rate
schedules (`schedule.py`) and batched augmentation (`augment.py`). `facekeypoints train` is `run(TrainConfig(...))`.

Names are imported on first use, so that `facekeypoints.training.schedule` (which the command line reads)
does not load torch.
"""

from __future__ import annotations

import importlib

_WHERE = {"Augmentation": "augment", "COMMON": "config", "DEFAULT_TRAIN_MODEL": "config", "TrainConfig": "config",
          "build": "config", "config_from_dict": "config",
          "config_from_flags": "config", "resolve_config": "config", "SCHEDULES": "schedule",
          "lr_at": "schedule", "fit_closed_form": "loop", "run": "loop", "train_step": "loop"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = sorted(_WHERE)
