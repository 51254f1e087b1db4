"""Keypoint accuracy and detection against face size: how small may a face in a photo be before its keypoints
are guesses, and is every face from the default smallest one up to the whole image found?

    python benchmarks/face_size.py [--data DIR] [--variants 40,32,28,24] [--plot docs/face-size.png]
                                   [--only keypoints|detection]

Detection (`--only detection`, ~2-4 min on 2 cores): each shared photo's face (the photos beside the Kaggle
files, ../shared/data/photos), cut as a square of 1.6 times its BlazeFace box with a soft round edge, is pasted
with its box 24 px wide up to the background's full height into backgrounds of 500x375, 640x480, 817x1024,
1280x720 and 1920x1080 (gus.jpg's street, resized and cut), at the centre and off it, and `FaceKeypoints()`
runs with its defaults. A face is found when a returned face with keypoints has its box centre inside the pasted
face's box. Printed: recall per face size and background, sizes under the default smallest face (1/20 of the
long side, at least 24 px) marked, as they are not looked for. Then the same faces turned by 0-330 degrees in
the 640x480 background at four sizes: found, and their keypoints turned back against the upright face's
(mean distance / inter-ocular distance); and a wider sweep of turns (`wide_turn_recall`: four sizes, two
backgrounds, two places, 768 images). The plot's third panel shows recall against face size.

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
from pathlib import Path

import cv2
import numpy as np

from facekeypoints import FaceKeypoints, four_point_faces, keypoint_rmse, load_model, load_training, train_val_split
from facekeypoints.keypoints import IMAGE_SIZE, KEYPOINT_NAMES
from facekeypoints.photos import MIN_CROP, Crop, decode_image, smallest_face
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
    crop = Crop((side / 2, side / 2), float(side))  # its centre: the face fills the crop
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


BACKGROUNDS = ((500, 375), (640, 480), (817, 1024), (1280, 720), (1920, 1080))
FACE_SIZES = (24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256, 320, 384, 480, 640, 800, 1080)
TURNS = tuple(range(0, 360, 30))
TURN_SIZES = (32, 64, 160, 400)
OUTER = 1.6  # the pasted square, in face box sides


def shared_faces(photos: Path, fk: FaceKeypoints) -> dict[str, tuple[np.ndarray, float]]:
    """Each photo's face as a square of OUTER times its box (edges replicated), and its box width in it."""
    faces = {}
    for path in sorted(p for p in photos.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        image = decode_image(path)
        found = [f for f in fk(image, channels="bgr") if not f.too_small]
        if not found:
            continue
        x, y, w, h = max(found, key=lambda f: f.box[2]).box
        side = round(OUTER * w)
        shift = np.array([[1.0, 0, side / 2 - (x + w / 2)], [0, 1, side / 2 - (y + h / 2)]])
        faces[path.name] = (cv2.warpAffine(image, shift, (side, side), borderMode=cv2.BORDER_REPLICATE), w)
    return faces


def background(street: np.ndarray, width: int, height: int) -> np.ndarray:
    """The street photo resized to cover width x height, and cut to it."""
    scale = max(width / street.shape[1], height / street.shape[0])
    size = (int(np.ceil(street.shape[1] * scale)), int(np.ceil(street.shape[0] * scale)))
    return cv2.resize(street, size, interpolation=cv2.INTER_AREA)[:height, :width].copy()


def paste(canvas: np.ndarray, patch: np.ndarray, box_width: float, face: float, centre, turn: float = 0.0
          ) -> tuple[np.ndarray, np.ndarray]:
    """The canvas with `patch` pasted, scaled so that its face box is `face` px wide, turned by `turn` degrees
    (clockwise on screen) about its centre placed at `centre`, blended in by a soft round mask; and the affine
    map (2, 3) from the patch's pixels to the canvas's."""
    scale = face / box_width
    c = (patch.shape[1] - 1) / 2, (patch.shape[0] - 1) / 2
    matrix = cv2.getRotationMatrix2D(c, -turn, scale)
    matrix[:, 2] += np.array(centre) - 0.5 - c
    size = canvas.shape[1::-1]
    source = patch if scale >= 1 else cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    inner = matrix.copy()
    if scale < 1:  # warp from the area-shrunk patch: no aliasing
        inner[:, :2] /= scale
    warped = cv2.warpAffine(source, inner, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:patch.shape[0], 0:patch.shape[1]]
    radius = np.hypot(xx - c[0], yy - c[1]) / (patch.shape[0] / 2)
    mask = cv2.warpAffine(np.clip((1 - radius) / 0.15, 0, 1).astype(np.float32), matrix, size)[..., None]
    return (canvas * (1 - mask) + warped * mask).astype(np.uint8), matrix


def found_at(faces, centre, face: float):
    """The returned face with keypoints whose box centre lies in the pasted face's box (`face` px about
    `centre`), or None."""
    for f in faces:
        x, y, w, h = f.box
        if not f.too_small and abs(x + w / 2 - centre[0]) <= face / 2 and abs(y + h / 2 - centre[1]) <= face / 2:
            return f
    return None


def detection_recall(fk: FaceKeypoints, faces: dict, street: np.ndarray) -> dict:
    """{(width, height): {face px: (found, tried)}} with the defaults, two places per face."""
    recall = {}
    for width, height in BACKGROUNDS:
        canvas = background(street, width, height)
        recall[width, height] = {}
        for face in (s for s in FACE_SIZES if s <= height):
            hits = tried = 0
            for patch, box_width in faces.values():
                for where in ((width / 2, height / 2), (width * 0.3, height * 0.35)):
                    centre = (float(np.clip(where[0], face / 2, width - face / 2)),
                              float(np.clip(where[1], face / 2, height - face / 2)))
                    image, _ = paste(canvas, patch, box_width, face, centre)
                    hits += found_at(fk(image, channels="bgr"), centre, face) is not None
                    tried += 1
            recall[width, height][face] = (hits, tried)
    return recall


def turn_recall(fk: FaceKeypoints, faces: dict, street: np.ndarray) -> dict:
    """{face px: {turn: (found, tried, worst keypoint error / IOD against the upright face)}} at 640x480."""
    canvas = background(street, 640, 480)
    centre = (320.0, 240.0)
    out = {}
    for face in TURN_SIZES:
        out[face] = {}
        upright = {}
        for name, (patch, box_width) in faces.items():
            image, _ = paste(canvas, patch, box_width, face, centre)
            upright[name] = found_at(fk(image, channels="bgr"), centre, face)
        for turn in TURNS:
            hits, tried, worst = 0, 0, 0.0
            for name, (patch, box_width) in faces.items():
                image, _ = paste(canvas, patch, box_width, face, centre, turn)
                got = found_at(fk(image, channels="bgr"), centre, face)
                tried += 1
                if got is None:
                    continue
                hits += 1
                if upright[name] is not None:
                    back = cv2.getRotationMatrix2D((centre[0] - 0.5, centre[1] - 0.5), turn, 1.0)
                    points = got.as_array() @ back[:, :2].T + back[:, 2]
                    reference = upright[name].as_array()
                    iod = np.linalg.norm(reference[EYES[0]] - reference[EYES[1]])
                    worst = max(worst, float(np.linalg.norm(points - reference, axis=1).mean() / iod))
            out[face][turn] = (hits, tried, worst)
    return out


WIDE_BACKGROUNDS = ((640, 480), (1280, 720))
WIDE_SIZES = (1 / 20, 1 / 12, 1 / 6, 1 / 2)  # of the long side


def wide_turn_recall(fk: FaceKeypoints, faces: dict, street: np.ndarray) -> tuple[int, int, list[str]]:
    """A wider sweep of turns than `turn_recall`: each face at 1/20, 1/12, 1/6 and 1/2 of the long side of two
    backgrounds, turned by 0-330 degrees, at two places: (found, tried, the misses as text)."""
    found, tried, missed = 0, 0, []
    for width, height in WIDE_BACKGROUNDS:
        canvas = background(street, width, height)
        for share in WIDE_SIZES:
            face = share * width
            for turn in TURNS:
                for name, (patch, box_width) in faces.items():
                    for where in ((width * 0.45, height * 0.5), (width * 0.7, height * 0.4)):
                        centre = (float(np.clip(where[0], face / 2, width - face / 2)),
                                  float(np.clip(where[1], face / 2, height - face / 2)))
                        image, _ = paste(canvas, patch, box_width, face, centre, turn)
                        tried += 1
                        if found_at(fk(image, channels="bgr"), centre, face) is None:
                            missed.append(f"{name} {face:.0f} px {turn}° in {width}x{height}")
                        else:
                            found += 1
    return found, tried, missed


NET_SIZES = (14, 20, 28, 40, 56, 80, 110)


def net_scores(faces: dict, street: np.ndarray) -> str:
    """Each BlazeFace network's best score near each face pasted at 32, 64 and 128 px into the 640x480 background
    and the image resized so that the face is N px in the network's input: the range over the faces and sizes,
    per N (what the scan's FACE_PX and LARGEST_PX come from)."""
    from facekeypoints.photos import BlazeFaceDetector
    from facekeypoints.photos.blazeface import FULL, SHORT

    detector = BlazeFaceDetector()
    canvas = background(street, 640, 480)
    lines = ["| face in the input | " + " | ".join(f"{n} px" for n in NET_SIZES) + " |",
             "|" + " --- |" * (len(NET_SIZES) + 1)]
    for net in (SHORT, FULL):
        scores = {n: [] for n in NET_SIZES}
        for patch, box_width in faces.values():
            for face in (32, 64, 128):
                image, _ = paste(canvas, patch, box_width, face, (320, 240))
                for n in NET_SIZES:
                    scale = n / face
                    size = (round(640 * scale), round(480 * scale))
                    scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                    try:
                        raw = detector._run(net, scaled, 0.001)
                    except TypeError:  # a version before the threshold was an argument (benchmarking it)
                        detector.threshold = 0.001
                        raw = detector._run(net, scaled)
                    centre = ((raw[:, 1] + raw[:, 3]) / 2, (raw[:, 2] + raw[:, 4]) / 2)
                    near = (np.abs(centre[0] - 320 * scale) < n / 2) & (np.abs(centre[1] - 240 * scale) < n / 2)
                    scores[n].append(float(raw[near, 0].max()) if near.any() else 0.0)
        lines.append(f"| {net.name} | " + " | ".join(f"{min(v):.2f}-{max(v):.2f}" for v in scores.values()) + " |")
    return "\n".join(lines)


def recall_tables(recall: dict, turns: dict) -> str:
    sizes = sorted({s for per in recall.values() for s in per})
    head = ["face px"] + [f"{w}x{h}" for w, h in recall]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for face in sizes:
        cells = [str(face)]
        for (w, h), per in recall.items():
            if face not in per:
                cells.append("")
                continue
            hits, tried = per[face]
            asked = face >= smallest_face((h, w), None)
            cells.append(f"{hits}/{tried}" if asked else f"({hits}/{tried})")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("\nTurned (640x480): found / tried, worst mean keypoint distance / inter-ocular against the upright "
                 "face\n")
    head = ["face px"] + [f"{t}°" for t in TURNS]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for face, per in turns.items():
        lines.append("| " + " | ".join([str(face)] + [f"{h}/{n} {e:.3f}" if h else f"0/{n} -"
                                                      for h, n, e in per.values()]) + " |")
    return "\n".join(lines)


MARKERS = {"linear": ("x", "aliased shrink (INTER_LINEAR)"), "jpeg70": ("^", "shrink + JPEG quality 70")}


def plot(curves: dict, recommended: int, path: str, recall: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    area = curves["area"]
    sides = sorted(area)
    fig, axes_row = plt.subplots(1, 3 if recall else 2, figsize=(12 if recall else 8, 3.6), dpi=150,
                                 layout="constrained")
    left, right = axes_row[:2]
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
    if recall:
        found = axes_row[2]
        for (w, h), per in recall.items():
            sizes = sorted(per)
            line, = found.plot(sizes, [100 * per[s][0] / per[s][1] for s in sizes], "o-", ms=3, lw=1,
                               label=f"{w}x{h} (from {smallest_face((h, w), None):.0f} px)")
            found.axvline(smallest_face((h, w), None), color=line.get_color(), ls=":", lw=1)
        found.set_xscale("log")
        found.set_ylim(-3, 103)
        found.set_xlabel("face size: box width in photo pixels (log)", fontsize=8)
        found.set_ylabel("pasted faces found with the defaults, %", fontsize=8)
        found.set_title("Detection: shared photos' faces pasted at each size", fontsize=9)
        found.tick_params(labelsize=7)
        found.grid(alpha=0.3)
        found.legend(fontsize=6, loc="lower right", title="background (default smallest face: dotted)",
                     title_fontsize=6)
    fig.suptitle("Left: validation faces shrunk to a small face's size and cut back to 96 px. Right: faces "
                 "found by FaceKeypoints() at each size" if recall else
                 "Validation faces shrunk to a small face's size and cut back to 96 px", fontsize=10)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--variants", default="40,32,28,24", help="sizes also measured with the harsher shrinks")
    parser.add_argument("--plot", default="docs/face-size.png", help="the picture to draw ('' for none)")
    parser.add_argument("--photos", type=Path, help="the shared photos (default: beside --data)")
    parser.add_argument("--only", choices=("keypoints", "detection"), help="one half of the benchmark (the plot "
                        "needs both)")
    args = parser.parse_args()
    recall = None
    if args.only != "keypoints":
        fk = FaceKeypoints()
        photos = args.photos or Path(args.data).parent / "photos"
        faces = shared_faces(photos, fk)
        street = decode_image(photos / "gus.jpg")
        recall, turns = detection_recall(fk, faces, street), turn_recall(fk, faces, street)
        print("Each network's best score at each face's place, the face N px wide in its input (over the faces "
              f"pasted at 32, 64 and 128 px):\n\n{net_scores(faces, street)}\n")
        print(f"Detection with FaceKeypoints()'s defaults: the faces of {', '.join(faces)} pasted into gus.jpg's "
              "street; found / tried per face size (box width, px) and background; in brackets: under the default "
              f"smallest face, not looked for\n\n{recall_tables(recall, turns)}\n")
        found, tried, missed = wide_turn_recall(fk, faces, street)
        print(f"Turned, wider (the faces at {', '.join(f'1/{round(1 / s)}' for s in WIDE_SIZES)} of the long side "
              f"of {' and '.join(f'{w}x{h}' for w, h in WIDE_BACKGROUNDS)}, {len(TURNS)} turns, two places): "
              f"found {found}/{tried}; missed: {'; '.join(missed) or 'none'}\n")
        if args.only == "detection":
            return
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
        plot(curves, recommended, args.plot, recall)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
