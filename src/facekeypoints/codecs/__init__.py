"""Keypoint codecs: how pixel coordinates become training targets and network outputs become coordinates.

Kept apart from the networks (as mmpose does): a heatmap network and its decoder can change independently,
and a checkpoint names its codec so that predictions decode the way the model was trained. Every codec
implements `Codec` (see `base.py` for the flow). A new codec is a dataclass subclass of `Codec` with a
`name`, added to `CODECS` below.
"""

from __future__ import annotations

from typing import Any

from ..errors import FacekeypointsError
from ..keypoints import KeypointSet
from .base import Codec, cell_centres, gaussian
from .coordinates import CoordinateCodec, RegressionCodec
from .heatmap import HeatmapCodec
from .integral import IntegralCodec

CODECS: dict[str, type[Codec]] = {c.name: c for c in (CoordinateCodec, RegressionCodec, HeatmapCodec, IntegralCodec)}


def codec_from_config(config: dict[str, Any]) -> Codec:
    """The codec a checkpoint's `Codec.config()` describes."""
    config = dict(config)
    name = config.pop("name", None)
    if "keypoint_set" in config:  # absent from models saved before keypoint sets were data: Kaggle's 15
        config["keypoint_set"] = KeypointSet.from_dict(config["keypoint_set"])
    if name not in CODECS:
        raise FacekeypointsError(f"unknown codec {name!r}; known: {', '.join(sorted(CODECS))}")
    try:
        return CODECS[name](**config)
    except (TypeError, ValueError) as error:
        raise FacekeypointsError(f"bad settings for codec {name!r}: {error}") from None


__all__ = ["CODECS", "Codec", "CoordinateCodec", "HeatmapCodec", "IntegralCodec", "RegressionCodec",
           "cell_centres", "codec_from_config", "gaussian"]
