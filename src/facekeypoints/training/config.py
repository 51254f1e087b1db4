"""A training run's settings: what the user gave, the model's own defaults (from the registry) for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .._device import cpu_has_amx
from ..errors import FacekeypointsError
from ..models import model_spec
from .schedule import SCHEDULES

DEFAULT_TRAIN_MODEL = "keypointnet"  # the best model: what `train` trains unless told


@dataclass
class TrainConfig:
    model: str = DEFAULT_TRAIN_MODEL
    data: str = ""
    out: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # the model's own options (its `@register_model`)
    epochs: int | None = None  # None here and below: the model's default (its `train=`), else COMMON's
    batch_size: int | None = None
    lr: float | None = None
    augment: bool | None = None  # flip/rotate/scale/shift/brightness/contrast (augment.Augmentation)
    ema: float | None = None  # decay of an exponential moving average of the weights (0: none)
    weight_decay: float | None = None  # > 0: AdamW with this decay, else Adam
    schedule: str | None = None  # constant; halve (at half time); cosine (one epoch of warm-up, then cosine)
    bf16: bool | None = None  # bfloat16 autocast (default: on GPUs and on CPUs with AMX; slow on other CPUs)
    channels_last: bool | None = None  # NHWC layout: with bf16, 1.35x (resnet18) to 3.3x (hourglass) faster steps
    complete_only: bool = False  # train only on faces with all 15 keypoints (the tutorial's dropna)
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    limit: int | None = None  # use only the first N training faces (quick experiments, tests)


# Defaults for settings a model's `train=` leaves out.
COMMON = {"epochs": 60, "batch_size": 64, "lr": 1e-3, "augment": False, "ema": 0.0, "weight_decay": 0.0,
          "schedule": "constant", "channels_last": True}


def resolve_config(config: TrainConfig) -> TrainConfig:
    """Fill what the user left unset (None) from the model's defaults, and check the values."""
    spec = model_spec(config.model)
    if config.bf16 is None:  # mixed precision where the hardware does bfloat16 fast, for every model
        config.bf16 = config.device == "cuda" or cpu_has_amx()
    for key, value in {**COMMON, **spec.train}.items():
        if getattr(config, key) is None:
            setattr(config, key, value)
    spec.split_options(config.options)  # refuses options the model does not have
    config.options = {**{name: option.default for name, option in spec.options.items()}, **config.options}
    for key, low in (("epochs", 1), ("batch_size", 1)):
        if getattr(config, key) < low:
            raise FacekeypointsError(f"{key.replace('_', '-')} must be {low} or more, not {getattr(config, key)}")
    if not config.lr > 0:
        raise FacekeypointsError(f"lr must be above 0, not {config.lr}")
    if not 0 <= config.val_fraction < 1:
        raise FacekeypointsError(f"val-fraction must be in [0, 1), not {config.val_fraction}")
    if config.schedule not in SCHEDULES:
        raise FacekeypointsError(f"schedule must be one of {', '.join(SCHEDULES)}, not {config.schedule!r}")
    return config


def build(config: TrainConfig):
    """The model and codec a config describes: (model, codec, the model's kwargs as checkpoints store them)."""
    return model_spec(config.model).build(config.options)


def config_from_dict(stored: dict[str, Any]) -> TrainConfig:
    """The config a run saved (`asdict`), including runs saved before model options moved into `options`."""
    stored = dict(stored)
    spec = model_spec(stored.get("model", DEFAULT_TRAIN_MODEL))
    options = dict(stored.pop("options", None) or {})
    known = {f.name for f in fields(TrainConfig)}
    for key in [k for k in stored if k not in known]:
        value = stored.pop(key)  # an option kept at the top level by older runs, or one no model has now
        if key in spec.options and value is not None:
            options.setdefault(key, value)
    if stored.get("schedule") == "step":  # older runs: "step" was halving at half time for the hourglass, else constant
        stored["schedule"] = "halve" if spec.train.get("schedule") == "halve" else "constant"
    return TrainConfig(**stored, options=options)
