"""68-point models on the held-out kaggle-68 faces: NME and pixels per run, the 15-point model on the points both
sets share, and the training-set-size curve of fine-tuning against training from scratch.

    python benchmarks/keypoint_sets.py --runs runs/k68-ft runs/k68-scratch runs/k68-ft-1000 runs/k68-ft-200 \
        runs/k68-ft-50 runs/k68-scratch-1000 runs/k68-scratch-200 runs/k68-scratch-50 --out docs/training-size.png
    python benchmarks/keypoint_sets.py --runs runs/k68-ft --picture docs/keypoints-68.png --no-table

Each run is a `facekeypoints train` folder (its best.pt): its training-set size and whether it was fine-tuned
(`--init`) are read from its checkpoint. The data: ../shared/data/kaggle-68 (dlib's points, not human labels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facekeypoints.checkpoint import load_checkpoint
from facekeypoints.evaluation import evaluate
from facekeypoints.metrics import normalised_mean_error

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaggle-68"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="training run folders")
    parser.add_argument("--data", default=str(DATA / "test"), help="the held-out 68-point faces")
    parser.add_argument("--out", help="draw NME against training faces here (PNG)")
    parser.add_argument("--picture", help="draw the first run's points on the shared photos here (PNG)")
    parser.add_argument("--no-table", action="store_true", help="only the picture")
    args = parser.parse_args()
    if args.picture:
        picture(args.runs[0], args.picture)
    if args.no_table:
        return

    rows = []
    for run in args.runs:
        meta = load_checkpoint(Path(run) / "best.pt")["meta"]
        config = meta["train_config"]
        done = evaluate(run, args.data, split="all")
        per_face = normalised_mean_error(done.predicted, done.data.keypoints, done.data.mask, done.data.keypoint_set)
        rows.append({"run": run, "faces": meta["train_images"], "init": config.get("init") or "-",
                     "epochs": config["epochs"], "nme": float(np.mean(per_face)), "rmse": done.report.rmse,
                     "failures": float(np.mean(per_face > 0.08)), "minutes": meta.get("train_seconds", 0) / 60,
                     "done": done})
    print(f"{len(done.data)} held-out faces of {args.data}")
    print("| run | training faces | from | epochs | NME (% outer-eye distance) | RMSE px | NME > 8 % | train min |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {Path(r['run']).name} | {r['faces']} | {r['init']} | {r['epochs']} | {100 * r['nme']:.2f} | "
              f"{r['rmse']:.3f} | {100 * r['failures']:.1f} % | {r['minutes']:.1f} |")
    shipped = evaluate("keypointnet", args.data, split="all")
    print(f"shipped keypointnet (15 points) on the {len(shipped.points)} points both sets name: RMSE "
          f"{shipped.report.rmse:.3f} px ({', '.join(shipped.points)})")
    for r in rows:  # the 68-point models on those same points
        done = r["done"]
        index = [done.data.keypoint_set.index(name)[0] for name in shipped.points]
        error = done.predicted[:, index] - done.data.keypoints[:, index]
        print(f"{Path(r['run']).name} on the same {len(index)} points: RMSE {np.sqrt(np.mean(error ** 2)):.3f} px")
    if args.out:
        draw(rows, args.out)


def draw(rows, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for label, chosen, style in (("fine-tuned from keypointnet (--init)", [r for r in rows if r["init"] != "-"], "o-"),
                                 ("from scratch", [r for r in rows if r["init"] == "-"], "s--")):
        chosen = sorted(chosen, key=lambda r: r["faces"])
        if chosen:
            ax.plot([r["faces"] for r in chosen], [100 * r["nme"] for r in chosen], style, label=label)
            for r in chosen:
                ax.annotate(f"{100 * r['nme']:.1f}", (r["faces"], 100 * r["nme"]), textcoords="offset points",
                            xytext=(4, 5), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("training faces (kaggle-68 train/, 68 points)")
    ax.set_ylabel("NME on 600 held-out faces (%)")
    ax.set_title("How many faces a 68-point model takes", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def picture(run: str, out: str) -> None:
    """The model's faces on two shared photos (as `predict --save-dir` draws them), each cut around its face."""
    import cv2

    from facekeypoints import FaceKeypoints
    from facekeypoints.photos import draw_faces, read_colour

    fk = FaceKeypoints(model=run)
    panels = []
    for name in ("james.jpg", "fawzia.jpg"):
        image = read_colour(DATA.parent / "photos" / name)
        faces = fk(image, channels="bgr")
        x, y, w, h = faces[0].box
        drawn = draw_faces(image, faces)
        m = w // 4
        panel = drawn[max(0, y - m): y + h + m, max(0, x - m): x + w + m]
        panels.append(cv2.resize(panel, (480, round(480 * panel.shape[0] / panel.shape[1])), cv2.INTER_AREA))
    height = min(p.shape[0] for p in panels)
    cv2.imwrite(out, np.hstack([p[:height] for p in panels]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
