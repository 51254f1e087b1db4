"""Video: jitter, lag and frames/s of keypoints followed from frame to frame, against each frame on its own.

    python benchmarks/tracking.py [--photos ../shared/data/photos] [--out docs/tracking.png]

Each photo is fitted into a 640x480 frame and made into two MP4 clips at 30 frames/s, each frame a known
similarity transform of it, with sensor noise (Gaussian, 3 grey levels) and brightness flicker (4 %):
- slow (5 s): moving (+-40 px, +-25 px), turning (+-6 deg) and zooming (+-12 %) on smooth periodic paths;
- fast (3 s): still, then 160 px to the right in 8 frames (up to 31 px a frame), still, and back.
Keypoints are mapped back through the known transform into the photo's pixels. Jitter: the RMS distance of each
keypoint from its own mean over the slow clip (px; a perfect answer would not move). Lag: on the fast moves,
how many frames the face's centre trails the true one (the least-squares delay along the motion). Three ways:
every frame detected on its own (`--no-track`), followed without smoothing, and followed and smoothed. The
One-Euro filter's settings are chosen here: the steadiest on the slow clips whose worst lag stays within one frame
on the fast move and on a mouth opening (8 % of the crop in 4 frames, added to the fast clip's start).
Frames/s: `facekeypoints predict slow.mp4 --json ...` timed whole, start-up included, in a fresh process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facekeypoints import FaceKeypoints
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos import Crop, OneEuroFilter, Tracking
from facekeypoints.photos.tracking import BETA, D_CUTOFF, MIN_CUTOFF, steady

FPS, WIDTH, HEIGHT = 30.0, 640, 480
MOVE = 160  # px, the fast clip's jump
CUTOFFS = (0.02, 0.05, 0.1, 0.3)
BETAS = (0.3, 1.0, 3.0, 10.0, 30.0)
D_CUTOFFS = (1.0, 3.0, 10.0)
LIP = KEYPOINT_NAMES.index("mouth_center_bottom_lip")


def scene(photo: Path) -> np.ndarray:
    """The photo fitted inside a 640x480 frame, edges replicated."""
    image = cv2.imread(str(photo))
    scale = min(WIDTH / image.shape[1], HEIGHT / image.shape[0])
    matrix = np.array([[scale, 0, (WIDTH - scale * image.shape[1]) / 2],
                       [0, scale, (HEIGHT - scale * image.shape[0]) / 2]])
    return cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def slow_path(count: int) -> list[np.ndarray]:
    """Similarity transforms (2, 3) of the scene, frame by frame: moving, turning and zooming smoothly."""
    t = np.arange(count) / FPS
    out = []
    for ti in t:
        angle, zoom = 6 * np.sin(2 * np.pi * ti / 4.1), 1 + 0.12 * np.sin(2 * np.pi * ti / 3.3 + 1)
        matrix = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), angle, zoom)
        matrix[:, 2] += (40 * np.sin(2 * np.pi * ti / 5.0), 25 * np.sin(2 * np.pi * ti / 3.7 + 2))
        out.append(matrix)
    return out


def ramp(frames: int) -> np.ndarray:
    return (1 - np.cos(np.pi * np.arange(1, frames + 1) / frames)) / 2


def fast_path() -> tuple[list[np.ndarray], list[int]]:
    """Still 30 frames, 160 px right in 8, still 22, back in 8, still 22; and the frames of the two moves."""
    shift = np.concatenate([np.zeros(30), MOVE * ramp(8), np.full(22, MOVE), MOVE * (1 - ramp(8)), np.zeros(22)])
    shift -= MOVE / 2  # about the frame's centre, so that the face stays inside
    return [np.array([[1.0, 0, s], [0, 1.0, 0]]) for s in shift], list(range(30, 46)) + list(range(60, 76))


def write_clip(path: Path, base: np.ndarray, path_matrices: list[np.ndarray], seed: int) -> None:
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for matrix in path_matrices:
        frame = cv2.warpAffine(base, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame = frame.astype(np.float32) * (1 + 0.04 * rng.standard_normal()) + rng.normal(0, 3, frame.shape)
        writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    writer.release()


def keypoints(fk: FaceKeypoints, clip: Path, tracking: Tracking | None) -> tuple[np.ndarray, float]:
    """The largest face's keypoints (frames, 15, 2) in frame pixels (NaN where none), and frames/s in process."""
    rows, started = [], time.perf_counter()
    for result in fk.detect_files([clip], tracking=tracking):
        faces = [f for f in result.faces if f.keypoints is not None]
        face = max(faces, key=lambda f: f.box[2] * f.box[3], default=None)
        rows.append(face.as_array() if face is not None else np.full((15, 2), np.nan))
    return np.array(rows), len(rows) / (time.perf_counter() - started)


def unmove(points: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """Frame pixels -> the scene's, through each frame's inverse transform."""
    out = np.empty_like(points)
    for i, (p, m) in enumerate(zip(points, matrices)):
        inverse = cv2.invertAffineTransform(m)
        out[i] = p @ inverse[:, :2].T + inverse[:, 2]
    return out


def jitter(points: np.ndarray, matrices: list[np.ndarray]) -> float:
    back = unmove(points, matrices)
    return float(np.sqrt(np.nanmean(np.sum((back - np.nanmean(back, axis=0)) ** 2, axis=-1))))


def lag(points: np.ndarray, matrices: list[np.ndarray], moving: list[int]) -> float:
    """Frames by which the face's centre trails the truth on the moves (least squares along the motion)."""
    rest = np.nanmean(unmove(points, matrices)[:30].mean(axis=1), axis=0)  # the centre, from the still start
    truth = np.array([m[:, :2] @ rest + m[:, 2] for m in matrices])
    centre = points.mean(axis=1)
    velocity = np.diff(truth, axis=0, prepend=truth[:1])
    behind = truth - centre
    return float(np.nansum(behind[moving] * velocity[moving]) / np.sum(velocity[moving] ** 2))


def smoothed(points: np.ndarray, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF
             ) -> np.ndarray:
    """The tracker's smoothing (`tracking.steady`), replayed on its raw keypoints (the crops do not depend on it)."""
    one_euro, out = OneEuroFilter(min_cutoff, beta, d_cutoff), np.empty_like(points)
    for i, p in enumerate(points):
        out[i] = steady(p, i / FPS, one_euro)[0] if np.isfinite(p).all() else np.nan
    return out


def mouth_lag(points: np.ndarray, *settings: float) -> float:
    """Frames by which the smoothing trails a mouth opening: on the fast clip's still start, the bottom lip moved
    down by 8 % of the crop in 4 frames and held there (the model's keypoints plus that motion); the delay of the
    smoothed lip's crossing of half the opening (inf: it never gets there)."""
    still = points[:30].copy()
    side = Crop.from_keypoints(np.nanmean(still, axis=0)).side
    opening = np.concatenate([np.zeros(8), ramp(4), np.ones(18)]) * 0.08 * side
    still[:, LIP, 1] += opening
    moved = smoothed(still, *settings)[:, LIP, 1] - np.mean(still[:8, LIP, 1])

    def crossing(series: np.ndarray) -> float:
        after = np.flatnonzero(series >= opening[-1] / 2)
        if not len(after):
            return np.inf
        i = after[0]  # between frames i - 1 and i, linearly
        return i - 1 + (opening[-1] / 2 - series[i - 1]) / (series[i] - series[i - 1])

    return float(crossing(moved) - crossing(opening))


def command_fps(clip: Path, frames: int, *flags: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "facekeypoints", "predict", str(clip), "--json",
                        str(Path(folder) / "out.json"), "-q", *flags], check=True)
        return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/photos"))
    parser.add_argument("--out", type=Path, help="a PNG of the nose tip over time, each way")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    fk = FaceKeypoints()
    slow_matrices = slow_path(150)
    fast_matrices, moving = fast_path()
    ways = {"each frame on its own": None, "followed": Tracking(smooth=False)}
    rows: dict[str, list] = {}
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    speeds: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as folder:
        for k, photo in enumerate(photos):
            base = scene(photo)
            slow, fast = Path(folder) / f"{photo.stem}-slow.mp4", Path(folder) / f"{photo.stem}-fast.mp4"
            write_clip(slow, base, slow_matrices, 2 * k)
            write_clip(fast, base, fast_matrices, 2 * k + 1)
            for way, tracking in ways.items():
                points_slow, speed = keypoints(fk, slow, tracking)
                points_fast, _ = keypoints(fk, fast, tracking)
                speeds[way].append(speed)
                rows.setdefault(way, []).append((photo.name, jitter(points_slow, slow_matrices),
                                                 lag(points_fast, fast_matrices, moving),
                                                 int(np.isfinite(points_slow).all(axis=(1, 2)).sum()
                                                     + np.isfinite(points_fast).all(axis=(1, 2)).sum())))
                if tracking is not None:
                    raw[photo.name] = (points_slow, points_fast)
                if way == "each frame on its own":
                    raw[photo.name + "/each"] = (points_slow, points_fast)
        clip = Path(folder) / f"{photos[0].stem}-slow.mp4"
        startup = {"followed and smoothed (defaults)": command_fps(clip, 150),
                   "each frame on its own": command_fps(clip, 150, "--no-track")}

    print("One-Euro settings on the followed keypoints: mean jitter on the slow clips (px) / worst lag on the fast "
          "move / worst lag on a mouth opening (frames)")
    print("| d_cutoff, min_cutoff \\ beta | " + " | ".join(f"{b:g}" for b in BETAS) + " |")
    print("| --- |" + " --- |" * len(BETAS))
    best = None
    for d_cutoff in D_CUTOFFS:
        for cutoff in CUTOFFS:
            cells = []
            for beta in BETAS:
                settings = (cutoff, beta, d_cutoff)
                js = [jitter(smoothed(raw[p.name][0], *settings), slow_matrices) for p in photos]
                ls = [lag(smoothed(raw[p.name][1], *settings), fast_matrices, moving) for p in photos]
                ms = [mouth_lag(raw[p.name][1], *settings) for p in photos]
                cells.append(f"{np.mean(js):.3f} / {max(ls):.2f} / {max(ms):.2f}")
                if max(ls) <= 1.0 and max(ms) <= 1.0 and (best is None or np.mean(js) < best[0]):
                    best = (float(np.mean(js)), *settings)
            print(f"| {d_cutoff:g}, {cutoff:g} | " + " | ".join(cells) + " |")
    print(f"steadiest within one frame of lag on the move and on the mouth: min_cutoff {best[1]:g}, beta {best[2]:g}, "
          f"d_cutoff {best[3]:g} (jitter {best[0]:.3f} px); shipped: {MIN_CUTOFF:g}, {BETA:g}, {D_CUTOFF:g}")

    rows["followed and smoothed"] = [
        (p.name, jitter(smoothed(raw[p.name][0]), slow_matrices), lag(smoothed(raw[p.name][1]), fast_matrices, moving),
         rows["followed"][i][3]) for i, p in enumerate(photos)]
    print("\n| way | " + " | ".join(p.name for p in photos) + " | mean jitter px | worst lag frames | frames with a "
          "face | frames/s in process |")
    print("| --- |" + " --- |" * (len(photos) + 4))
    for way, cells in rows.items():
        speed = np.median(speeds.get(way) or speeds["followed"])
        print(f"| {way} | " + " | ".join(f"{j:.3f} px, lag {lg:.2f}" for _, j, lg, _ in cells)
              + f" | {np.mean([c[1] for c in cells]):.3f} | {max(c[2] for c in cells):.2f} | "
              f"{sum(c[3] for c in cells)}/{len(photos) * 240} | {speed:.0f} |")
    for way, value in startup.items():
        print(f"facekeypoints predict slow.mp4 (150 frames, 640x480), {way}: {value:.1f} frames/s, start-up included")

    if args.out:
        plot(args.out, photos[0].name, raw, slow_matrices, fast_matrices)


def plot(out: Path, name: str, raw: dict, slow_matrices, fast_matrices) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nose = 10
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    series = {"each frame on its own": raw[name + "/each"], "followed": raw[name],
              "followed and smoothed": tuple(smoothed(p) for p in raw[name])}
    for (label, (slow, fast)), colour in zip(series.items(), ("tab:red", "tab:orange", "tab:blue")):
        back = unmove(slow, slow_matrices)[:, nose, 0]
        left.plot(back - np.nanmean(back), label=label, color=colour, lw=1)
        right.plot(fast[:, nose, 0], label=label, color=colour, lw=1, marker=".", ms=3)
    truth = [m[0, 2] for m in fast_matrices]
    right.plot(np.array(truth) - truth[0] + np.nanmean(raw[name][1][:30, nose, 0]), color="k", lw=1, ls="--",
               label="true motion")
    left.set(title=f"{name}, slow clip: nose tip x in the photo, minus its mean", xlabel="frame", ylabel="px")
    right.set(title="fast clip: nose tip x in the frame", xlabel="frame", ylabel="px", xlim=(25, 50))
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
