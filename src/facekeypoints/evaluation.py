"""A model on Kaggle's files: scored on labelled faces (`evaluate`: the validation split as `train` makes it, the
training split or all), its spreads calibrated into expected errors on that split (`calibrate`), or answering the
test set as a submission (`submit`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._fs import refuse_existing
from .data import KeypointData, load_lookup, load_test, read_submission, train_val_split
from .errors import FacekeypointsError
from .inference import Predictor, load_model
from .data.faces import load_faces
from .keypoints import KeypointSet, four_point_faces, shared_points
from .metrics import RmseReport, keypoint_rmse, normalised_mean_error
from .shipped import DEFAULT_MODEL
from .submission import points_from_rows, predict_test, write_submission
from .uncertainty import Calibration

SPLITS = ("val", "train", "all")


@dataclass
class Evaluation:
    data: KeypointData  # the faces scored, on the points scored (`points`)
    predicted: np.ndarray  # (N, P, 2)
    report: RmseReport
    points: tuple[str, ...] = ()  # the points scored: the model's and the data's (those both name, if they differ)
    nme: float | None = None  # mean over faces of the mean point error / outer-eye-corner distance, where defined
    shared: bool = False  # the model's keypoint set is not the data's: scored on the points both name

    def format(self) -> str:
        shared = f"on the {len(self.points)} points the model and the data both name\n" if self.shared else ""
        nme = "" if self.nme is None else f"NME {100 * self.nme:.2f} % of the outer eye corners' distance\n"
        return shared + nme + self.report.format()


def evaluate(model: str | Predictor, data: str, split: str = "val", val_fraction: float = 0.1, seed: int = 0,
             batch_size: int = 256, backend: str = "auto", show_progress: bool = False, worst_out: str | None = None,
             count: int = 16, force: bool = False) -> Evaluation:
    """Kaggle's RMSE (and NME where the data's set has outer eye corners) of `model` (a name, file or loaded
    model) on the faces of `split` of any annotations `train` takes. Each face is predicted in the labelling
    convention its labels follow. A model of another keypoint set than the data's is scored on the points both
    name (by name, or by a one-point alias: a 15-point model on 68-point labels is scored on 13 points).
    worst_out: a PNG of the `count` worst faces is drawn there (`gallery.worst_faces`; the output and the count
    are checked before the work)."""
    title = f"{split}, {model if isinstance(model, (str, Path)) else model.name}"
    if worst_out is not None:
        from .gallery import worst_faces
        from .viz import check_grid

        refuse_existing(worst_out, force)
        check_grid(count)
    faces = split_faces(data, split, val_fraction, seed)
    model = model if isinstance(model, Predictor) else load_model(model, backend)
    predicted = model.predict(faces.images, batch_size=batch_size, show_progress=show_progress,
                              four_point=four_point_faces(faces.mask, faces.keypoint_set))
    ours, theirs, names = shared_points(model.keypoint_set, faces.keypoint_set)
    if not names:
        raise FacekeypointsError(f"model {model.name} predicts {model.keypoint_set.name}, the data has "
                                 f"{faces.keypoint_set.name}, and no point of the one is named in the other")
    nme = None
    if faces.keypoint_set.has("right_eye_outer_corner", "left_eye_outer_corner") and len(names) == len(
            faces.keypoint_set) == len(model.keypoint_set):
        nme = float(np.nanmean(normalised_mean_error(predicted, faces.keypoints, faces.mask, faces.keypoint_set)))
    scored = KeypointData(faces.images, faces.keypoints[:, list(theirs)], faces.mask[:, list(theirs)], faces.lines,
                          faces.source, faces.keypoint_set if len(names) == len(faces.keypoint_set) else
                          KeypointSet("shared", names))
    predicted = predicted[:, list(ours)]
    if worst_out is not None:
        worst_faces(scored, predicted, count, title, worst_out, force)
    return Evaluation(scored, predicted, keypoint_rmse(predicted, scored.keypoints, scored.mask, names), names, nme,
                      model.keypoint_set.names != faces.keypoint_set.names)


def split_faces(data: str, split: str = "val", val_fraction: float = 0.1, seed: int = 0) -> KeypointData:
    """The labelled faces of one split of a training file (any annotations `train` takes), as `train` splits it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    faces = load_faces(data)
    if split != "all":
        train_index, val_index = train_val_split(faces, val_fraction, seed)
        faces = faces.subset(val_index if split == "val" else train_index)
    return faces


def solved_test(data: str) -> KeypointData:
    """The test faces of a folder with their true keypoints from its test_solution.csv (where a solution is
    known: the public data's 600 set-apart faces; Kaggle keeps its own), labelled where IdLookupTable asks."""
    folder = Path(data)
    if not (folder / "test_solution.csv").is_file():
        raise FacekeypointsError(f"{folder}: no test_solution.csv (the true answers for the test faces)")
    test, lookup = load_test(folder), load_lookup(folder)
    truth = points_from_rows(*read_submission(folder / "test_solution.csv"), lookup, test.image_ids)
    mask = ~np.isnan(truth).any(axis=-1)
    return KeypointData(test.images, truth, mask, test.lines, test.source)


def keypoint_errors(model: Predictor, faces: KeypointData, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Each keypoint's spread (N, 15) and distance from its label (N, 15; NaN where unlabelled), crop pixels,
    each face predicted in its labels' convention (as `evaluate` scores it)."""
    points, spread = model.predict_with_spread(faces.images, batch_size,
                                               four_point=four_point_faces(faces.mask, faces.keypoint_set))
    return spread, np.linalg.norm(points - faces.keypoints, axis=-1)


def calibrate(model: str | Predictor, data: str, val_fraction: float = 0.1, seed: int = 0, batch_size: int = 256,
              backend: str = "auto") -> Calibration:
    """The model's expected error per keypoint by spread (`uncertainty.Calibration`), fitted on the validation
    split (labelled points only)."""
    faces = split_faces(data, "val", val_fraction, seed)
    model = model if isinstance(model, Predictor) else load_model(model, backend)
    spread, error = keypoint_errors(model, faces, batch_size)
    if np.isnan(spread).all():
        raise FacekeypointsError(f"model {model.name} gives no heatmap spread: there is nothing to calibrate")
    about = {"model": model.name, "flip": model.resolve_flip(None), "fitted_on": f"validation split (val_fraction "
             f"{val_fraction}, seed {seed}, as `facekeypoints evaluate` makes it): {len(faces)} faces"}
    if model.keypoint_set.names != faces.keypoint_set.names:
        raise FacekeypointsError(f"model {model.name} predicts {model.keypoint_set.name}, the data has "
                                 f"{faces.keypoint_set.name}: calibrate it on faces of its own keypoints")
    return Calibration.fit(spread, error, faces.mask, about, names=model.keypoint_set.names)


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
