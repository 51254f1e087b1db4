"""facekeypoints: the 15 facial keypoints of Kaggle's Facial Keypoints Detection competition.

    >>> from facekeypoints import KeypointModel, load_test
    >>> faces = load_test("facial-keypoints-detection.zip")
    >>> keypoints = KeypointModel.load("mean").predict(faces.images)   # (N, 15, 2) pixel x, y
"""

__version__ = "0.1.0"

from .data import KeypointData, LookupTable, TestImages, load_lookup, load_test, load_training, train_val_split
from .errors import DataError, FacekeypointsError
from .keypoints import FLIP_PAIRS, KEYPOINT_NAMES
from .metrics import RmseReport, keypoint_rmse


def __getattr__(name: str):
    # Imported on first use: torch takes a second to load, and `facekeypoints score` needs none of it.
    if name == "KeypointModel":
        from .predictor import KeypointModel

        return KeypointModel
    raise AttributeError(f"module 'facekeypoints' has no attribute {name!r}")

__all__ = [
    "DataError",
    "FLIP_PAIRS",
    "FacekeypointsError",
    "KEYPOINT_NAMES",
    "KeypointData",
    "KeypointModel",
    "LookupTable",
    "RmseReport",
    "TestImages",
    "keypoint_rmse",
    "load_lookup",
    "load_test",
    "load_training",
    "train_val_split",
    "__version__",
]
