"""Pictures of Kaggle faces for `show` and `evaluate`: which faces, with which labels and predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._fs import refuse_existing
from .data import KeypointData, load_lookup, load_test, read_submission
from .data.faces import is_kaggle, load_faces
from .data.sources import resolve
from .errors import DataError, FacekeypointsError
from .keypoints import KAGGLE_15, four_point_faces
from .metrics import face_rmse
from .submission import points_from_rows
from .viz import check_grid, face_grid, heatmap_overlay, save_figure


def show(data: str, out: str | Path, *, kind: str | None = None, predictions: str | None = None,
         truth: str | None = None, lookup: str | None = None, model: str | None = None, count: int = 16,
         indices: list[int] | None = None, worst: bool = False, heatmaps: bool = False, seed: int = 0,
         force: bool = False) -> str:
    """Draw faces of `data` (its training file, else its test file; `kind` chooses) with their labels, a
    submission's points (`predictions`, `truth`: RowId,Location files of the test set) or a model's, to `out`.
    Returns what was drawn, in words."""
    out = Path(out)
    refuse_existing(out, force)
    check_grid(len(indices) if indices else count)  # before the data is read and the faces predicted
    if kind is None:  # a training file (or any annotations) if there is one, else a test file
        try:
            if is_kaggle(data):
                resolve(data, "training")
            kind = "training"
        except DataError:
            kind = "test"
    labels = mask = predicted = None
    keypoint_set = KAGGLE_15
    if kind == "training":
        faces = load_faces(data)
        keypoint_set = faces.keypoint_set
        images, labels, mask = faces.images, faces.keypoints, faces.mask
        names = [f"#{i}, line {n}" for i, n in enumerate(faces.lines)]  # index as --indices takes it
    else:
        faces = load_test(data)
        images = faces.images
        names = [f"#{i}, ImageId {n}" for i, n in enumerate(faces.image_ids)]
    if predictions or truth:
        if kind != "test":
            raise FacekeypointsError("--predictions and --truth are submission files, drawn on a test set (--set test)")
        table = load_lookup(lookup or data)
        if truth:
            labels = points_from_rows(*read_submission(truth), table, faces.image_ids)
            mask = ~np.isnan(labels).any(axis=2)
        if predictions:
            predicted = points_from_rows(*read_submission(predictions), table, faces.image_ids)
    loaded = None
    # Faces with labels are predicted in the labelling convention those labels follow.
    four_point = four_point_faces(mask, keypoint_set) if mask is not None else np.zeros(len(images), bool)
    if model and predicted is None:
        from .inference import load_model

        # a shipped model or an .onnx file runs on ONNX Runtime, without torch; heatmaps need torch's model
        loaded = load_model(model, "torch" if heatmaps else "auto")
        if labels is not None and loaded.keypoint_set.names != keypoint_set.names:
            raise FacekeypointsError(f"{model} predicts {loaded.keypoint_set.name}, the faces are labelled with "
                                     f"{keypoint_set.name}: draw it on faces of its own keypoints")
        if worst:  # ranking needs every face's prediction
            predicted = loaded.predict(images, show_progress=True, four_point=four_point)
    index = choose(len(images), indices, count, seed, worst, labels, mask, predicted)
    if loaded is not None and predicted is None:  # only the faces drawn
        predicted = np.full((len(images), len(loaded.keypoint_set), 2), np.nan, np.float32)
        predicted[index] = loaded.predict(images[index], four_point=four_point[index])
    if heatmaps:
        if loaded is None:
            raise FacekeypointsError("--heatmaps needs a heatmap model: --model RUN_DIR/best.pt")
        i = int(index[0])
        fig = heatmaps_figure(loaded, images[i], None if labels is None else labels[i], four_point[i])
        fig.suptitle(f"{names[i]}: heatmaps", fontsize=8)
        save_figure(fig, out, force=force)
        return f"heatmaps of {names[i]}"
    titles = [names[i] for i in index]
    if labels is not None and predicted is not None:
        errors = face_rmse(predicted[index], labels[index], mask[index])
        titles = [f"{t}  {e:.2f}px" for t, e in zip(titles, errors)]
    fig = face_grid(images[index], labels=None if labels is None else labels[index],
                    label_mask=None if mask is None else mask[index],
                    predictions=None if predicted is None else predicted[index], titles=titles,
                    title=f"{Path(faces.source).name} ({len(index)} of {len(images)} faces)")
    save_figure(fig, out, force=force)
    return f"{len(index)} faces"


def choose(n: int, indices: list[int] | None, count: int, seed: int, worst: bool, labels, mask,
           predicted) -> np.ndarray:
    """Which faces to draw: the given indices, the `count` worst predicted, or a random sample."""
    if indices:
        index = np.array(indices)
        if ((index < 0) | (index >= n)).any():
            raise FacekeypointsError(f"--indices must lie in 0..{n - 1}")
        return index
    count = min(count, n)
    if worst:
        if labels is None or predicted is None:
            raise FacekeypointsError("--worst needs labels and predictions (training data or --truth, and a model)")
        return np.argsort(-face_rmse(predicted, labels, mask), kind="stable")[:count]
    return np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))


def heatmaps_figure(model, image: np.ndarray, labels: np.ndarray | None, four_point: bool):
    """A face's target heatmaps (where the codec has them and the face has labels) and predicted ones, each
    keypoint over the image, as the original project drew them."""
    import torch

    rows, titles = [], []
    if labels is not None:
        points = torch.from_numpy(labels[None])
        target = model.codec.target_heatmaps(points, ~torch.isnan(points).any(-1))
        if target is not None:
            rows.append(target[0].numpy())
            titles.append("target")
    rows.append(model.heatmaps(image[None], np.array([four_point]))[0])
    titles.append("predicted")
    return heatmap_overlay(image, rows, list(model.keypoint_set.names), titles)


def worst_faces(data: KeypointData, predicted: np.ndarray, count: int, title: str, out: str | Path | None = None,
                force: bool = False):
    """A grid of the `count` faces of `data` with the largest RMSE, labels and predictions drawn; saved to `out`
    if given."""
    check_grid(count)
    errors = face_rmse(predicted, data.keypoints, data.mask)
    worst = np.argsort(-errors, kind="stable")[:count]
    titles = [f"#{i}, line {data.lines[i]}  {errors[i]:.2f}px" for i in worst]
    fig = face_grid(data.images[worst], data.keypoints[worst], data.mask[worst], predicted[worst], titles=titles,
                    title=f"worst {len(worst)} of {len(data)} faces, {title}")
    if out is not None:
        save_figure(fig, out, force=force)
    return fig
