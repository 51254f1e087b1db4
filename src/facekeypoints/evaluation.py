"""A model on Kaggle's files: scored on labelled faces (`evaluate`: the validation split as `train` makes it, the
training split or all), or answering the test set as a submission (`submit`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._fs import refuse_existing
from .data import KeypointData, load_lookup, load_test, load_training, train_val_split
from .inference import Predictor, load_model
from .keypoints import four_point_faces
from .metrics import RmseReport, keypoint_rmse
from .shipped import DEFAULT_MODEL
from .submission import predict_test, write_submission

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


def submit(test: str, lookup: str, out: str, model: str | Predictor = DEFAULT_MODEL, backend: str = "auto",
           batch_size: int = 256, force: bool = False, show_progress: bool = False) -> str:
    """Write a Kaggle submission of `model`'s answers for the test faces, one row per lookup row; returns what
    was written, in words. The output, the data and the model are checked in that order, before the work."""
    refuse_existing(out, force)
    faces, table = load_test(test), load_lookup(lookup)
    model = model if isinstance(model, Predictor) else load_model(model, backend)
    locations = predict_test(model, faces, table, batch_size=batch_size, show_progress=show_progress)
    write_submission(out, table.row_ids, locations, force=force)
    return f"{len(table)} rows for {len(faces)} faces"
