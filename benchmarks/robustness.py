"""How the models hold up when a face is framed unlike Kaggle's crops: zoomed, shifted, turned.

    python benchmarks/robustness.py [MODEL...] [--data DIR] [--repeats 2] [--worst-out docs/robustness-worst.png]

Each validation face of the default split (never trained on) is re-framed by a known similarity transform about
the crop's centre, and its labels with it: scaled by s (s < 1: the face smaller, zoomed out), turned by a degrees
and shifted by (dx, dy), edges filled by replicating the border, as a photo's crop reaching past the photo is.
The warp is OpenCV's (`cv2.warpAffine`), not the training augmentation's, so that a mistake in one is not
repeated in the other. Labels that the warp moves out of the 96 x 96 crop are not scored ("points out").

Levels t = 0, 1/3, 2/3, 1 draw, per face, s uniform in [1 - 0.4t, 1 + 0.4t], a uniform in [-30t, 30t] and each
of dx, dy uniform in [-0.2t, 0.2t] of the crop (seeded: every model sees the same faces). Four more rows take
one factor at the strongest level's extreme, the others at none: zoom out 0.6, zoom in 1.4, a shift of 20 % in
a random direction, a turn of +-30 degrees. Each face is predicted in its labels' convention.

Reported per model and condition: RMSE (pixels of the 96-pixel crop, Kaggle's metric) and the miss rate, the
share of faces whose mean point error exceeds 5 px. `--worst-out` draws each model's 12 worst faces at the
strongest level (one picture per model: the name gets the model's name, or its file's folder and stem). About 1
min on 2 cores for the two shipped models.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import cv2
import numpy as np

from facekeypoints import four_point_faces, keypoint_rmse, load_model
from facekeypoints.evaluation import split_faces
from facekeypoints.keypoints import IMAGE_SIZE
from facekeypoints.metrics import mean_point_error

MISS = 5.0  # px: a face is missed when its mean point error exceeds this
CENTRE = (IMAGE_SIZE - 1) / 2  # pixel centres at whole coordinates, as Kaggle's labels and OpenCV's warps
LEVELS = (0.0, 1 / 3, 2 / 3, 1.0)
ZOOM, TURN, SHIFT = 0.4, 30.0, 0.2  # the strongest level: s in 1 +- 0.4, +-30 degrees, +-20 % of the crop


def draws(count: int, level: float, rng: np.random.Generator) -> np.ndarray:
    """(count, 4): scale, degrees, dx, dy (pixels) for one level."""
    scale = 1 + rng.uniform(-ZOOM, ZOOM, count) * level
    angle = rng.uniform(-TURN, TURN, count) * level
    shift = rng.uniform(-SHIFT, SHIFT, (count, 2)) * level * IMAGE_SIZE
    return np.column_stack((scale, angle, shift))


def extremes(count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One factor at the strongest level's extreme, the others at none."""
    none = np.tile([1.0, 0.0, 0.0, 0.0], (count, 1))
    zoom_out, zoom_in, shift, turn = none.copy(), none.copy(), none.copy(), none.copy()
    zoom_out[:, 0], zoom_in[:, 0] = 1 - ZOOM, 1 + ZOOM
    direction = rng.uniform(0, 2 * math.pi, count)
    shift[:, 2:] = SHIFT * IMAGE_SIZE * np.column_stack((np.cos(direction), np.sin(direction)))
    turn[:, 1] = TURN * rng.choice([-1.0, 1.0], count)
    return {"zoom out 0.6": zoom_out, "zoom in 1.4": zoom_in, "shift 20%": shift, "turn 30°": turn}


def matrix(scale: float, angle: float, dx: float, dy: float) -> np.ndarray:
    """The 2 x 3 map of crop coordinates: about the centre, turned by `angle` degrees (clockwise on screen, y down),
    scaled, then shifted."""
    m = cv2.getRotationMatrix2D((CENTRE, CENTRE), -angle, scale)
    m[:, 2] += (dx, dy)
    return m


def reframe(images: np.ndarray, points: np.ndarray, mask: np.ndarray, params: np.ndarray):
    """Warp each face and its labels; labels that leave the crop drop out of the mask."""
    out_images = np.empty_like(images)
    out_points = np.empty_like(points)
    for i, p in enumerate(params):
        m = matrix(*p)
        out_images[i] = cv2.warpAffine(images[i], m, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
        out_points[i] = points[i] @ m[:, :2].T + m[:, 2]
    # A label already outside the crop (a few of Kaggle's are) stays scored, as `evaluate` scores it.
    return out_images, out_points, mask & (inside(out_points) | ~inside(points))


def inside(points: np.ndarray) -> np.ndarray:
    return np.isfinite(points).all(-1) & (points >= 0).all(-1) & (points <= IMAGE_SIZE - 1).all(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["keypointnet", "fast"],
                        help="shipped names, checkpoints, run folders or .onnx files (default: keypointnet fast)")
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--repeats", type=int, default=2, help="draws per face and condition (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worst-out", help="PNG of each model's 12 worst faces at the strongest level")
    args = parser.parse_args()

    faces = split_faces(args.data, "val")
    rng = np.random.default_rng(args.seed)
    n = len(faces) * args.repeats
    images = np.repeat(faces.images, args.repeats, axis=0)
    points = np.repeat(faces.keypoints, args.repeats, axis=0)
    mask = np.repeat(faces.mask, args.repeats, axis=0)
    four = four_point_faces(mask)  # the convention of the labels as given, before any leave the crop
    conditions = {f"level {t:.2f}": draws(n, t, rng) for t in LEVELS} | extremes(n, rng)
    framed = {name: reframe(images, points, mask, params) for name, params in conditions.items()}
    strongest = f"level {LEVELS[-1]:.2f}"

    print(f"{len(faces)} validation faces x {args.repeats} draws; miss = mean point error > {MISS:g} px")
    header = "| condition | points out | " + " | ".join(f"{m} RMSE | {m} miss" for m in args.models) + " |"
    rows = {name: [f"{100 * (1 - f[2].sum() / mask.sum()):.1f} %"] for name, f in framed.items()}
    for model_name in args.models:
        model = load_model(model_name)
        for name, (warped, truth, scored) in framed.items():
            predicted = model.predict(warped, four_point=four)
            rmse = keypoint_rmse(predicted, truth, scored).rmse
            error = mean_point_error(predicted, truth, scored)
            has = np.isfinite(error)
            rows[name] += [f"{rmse:.4f}", f"{100 * np.mean(error[has] > MISS):.2f} %"]
            if args.worst_out and name == strongest:
                worst_picture(model_name, warped, truth, scored, predicted, error, args.worst_out)
    print(header)
    print("|" + " --- |" * (2 + 2 * len(args.models)))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


def worst_picture(model_name: str, images, truth, scored, predicted, error, out: str) -> None:
    from facekeypoints.viz import face_grid, save_figure

    worst = np.argsort(-np.nan_to_num(error, nan=-1), kind="stable")[:12]
    titles = [f"#{i}: {error[i]:.1f} px" for i in worst]
    fig = face_grid(images[worst], truth[worst], scored[worst], predicted[worst], titles=titles,
                    title=f"{Path(model_name).stem}: the 12 worst re-framed validation faces (strongest level; mean "
                          f"point error)")
    path = Path(out)
    label = "-".join(Path(model_name).with_suffix("").parts[-2:]).strip("/-")  # old/keypointnet: old-keypointnet
    path = path.with_name(f"{path.stem}-{label}{path.suffix}")
    save_figure(fig, path, force=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
