"""The model registry: the one place that knows every model, its codec, its options and its training defaults."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from torch import nn

from ..codecs import Codec
from ..errors import FacekeypointsError
from ..keypoints import KAGGLE_15, KeypointSet


@dataclass(frozen=True)
class Option:
    """A setting of a model that `facekeypoints train` offers as `--NAME` (underscores become dashes).

    codec: the setting belongs to the model's codec (e.g. a heatmap's sigma), not to the network.
    low: the least value a number may take (and it must be finite), checked before any work."""

    default: Any
    help: str
    choices: tuple | None = None
    codec: bool = False
    low: float | None = None

    def check(self, name: str, value: Any) -> None:
        """Refuse a value outside the option's choices or below its least value, in one line."""
        flag = f"--{name.replace('_', '-')}"
        if self.choices is not None and value not in self.choices:
            raise FacekeypointsError(f"{flag} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.low is not None:
            try:
                good = math.isfinite(value) and value >= self.low
            except TypeError:
                good = False
            if not good:
                raise FacekeypointsError(f"{flag} must be a number of {self.low:g} or more, not {value!r}")

    def __post_init__(self):
        if self.default is None:  # the command line takes the option's type from its default
            raise ValueError(f"option {self.help!r} needs a default")


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of a model; declared beside the network with `@register_model(...)`."""

    name: str
    cls: type[nn.Module]
    codec: type[Codec]
    summary: str  # one line for `train --help`
    options: Mapping[str, Option] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)  # training defaults (`TrainConfig` fields)
    closed_form: bool = False  # fitted by `cls().fit(keypoints, mask)`, not by gradient steps
    flip_offset: bool = False  # learns its labels' offset under mirroring (a `flip_offset` parameter per head):
    # flip augmentation trains it, and predictions may average with the mirror image (test-time flip)
    heads_arg: str = "num_keypoints"  # the constructor argument that takes the number of heads (the codec's)

    def split_options(self, options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(network kwargs, codec kwargs) from option values, the declared defaults filling the rest."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise FacekeypointsError(f"model {self.name} has no option {', '.join(sorted(unknown))} "
                                     f"(its options: {', '.join(self.options) or 'none'})")
        for name, value in options.items():
            self.options[name].check(name, value)
        values = {name: options.get(name, option.default) for name, option in self.options.items()}
        network = {k: v for k, v in values.items() if not self.options[k].codec}
        codec = {k: v for k, v in values.items() if self.options[k].codec}
        return network, codec

    def build(self, options: Mapping[str, Any] | None = None,
              keypoint_set: KeypointSet = KAGGLE_15) -> tuple[nn.Module, Codec, dict[str, Any]]:
        """A fresh network and its codec for `keypoint_set`: (model, codec, the network's kwargs, as checkpoints
        store them). The network takes its number of heads from the codec."""
        network, codec_kwargs = self.split_options(options or {})
        codec = self.codec(keypoint_set=keypoint_set, **codec_kwargs)
        if self.heads_arg in inspect.signature(self.cls).parameters:
            network[self.heads_arg] = codec.heads
        elif keypoint_set.names != KAGGLE_15.names:
            raise FacekeypointsError(f"model {self.name} predicts Kaggle's 15 keypoints only (its constructor takes "
                                     f"no {self.heads_arg!r}), not the {len(keypoint_set)} of {keypoint_set.name}")
        return self.cls(**network), codec, network


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(*, codec: type[Codec], summary: str, options: Mapping[str, Option] | None = None,
                   train: Mapping[str, Any] | None = None, closed_form: bool = False,
                   flip_offset: bool = False, heads_arg: str = "num_keypoints") -> Callable:
    """Class decorator: make a network known by its `name` attribute, with its codec, options and training
    defaults. Adding a model is one new file in `models/` with one decorated `nn.Module`."""

    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        known = _REGISTRY.get(cls.name)
        if known is not None and (known.cls.__module__, known.cls.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"two models named {cls.name!r}: {known.cls.__module__} and {cls.__module__}")
        _REGISTRY[cls.name] = ModelSpec(cls.name, cls, codec, summary, dict(options or {}), dict(train or {}),
                                        closed_form, flip_offset, heads_arg)
        return cls

    return decorate


def model_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise FacekeypointsError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[name]


def flip_offset(model: nn.Module):
    """A model's learned flip offset (H,), or None for a model that learns none (its labels mirror exactly)."""
    return model.flip_offset if model_spec(model.name).flip_offset else None


def create_model(name: str, **config) -> nn.Module:
    """The network `name` with constructor kwargs `config` (as a checkpoint stores them)."""
    try:
        return model_spec(name).cls(**config)
    except TypeError as error:
        raise FacekeypointsError(f"bad settings for model {name!r}: {error}") from None


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def model_options() -> dict[str, list[tuple[str, Option]]]:
    """Every option name any model declares -> (model, its Option) for each model that has it."""
    found: dict[str, list[tuple[str, Option]]] = {}
    for name in list_models():
        for option_name, option in _REGISTRY[name].options.items():
            found.setdefault(option_name, []).append((name, option))
    return found
