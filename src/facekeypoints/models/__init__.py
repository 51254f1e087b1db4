"""Keypoint networks, one plain `nn.Module` per file, created by name from a registry (as timm does).

A model maps a batch of faces, float (N, 1, 96, 96) in [0, 1], to its raw output; turning that output
into pixel coordinates is the job of the model's codec (see `facekeypoints.predictor`).
"""

from __future__ import annotations

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}


def register_model(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: make `cls` creatable as `create_model(cls.name, **config)`."""
    _REGISTRY[cls.name] = cls
    return cls


def create_model(name: str, **config) -> nn.Module:
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[name](**config)


def list_models() -> list[str]:
    return sorted(_REGISTRY)


from . import hourglass, keypointnet, mean_shape, resnet  # noqa: E402,F401  (registers)
