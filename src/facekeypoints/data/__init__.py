"""Kaggle data: reading, checking, splitting; annotation files of other formats (COCO, 300-W, dlib)."""

from .annotations import AnnotatedFace, Annotations, convert, read_annotations, write_annotations
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
    "AnnotatedFace",
    "Annotations",
    "KeypointData",
    "LookupTable",
    "Problem",
    "TestImages",
    "convert",
    "load_lookup",
    "load_test",
    "load_training",
    "read_annotations",
    "read_submission",
    "train_val_split",
    "write_annotations",
]
