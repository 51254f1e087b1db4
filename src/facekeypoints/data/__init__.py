"""Kaggle data: reading, checking, splitting."""

from .kaggle import (
    KeypointData,
    LookupTable,
    Problem,
    TestImages,
    load_lookup,
    load_test,
    load_training,
    read_submission,
)
from .split import train_val_split

__all__ = [
    "KeypointData",
    "LookupTable",
    "Problem",
    "TestImages",
    "load_lookup",
    "load_test",
    "load_training",
    "read_submission",
    "train_val_split",
]
