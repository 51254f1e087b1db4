"""facekeypoints: facial keypoints in face crops, photos and videos: Kaggle's 15 (the shipped models), or any
keypoint set a model is trained on (`facekeypoints train --data` takes COCO, 300-W, dlib and Kaggle files).

    >>> from facekeypoints import FaceKeypoints
    >>> faces = FaceKeypoints()("photo.jpg")        # faces in a photo: .box, .keypoints, .as_array()

    >>> from facekeypoints import load_model, load_test
    >>> crops = load_test("facial-keypoints-detection.zip")
    >>> keypoints = load_model().predict(crops.images)   # (N, 15, 2) pixel x, y of 96x96 crops
    >>> load_model("runs/mine").keypoint_set.names        # what a model predicts: its keypoint set
"""

__version__ = "0.1.0"

from .data import KeypointData, LookupTable, TestImages, load_lookup, load_test, load_training, train_val_split
from .errors import DataError, FacekeypointsError
from .inference import load_model
from .keypoints import FLIP_PAIRS, IBUG_68, KAGGLE_15, KEYPOINT_NAMES, KeypointSet, four_point_faces
from .metrics import RmseReport, keypoint_rmse


def __getattr__(name: str):
    # Imported on first use: torch takes a second to load, and `facekeypoints score` needs none of it.
    if name == "KeypointModel":
        from .inference.torch_backend import KeypointModel

        return KeypointModel
    if name in ("FaceKeypoints", "Face"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'facekeypoints' has no attribute {name!r}")

__all__ = [
    "DataError",
    "Face",
    "FaceKeypoints",
    "FLIP_PAIRS",
    "IBUG_68",
    "KAGGLE_15",
    "FacekeypointsError",
    "KEYPOINT_NAMES",
    "KeypointData",
    "KeypointModel",
    "KeypointSet",
    "LookupTable",
    "RmseReport",
    "TestImages",
    "keypoint_rmse",
    "load_model",
    "load_lookup",
    "load_test",
    "load_training",
    "train_val_split",
    "four_point_faces",
    "__version__",
]
