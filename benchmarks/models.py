"""Public-test accuracy, size and speed of models, side by side: the table in the README.

    python benchmarks/models.py [--data DIR] [MODEL ...]

MODEL is a shipped model's name or a checkpoint (default: the shipped models). For each it prints the
public-test RMSE (all images, 15-keypoint images, 4-keypoint images: `submit` + `score` against
test_solution.csv, done in-process), parameters, weight file size, training minutes (from the run's
log.csv beside the checkpoint, or the shipped weights' metadata), faces/s at batch 256 on 2 threads
and milliseconds for one face on 1 thread.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
import torch

from facekeypoints.data import load_lookup, load_test, read_submission
from facekeypoints.keypoints import four_point_faces
from facekeypoints.predictor import KeypointModel
from facekeypoints.shipped import SHIPPED
from facekeypoints.submission import score_submission, submission_locations


def public_test(model: KeypointModel, data: Path, flip: bool | None = None, conventions: bool = True):
    test, lookup = load_test(data), load_lookup(data)
    four_point = four_point_faces(lookup.requested(test.image_ids)) if conventions else None
    predicted = model.predict(test.images, four_point=four_point, flip=flip)
    solution_ids, solution = read_submission(data / "test_solution.csv")
    return score_submission(lookup.row_ids, submission_locations(predicted, test, lookup), solution_ids, solution,
                            lookup)


def training_minutes(model: KeypointModel) -> float:
    if "train_seconds" in model.meta:
        return model.meta["train_seconds"] / 60
    log = Path(model.source).with_name("log.csv")
    if not log.exists():
        return float("nan")
    return sum(float(row["seconds"]) for row in csv.DictReader(open(log))) / 60


def speed(model: KeypointModel, images: np.ndarray, flip: bool | None = None) -> tuple[float, float]:
    torch.set_num_threads(2)
    batch = images[:256]
    model.predict(batch, flip=flip)  # warm-up
    runs, start = 4, time.perf_counter()
    for _ in range(runs):
        model.predict(batch, flip=flip)
    per_second = runs * len(batch) / (time.perf_counter() - start)
    torch.set_num_threads(1)
    for _ in range(5):
        model.predict(images[:1], flip=flip)
    times = []
    for i in range(30):
        start = time.perf_counter()
        model.predict(images[i : i + 1], flip=flip)
        times.append(time.perf_counter() - start)
    torch.set_num_threads(2)
    return per_second, 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(SHIPPED))
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    args = parser.parse_args()
    data = Path(args.data)
    images = load_test(data).images
    header = (f"{'model':<34}{'RMSE':>8}{'15-kp':>8}{'4-kp':>8}{'params':>9}{'MB':>7}{'train min':>10}"
              f"{'faces/s':>9}{'ms/face':>9}")
    print(header)
    for name in args.models:
        model = KeypointModel.load(name)
        # A model that can average with its mirror image is measured with (its default) and without,
        # and one with two labelling conventions also with only the 15-keypoint one asked for.
        variants = [(None, True)]
        if model.can_flip:
            variants += [(False, True), (None, False)]
        for flip, conventions in variants:
            report = public_test(model, data, flip, conventions)
            params = sum(p.numel() for p in model.module.parameters())
            size = os.path.getsize(model.source) / 1e6
            rate, latency = speed(model, images, flip)
            pattern = {k: v[0] for k, v in report.per_pattern.items()}
            label = name + (", no flip" if flip is False else "") + ("" if conventions else ", 15-kp heads only")
            print(f"{label:<34}{report.rmse:>8.4f}{pattern.get('15 keypoints', np.nan):>8.4f}"
                  f"{pattern.get('4 keypoints', np.nan):>8.4f}{params / 1e6:>8.2f}M{size:>7.1f}"
                  f"{training_minutes(model):>10.1f}{rate:>9.0f}{latency:>9.2f}", flush=True)
    print("(public test: test.zip + IdLookupTable.csv scored against test_solution.csv; faces/s: batch 256, "
          "2 threads; ms/face: batch 1, 1 thread, median of 30)")


if __name__ == "__main__":
    main()
