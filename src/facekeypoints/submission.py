"""Kaggle submissions: write one from predictions, score one against a solution."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._fs import atomic_output
from .data import LookupTable, TestImages
from .errors import DataError
from .keypoints import IMAGE_SIZE
from .metrics import RmseReport


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
