"""A training run's settings: what the user gave, the model's own defaults (from the registry) for the rest."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field, fields
from typing import Any

from .._device import cpu_has_native_bf16
from ..errors import FacekeypointsError
from ..keypoints import KAGGLE_15, KeypointSet
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
    reframe: float | None = None  # with augment: share of faces framed widely (zoom 0.55-1.5, ±35°, ±22 px)
    teacher: str | None = None  # a model whose points train the heads a face has no label for (distillation)
    ema: float | None = None  # decay of an exponential moving average of the weights (0: none)
    weight_decay: float | None = None  # > 0: AdamW with this decay, else Adam
    schedule: str | None = None  # constant; halve (at half time); cosine (one epoch of warm-up, then cosine)
    bf16: bool | None = None  # bfloat16 autocast (default: on GPUs and CPUs with native bf16; slow on others)
    channels_last: bool | None = None  # NHWC layout: with bf16, 1.35x (resnet18) to 3.3x (hourglass) faster steps
    complete_only: bool = False  # train only on faces with all 15 keypoints (the tutorial's dropna)
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    limit: int | None = None  # use only the first N training faces (quick experiments, tests)
    flip_pairs: str | None = None  # mirror pairs of the data's keypoints: "none", "0:16,1:15", "l_eye:r_eye"
    init: str | None = None  # start from this model's weights (shipped name, run folder or checkpoint): fine-tune


# Defaults for settings a model's `train=` leaves out.
COMMON = {"epochs": 60, "batch_size": 64, "lr": 1e-3, "augment": False, "reframe": 0.0, "ema": 0.0,
          "weight_decay": 0.0, "schedule": "constant", "channels_last": True}


# Settings a resumed run may change: the new total of epochs, the machine's threads, the data's new location
# (checked to hold as many training and validation faces as the run had). Any other change would make the
# resumed run a different run, so `resume_config` refuses it.
RESUMABLE = ("epochs", "threads", "data")

_WHOLE = ("a whole number of 1 or more", lambda v: float(v).is_integer() and v >= 1)
_FRACTION = ("in [0, 1)", lambda v: 0 <= v < 1)
RULES = {  # what each setting must be: (in words, a test)
    "epochs": _WHOLE, "batch_size": _WHOLE, "threads": _WHOLE, "limit": _WHOLE,
    "lr": ("a finite number above 0", lambda v: 0 < v < math.inf),
    "weight_decay": ("a finite number of 0 or more", lambda v: 0 <= v < math.inf),
    "ema": _FRACTION, "val_fraction": _FRACTION, "reframe": ("in [0, 1]", lambda v: 0 <= v <= 1),
    "schedule": (f"one of {', '.join(SCHEDULES)}", lambda v: v in SCHEDULES),
}


def config_from_flags(flags: dict[str, Any], option_names: Collection[str] = ()) -> tuple[TrainConfig, set[str]]:
    """A run's config from command-line values by name (`vars(args)`: settings of TrainConfig's field names, and
    the model options `option_names`; None: left unset), and the names the user set (for `resume_config`)."""
    options = {k: v for k, v in flags.items() if k in option_names and v is not None}
    settings = {f.name for f in fields(TrainConfig)} - {"out", "options"}
    given = {name: value for name, value in flags.items() if name in settings and value is not None}
    return TrainConfig(out=flags["out"], options=options, **given), set(given) | set(options)


def check_config(config: TrainConfig) -> TrainConfig:
    """Refuse a nonsense setting in one line, before any data is read; unset (None) passes."""
    for key, (must, ok) in RULES.items():
        value = getattr(config, key)
        try:
            good = value is None or bool(ok(value))  # NaN fails every comparison
        except (TypeError, ValueError, OverflowError):  # not a number at all
            good = False
        if not good:
            raise FacekeypointsError(f"--{key.replace('_', '-')} must be {must}, not {value!r}")
    return config


def resolve_config(config: TrainConfig) -> TrainConfig:
    """Fill what the user left unset (None) from the model's defaults, and check the values."""
    check_config(config)
    spec = model_spec(config.model)
    if config.bf16 is None:  # mixed precision where the hardware does bfloat16 natively, for every model
        config.bf16 = config.device == "cuda" or cpu_has_native_bf16()
    for key, value in {**COMMON, **spec.train}.items():
        if getattr(config, key) is None:
            setattr(config, key, value)
    spec.split_options(config.options)  # refuses options the model does not have
    config.options = {**{name: option.default for name, option in spec.options.items()}, **config.options}
    return check_config(config)  # the model's own defaults too


def resume_config(given: TrainConfig, stored: dict[str, Any], names: Collection[str] | None = None) -> TrainConfig:
    """The config of a run being resumed: the run's own (`stored`), with the RESUMABLE settings `given` sets.

    Any other setting `given` sets must equal the run's: resuming with another --lr or --model would otherwise
    silently not do what was asked. All differences, in one line. `names`: the settings the user gave (so that
    one given at its default counts too); default: those not at TrainConfig's defaults.
    """
    check_config(given)
    run = resolve_config(config_from_dict(stored))  # runs saved before an option existed get its old behaviour
    unset, differ = TrainConfig(), []
    if names is None:
        names = [f.name for f in fields(TrainConfig) if getattr(given, f.name) != getattr(unset, f.name)]
    for name in (f.name for f in fields(TrainConfig) if f.name not in ("out", "options", *RESUMABLE)):
        value = getattr(given, name)
        if name in names and value != getattr(run, name):
            differ.append(f"--{name.replace('_', '-')} {value} (the run's: {getattr(run, name)})")
    for name, value in given.options.items():
        if run.options.get(name) != value:
            differ.append(f"--{name.replace('_', '-')} {value} (the run's: {run.options.get(name, 'none')})")
    if differ:
        raise FacekeypointsError(f"--resume continues the run as it was set up, but {', '.join(differ)}; only "
                                 f"--{', --'.join(RESUMABLE)} may change (start afresh with --force instead)")
    for name in RESUMABLE:
        if name in names:
            setattr(run, name, getattr(given, name))
    return run


def build(config: TrainConfig, keypoint_set: KeypointSet = KAGGLE_15):
    """The model and codec a config describes for `keypoint_set` (the data's): (model, codec, the model's kwargs
    as checkpoints store them)."""
    return model_spec(config.model).build(config.options, keypoint_set)


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
    stored.setdefault("reframe", 0.0)  # runs saved before wide framing existed had none
    if stored.get("schedule") == "step":  # older runs: "step" was halving at half time for the hourglass, else constant
        stored["schedule"] = "halve" if spec.train.get("schedule") == "halve" else "constant"
    return TrainConfig(**stored, options=options)
