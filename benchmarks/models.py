"""Every model side by side, on this machine, in one run: the table in docs/models.md.

    python benchmarks/models.py [--data DIR] [ROW ...]

ROW is MODEL[:BACKEND][:noflip], MODEL a shipped model's name, a checkpoint or an .onnx file, BACKEND torch
or onnx (default: both for shipped models, torch for checkpoints), "noflip" without flip averaging; or
"dlib" for dlib's 68-point predictor (`pip install dlib-bin face_recognition_models`), mapped to our 15
points with a per-keypoint, per-convention mean offset fitted on the training split (`train_val_split`),
given the whole 96x96 crop as its face box. Default rows: the shipped models, the classic runs in runs/
when present, and dlib when installed.

Columns: public-test RMSE (all images, 15-keypoint images, 4-keypoint images: `submit` + `score` against
test_solution.csv, in-process), parameters, file size, training minutes, faces/s at batch 1 and batch 256 on
1 and 2 threads (each figure the best of 3 timed repeats, after a warm-up), and the peak memory (RSS) of the
process that loaded the model, read the test set and predicted. Each row runs in its own process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from facekeypoints.data import load_lookup, load_test, load_training, read_submission, train_val_split
from facekeypoints.inference import load_model
from facekeypoints.keypoints import KEYPOINT_NAMES, four_point_faces
from facekeypoints.shipped import SHIPPED
from facekeypoints.submission import score_submission, submission_locations

from dlib68 import DLIB_68

CLASSIC_RUNS = ["runs/resnet18-masked/best.pt", "runs/resnet18-dropna/best.pt", "runs/hourglass/best.pt"]


def set_threads(n: int) -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def rate(predict, images: np.ndarray, batch: int) -> float:
    """faces/s of predict(faces) at this batch size: best of 3 repeats of about 0.5 s each, after a warm-up."""
    chunk = images[:batch]
    predict(chunk)
    calls = max(1, int(0.5 / max(_time(predict, chunk), 1e-4)))
    return max(calls * len(chunk) / _time(lambda c: [predict(c) for _ in range(calls)], chunk) for _ in range(3))


def _time(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def score(predicted: np.ndarray, data: Path, test, lookup) -> dict:
    solution_ids, solution = read_submission(data / "test_solution.csv")
    report = score_submission(lookup.row_ids, submission_locations(predicted, test, lookup), solution_ids, solution,
                              lookup)
    pattern = {k: v[0] for k, v in report.per_pattern.items()}
    return {"rmse": report.rmse, "rmse15": pattern.get("15 keypoints"), "rmse4": pattern.get("4 keypoints")}


def measure_model(spec: str, data: Path) -> dict:
    name, *options = spec.split(":")
    backend = next((o for o in options if o in ("torch", "onnx")), "auto")
    flip = False if "noflip" in options else None
    test, lookup = load_test(data), load_lookup(data)
    four_point = four_point_faces(lookup.requested(test.image_ids))
    speeds = {}
    for threads in (1, 2):
        model = load_model(name, backend, threads=threads)
        set_threads(threads)
        for batch in (1, 256):
            speeds[f"b{batch}t{threads}"] = rate(lambda faces: model.predict(faces, flip=flip), test.images, batch)
    row = score(model.predict(test.images, four_point=four_point, flip=flip), data, test, lookup)
    # An ONNX row takes its parameter count from the model's torch row (the worker stays free of torch).
    params = sum(p.numel() for p in model.module.parameters()) if model.backend == "torch" else None
    source = Path(model.source)
    minutes = None
    if "train_seconds" in model.meta:
        minutes = model.meta["train_seconds"] / 60
    elif source.with_name("log.csv").exists():
        minutes = sum(float(r["seconds"]) for r in csv.DictReader(open(source.with_name("log.csv")))) / 60
    flips = model.flips_by_default and flip is None
    label = f"{name if name in SHIPPED else str(Path(name).parent.name or name)} ({model.backend}" + \
        (", flip)" if flips else ")")
    return {"model": name, "label": label, **row, "params": params, "mb": source.stat().st_size / 1e6 if source.exists() else None,
            "minutes": minutes, **speeds}


def measure_dlib(data: Path) -> dict:
    import importlib.util

    import dlib

    package = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0])
    weights = package / "models" / "shape_predictor_68_face_landmarks.dat"
    predictor = dlib.shape_predictor(str(weights))
    box = dlib.rectangle(0, 0, 95, 95)
    index = [list(DLIB_68[k]) for k in KEYPOINT_NAMES]

    def predict(faces: np.ndarray) -> np.ndarray:
        out = np.empty((len(faces), 15, 2), np.float32)
        for i, face in enumerate(faces):
            parts = np.array([(p.x, p.y) for p in predictor(face, box).parts()], np.float32)
            out[i] = [parts[j].mean(axis=0) for j in index]
        return out

    # The offset between dlib's points and each labelling convention's, fitted on the training split.
    training = load_training(data)
    train = training.subset(train_val_split(training, 0.1, 0)[0])
    raw = predict(train.images)
    four = four_point_faces(train.mask)
    offsets = {}
    for kind in (False, True):
        faces = four == kind
        diff = np.where(train.mask[faces][..., None], train.keypoints[faces] - raw[faces], np.nan)
        offsets[kind] = np.nan_to_num(np.nanmean(diff, axis=0))
    test, lookup = load_test(data), load_lookup(data)
    test_four = four_point_faces(lookup.requested(test.image_ids))
    predicted = predict(test.images)
    predicted += np.where(test_four[:, None, None], offsets[True], offsets[False])
    speeds = {}
    for threads in (1, 2):  # dlib's predictor is single-threaded: the thread count changes nothing
        for batch in (1, 256):
            speeds[f"b{batch}t{threads}"] = rate(predict, test.images, batch)
    return {"model": "dlib", "label": "dlib 68-point (mapped, offset)", **score(predicted, data, test, lookup), "params": None,
            "mb": weights.stat().st_size / 1e6, "minutes": None, **speeds}


def default_rows() -> list[str]:
    rows = []
    for name in ("mean", *CLASSIC_RUNS, "keypointnet", "fast"):
        if name in SHIPPED or Path(name).exists():
            rows += [f"{name}:torch", f"{name}:onnx"]
    try:
        import dlib  # noqa: F401

        rows.append("dlib")
    except ImportError:
        pass
    return rows


def fmt(value, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None or (isinstance(value, float) and np.isnan(value)) else \
        f"{value:>{width}{spec}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*")
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one row, print JSON
    args = parser.parse_args()
    data = Path(args.data)
    if args.one:
        row = measure_dlib(data) if args.one == "dlib" else measure_model(args.one, data)
        row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row))
        return
    print(f"{'model':<36}{'RMSE':>7}{'15-kp':>7}{'4-kp':>7}{'params':>8}{'MB':>6}{'train':>7}"
          f"{'b1 1t':>8}{'b1 2t':>8}{'b256 1t':>9}{'b256 2t':>9}{'peak MB':>9}")
    params_of = {}
    for spec in args.rows or default_rows():
        result = subprocess.run([sys.executable, __file__, "--data", str(data), "--one", spec], capture_output=True,
                                text=True)
        if result.returncode:
            print(f"{spec:<36}failed: {result.stderr.strip().splitlines()[-1]}", flush=True)
            continue
        r = json.loads(result.stdout.strip().splitlines()[-1])
        params = params_of.setdefault(r["model"], r["params"]) if r["params"] is not None else params_of.get(r["model"])
        params = None if params is None else params / 1e6
        print(f"{r['label']:<36}{fmt(r['rmse'], '.4f', 7)}{fmt(r['rmse15'], '.3f', 7)}{fmt(r['rmse4'], '.3f', 7)}"
              f"{fmt(params, '.2f', 7)}{'M' if params is not None else ' '}{fmt(r['mb'], '.1f', 6)}"
              f"{fmt(r['minutes'], '.0f', 7)}{fmt(r['b1t1'], '.0f', 8)}{fmt(r['b1t2'], '.0f', 8)}"
              f"{fmt(r['b256t1'], '.0f', 9)}{fmt(r['b256t2'], '.0f', 9)}{fmt(r['peak_mb'], '.0f', 9)}", flush=True)
    print("(RMSE: public test, test.zip + IdLookupTable.csv against test_solution.csv. Speeds: faces/s at batch 1 "
          "and 256 on 1 and 2 threads; train: minutes; peak MB: the measuring process's peak RSS)")


if __name__ == "__main__":
    main()
