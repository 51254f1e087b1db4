"""Kaggle submissions: write one from predictions, score one against a solution."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._fs import atomic_output
from .data import LookupTable, TestImages, load_lookup, read_submission
from .errors import DataError
from .keypoints import IMAGE_SIZE, KEYPOINT_NAMES, NUM_KEYPOINTS, four_point_faces
from .metrics import RmseReport


def predict_test(model, test: TestImages, lookup: LookupTable, batch_size: int = 256,
                 show_progress: bool = False) -> np.ndarray:
    """A model's Location for every lookup row. A face for which the table asks only the 4-keypoint
    convention's points is of that collection, and is answered in its convention."""
    four_point = four_point_faces(lookup.requested(test.image_ids))
    predicted = model.predict(test.images, batch_size=batch_size, show_progress=show_progress, four_point=four_point)
    if model.keypoint_set.names != KEYPOINT_NAMES:  # another set: Kaggle's points by name or alias, if it has them
        predicted = model.keypoint_set.lookup(predicted, KEYPOINT_NAMES, "a Kaggle submission").astype(np.float32)
    return submission_locations(predicted, test, lookup)


def submission_locations(predicted: np.ndarray, test: TestImages, lookup: LookupTable) -> np.ndarray:
    """The Location of every lookup row, in the table's order, from (N, 15, 2) predictions on `test`.

    Coordinates are clipped into the image: a keypoint is never outside the face crop.
    """
    position = {int(i): n for n, i in enumerate(test.image_ids)}
    rows = np.empty(len(lookup), np.int64)
    for r, (image_id, line) in enumerate(zip(lookup.image_ids.tolist(), lookup.lines.tolist())):
        if image_id not in position:
            raise DataError(f"ImageId {image_id} is not in {test.source}", lookup.source, line)
        rows[r] = position[image_id]
    values = predicted[rows, lookup.keypoint, lookup.axis]
    return np.clip(values, 0.0, float(IMAGE_SIZE))


def write_submission(path: str | Path, row_ids: np.ndarray, locations: np.ndarray, force: bool = False) -> None:
    """Write `RowId,Location` like Kaggle's SampleSubmission.csv, atomically; refuse to overwrite without force."""
    text = "RowId,Location\n" + "".join(f"{r},{v:.6f}\n" for r, v in zip(row_ids.tolist(), locations.tolist()))
    with atomic_output(path, force=force) as tmp:
        tmp.write_text(text)


def score_files(submission: str | Path, solution: str | Path, lookup: str | Path | None = None) -> RmseReport:
    """`score_submission` of two RowId,Location files; the breakdown uses `lookup`, by default the
    IdLookupTable.csv beside the solution when there is one."""
    if lookup is None and (Path(solution).parent / "IdLookupTable.csv").is_file():
        lookup = Path(solution).parent / "IdLookupTable.csv"
    return score_submission(*read_submission(submission), *read_submission(solution),
                            load_lookup(lookup) if lookup else None, names=(str(submission), str(solution)))


def score_submission(
    row_ids: np.ndarray, locations: np.ndarray, solution_ids: np.ndarray, solution: np.ndarray,
    lookup: LookupTable | None = None, names: tuple[str, str] = ("submission", "solution"),
) -> RmseReport:
    """Kaggle's RMSE of a submission against a solution (both RowId,Location).

    With the lookup table, the report breaks the error down per keypoint and per label pattern
    (an image for which the table asks 4 keypoints is a 4-keypoint image).
    """
    given = dict(zip(row_ids.tolist(), locations.tolist()))
    missing = [r for r in solution_ids.tolist() if r not in given]
    if missing:
        raise DataError(f"{len(missing)} RowIds of the {names[1]} are missing, e.g. {missing[:5]}", names[0])
    extra = set(given) - set(solution_ids.tolist())
    if extra:
        raise DataError(f"{len(extra)} RowIds are not in the {names[1]}, e.g. {sorted(extra)[:5]}", names[0])
    predicted = np.array([given[r] for r in solution_ids.tolist()])
    squared = (predicted - solution) ** 2
    if lookup is None:
        return RmseReport.from_errors(squared)
    by_row = {r: i for i, r in enumerate(lookup.row_ids.tolist())}
    if any(r not in by_row for r in solution_ids.tolist()):
        return RmseReport.from_errors(squared)  # a lookup table of another file: no breakdown
    index = np.array([by_row[r] for r in solution_ids.tolist()])
    image = lookup.image_ids[index]
    ids, counts = np.unique(lookup.image_ids, return_counts=True)
    pattern = dict(zip(ids.tolist(), (counts // 2).tolist()))
    return RmseReport.from_errors(squared, lookup.keypoint[index], image, pattern)


def points_from_rows(row_ids: np.ndarray, locations: np.ndarray, lookup: LookupTable,
                     image_ids: np.ndarray) -> np.ndarray:
    """A RowId,Location file's values as points (N, 15, 2) of the faces `image_ids`, NaN where absent."""
    given = dict(zip(row_ids.tolist(), locations.tolist()))
    position = {int(i): n for n, i in enumerate(image_ids)}
    points = np.full((len(image_ids), NUM_KEYPOINTS, 2), np.nan, np.float32)
    for row_id, image_id, k, a in zip(lookup.row_ids.tolist(), lookup.image_ids.tolist(),
                                      lookup.keypoint.tolist(), lookup.axis.tolist()):
        if row_id in given and image_id in position:
            points[position[image_id], k, a] = given[row_id]
    return points
