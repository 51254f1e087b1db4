"""Keypoint accuracy against face size: how small may a face in a photo be before its keypoints are guesses?

    python benchmarks/face_size.py [--data DIR] [--variants 40,32,28,24] [--plot docs/face-size.png]

Each validation face of the default split (never trained on) is shrunk from its 96x96 crop to s x s pixels
(cv2.INTER_AREA, as a camera or a careful resize would) and cut back out through the photo pipeline's own
`Crop.cut` (the same upsampling a photo's small face gets), then given to the shipped models. Two harsher
variants, at the sizes in --variants: shrunk with INTER_LINEAR (aliased, as a quick video frame resize), and
shrunk with INTER_AREA then saved as JPEG at quality 70 (a photo's compression, at the face's own size).

Reported per size and model: RMSE in pixels of the 96-pixel crop (the README's metric: 1.4775 at 96 px for
keypointnet), RMSE over inter-ocular distance (each point's error divided by its face's labelled eye-centre
distance), the share of faces whose mean point error exceeds 0.1 inter-ocular ("fail"), and the share the
pipeline would drop as not a face (median heatmap spread above `MAX_SPREAD`). Then the least face size that
keeps to the rule (RMSE within 1.5x of 96 px, at most 5% failing) under each shrink; the plot shows RMSE and
failure rate against face size. About 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os

import cv2
import numpy as np

from facekeypoints import four_point_faces, keypoint_rmse, load_model, load_training, train_val_split
from facekeypoints.keypoints import IMAGE_SIZE, KEYPOINT_NAMES
from facekeypoints.photos import MIN_CROP, Crop
from facekeypoints.photos.results import MAX_SPREAD

SIZES = (96, 80, 64, 48, 40, 32, 28, 24, 20, 16, 12)
MODELS = ("keypointnet", "fast")
EYES = KEYPOINT_NAMES.index("left_eye_center"), KEYPOINT_NAMES.index("right_eye_center")
FAIL = 0.1  # a face fails when its mean point error exceeds this share of its inter-ocular distance
# The rule for the least face size: RMSE within TOLERANCE x the 96-pixel RMSE and at most MAX_FAIL of the faces
# failing, there and at every larger size.
TOLERANCE = 1.5
MAX_FAIL = 0.05


def jpeg(image: np.ndarray, quality: int = 70) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)


# How a 96-pixel face becomes a small face in a photo: the main curve, then the variants checked against it.
SHRINKS = {
    "area": lambda image, side: cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA),
    "linear": lambda image, side: cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR),
    "jpeg70": lambda image, side: jpeg(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)),
}


def as_small_face(images: np.ndarray, side: int, shrink) -> np.ndarray:
    """The 96x96 crops as the pipeline would cut them from a photo where the face's crop is `side` pixels."""
    crop = Crop((0.0, 0.0), float(side))
    return np.stack([crop.cut(shrink(image, side)) for image in images])


def scores(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray, spread: np.ndarray) -> dict:
    """RMSE (px), RMSE / inter-ocular, fail share and dropped share, on faces with both eye centres labelled
    for the inter-ocular figures."""
    distance = np.linalg.norm(predicted - truth, axis=-1)  # (N, 15) point errors
    eyes = mask[:, EYES[0]] & mask[:, EYES[1]]
    iod = np.linalg.norm(truth[eyes, EYES[0]] - truth[eyes, EYES[1]], axis=-1)
    m = mask[eyes]
    relative = np.where(m, distance[eyes] / iod[:, None], 0.0)
    mean_error = relative.sum(1) / m.sum(1)
    return {
        "rmse": keypoint_rmse(predicted, truth, mask).rmse,
        "relative": float(np.sqrt((relative[m] ** 2).sum() / (2 * m.sum()))),  # per coordinate, as the RMSE
        "fail": float((mean_error > FAIL).mean()),
        "dropped": float((spread > MAX_SPREAD).mean()),
    }


def measure(models: dict, images, truth, mask, four_point, side: int, shrink) -> dict:
    faces = images if side == IMAGE_SIZE else as_small_face(images, side, shrink)
    results = {}
    for name, model in models.items():
        predicted = model.predict(faces, four_point=four_point)
        spread = np.median(model.predict_with_spread(faces)[1], axis=1)  # as the pipeline judges: no four-point hint
        results[name] = scores(predicted, truth, mask, spread)
    return results


def table(rows: list[tuple[str, dict]], models) -> str:
    base = rows[0][1]
    head = ["face px"] + [f"{m} {c}" for m in models for c in ("RMSE px", "x 96 px", "RMSE/IOD", "fail", "dropped")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, result in rows:
        cells = [label]
        for m in models:
            r = result[m]
            cells += [f"{r['rmse']:.4f}", f"{r['rmse'] / base[m]['rmse']:.2f}", f"{r['relative']:.4f}",
                      f"{100 * r['fail']:.1f}%", f"{100 * r['dropped']:.1f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def least_size(curve: dict, model: str) -> int:
    """The smallest size at which, and at every larger one measured, `model` keeps to the rule (TOLERANCE,
    MAX_FAIL); the curve's 96-pixel entry is the reference."""
    limit = TOLERANCE * curve[IMAGE_SIZE][model]["rmse"]
    good = IMAGE_SIZE
    for side in sorted(curve, reverse=True):
        if curve[side][model]["rmse"] > limit or curve[side][model]["fail"] > MAX_FAIL:
            break
        good = side
    return good


MARKERS = {"linear": ("x", "aliased shrink (INTER_LINEAR)"), "jpeg70": ("^", "shrink + JPEG quality 70")}


def plot(curves: dict, recommended: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    area = curves["area"]
    sides = sorted(area)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6), dpi=150, layout="constrained")
    for model, colour in zip(MODELS, ("tab:blue", "tab:orange")):
        left.plot(sides, [area[s][model]["rmse"] for s in sides], "o-", color=colour, ms=4, label=model)
        left.axhline(area[IMAGE_SIZE][model]["rmse"], color=colour, ls="--", lw=1)
        right.plot(sides, [100 * area[s][model]["fail"] for s in sides], "o-", color=colour, ms=4, label=model)
        for shrink, (marker, _) in MARKERS.items():
            vs = sorted(set(curves.get(shrink, {})) - {IMAGE_SIZE})
            style = dict(color=colour, ms=6, mew=1.3, ls="none", marker=marker, mfc="none")
            left.plot(vs, [curves[shrink][s][model]["rmse"] for s in vs], **style)
            right.plot(vs, [100 * curves[shrink][s][model]["fail"] for s in vs], **style)
    for shrink, (marker, label) in MARKERS.items():
        if shrink in curves:
            left.plot([], [], color="black", ms=6, mew=1.3, ls="none", marker=marker, mfc="none", label=label)
    left.plot([], [], "--", color="black", lw=1, label="at 96 px")
    base = area[IMAGE_SIZE][MODELS[0]]["rmse"]
    left.axhline(TOLERANCE * base, color="grey", ls=":", lw=1)
    left.text(sides[-1], TOLERANCE * base, f"{TOLERANCE:g} x {MODELS[0]} at 96 px", fontsize=7, color="grey",
              ha="right", va="top")
    right.axhline(100 * MAX_FAIL, color="grey", ls=":", lw=1)
    right.text(sides[-1], 100 * MAX_FAIL, f"{MAX_FAIL:.0%}", fontsize=7, color="grey", ha="right", va="bottom")
    for axes in (left, right):
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(FixedLocator(sides))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xticklabels([str(s) for s in sides], fontsize=7)
        axes.tick_params(axis="y", labelsize=7)
        axes.axvline(MIN_CROP, color="grey", lw=1, ls="-.", zorder=0)
        axes.axvline(recommended, color="green", lw=1.5, zorder=0)
        axes.set_xlabel("face size: crop side in photo pixels (log)", fontsize=8)
        axes.grid(alpha=0.3)
    left.set_ylim(bottom=0)
    left.set_ylabel("RMSE, pixels of the 96-px crop", fontsize=8)
    left.set_title("Keypoint RMSE", fontsize=9)
    left.legend(fontsize=7, loc="upper right")
    right.set_ylim(bottom=0)
    right.set_ylabel(f"faces with mean error > {FAIL:g} inter-ocular, %", fontsize=8)
    right.set_title("Failure rate", fontsize=9)
    top = right.get_ylim()[1]
    right.text(MIN_CROP, top * 0.97, f" min now {MIN_CROP}", color="grey", fontsize=7, va="top")
    right.text(recommended, top * 0.88, f" recommended {recommended}", color="green", fontsize=7, va="top")
    fig.suptitle("Validation faces shrunk to a small face's size and cut back to 96 px", fontsize=10)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--variants", default="40,32,28,24", help="sizes also measured with the harsher shrinks")
    parser.add_argument("--plot", default="docs/face-size.png", help="the picture to draw ('' for none)")
    args = parser.parse_args()
    data = load_training(args.data)
    _, val = train_val_split(data, val_fraction=0.1, seed=0)
    images, truth, mask = data.images[val], data.keypoints[val], data.mask[val]
    four_point = four_point_faces(mask)
    models = {name: load_model(name) for name in MODELS}
    eyes = mask[:, EYES[0]] & mask[:, EYES[1]]
    iod = np.median(np.linalg.norm(truth[eyes, EYES[0]] - truth[eyes, EYES[1]], axis=-1))
    print(f"{len(val)} validation faces ({int(four_point.sum())} in the 4-keypoint convention; {int(eyes.sum())} "
          f"with both eye centres, for the inter-ocular columns: median distance {iod:.1f} px at 96 px)")

    variant_sides = sorted((int(s) for s in args.variants.split(",") if s), reverse=True)
    curves = {}
    for shrink, how in SHRINKS.items():
        sides = SIZES if shrink == "area" else [IMAGE_SIZE] + variant_sides
        curves[shrink] = {side: measure(models, images, truth, mask, four_point, side, how) for side in sides}
        print(f"\nShrunk: {shrink}; cut back to 96 px by Crop.cut (warpAffine INTER_LINEAR); 96 = the original "
              f"crop\n\n{table([(str(side), curves[shrink][side]) for side in sides], MODELS)}")
        if shrink != "area" and not variant_sides:
            break
    least = {shrink: {model: least_size(curve, model) for model in MODELS} for shrink, curve in curves.items()}
    recommended = max(least[shrink][MODELS[0]] for shrink in least)
    print(f"\nRule: the smallest face size at which (and at every larger size measured) the RMSE stays within "
          f"{TOLERANCE}x the 96-px RMSE and at most {MAX_FAIL:.0%} of faces fail:")
    for shrink, sizes in least.items():
        print(f"  {shrink}: " + ", ".join(f"{model} {size} px" for model, size in sizes.items()))
    print(f"recommended minimum (the default {MODELS[0]}, the harshest shrink): {recommended} px "
          f"(MIN_CROP is now {MIN_CROP})")
    if args.plot:
        plot(curves, recommended, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
