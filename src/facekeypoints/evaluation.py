"""A model scored on labelled Kaggle faces: the validation split (as `train` makes it), the training split or all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import KeypointData, load_training, train_val_split
from .inference import Predictor, load_model
from .keypoints import four_point_faces
from .metrics import RmseReport, keypoint_rmse

SPLITS = ("val", "train", "all")


@dataclass
class Evaluation:
    data: KeypointData  # the faces scored
    predicted: np.ndarray  # (N, 15, 2)
    report: RmseReport


def evaluate(model: str | Predictor, data: str, split: str = "val", val_fraction: float = 0.1, seed: int = 0,
             batch_size: int = 256, backend: str = "auto", show_progress: bool = False) -> Evaluation:
    """Kaggle's RMSE of `model` (a name, file or loaded model) on the faces of `split`. Each face is predicted
    in the labelling convention its labels follow."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    faces = load_training(data)
    if split != "all":
        train_index, val_index = train_val_split(faces, val_fraction, seed)
        faces = faces.subset(val_index if split == "val" else train_index)
    model = model if isinstance(model, Predictor) else load_model(model, backend)
    predicted = model.predict(faces.images, batch_size=batch_size, show_progress=show_progress,
                              four_point=four_point_faces(faces.mask))
    return Evaluation(faces, predicted, keypoint_rmse(predicted, faces.keypoints, faces.mask))
