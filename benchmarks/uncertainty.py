"""How well each keypoint's `uncertainty` (expected error from its heatmap spread) foretells its actual error.

    python benchmarks/uncertainty.py [--data DIR] [--plot docs/uncertainty.png]

The calibrations ship beside the models (fitted on the validation split by `tools/calibrate.py`); this scores
them on faces they were not fitted on: the public test split (test.zip, labelled by test_solution.csv), each
face predicted in its labels' convention. Printed per model: Spearman's rank correlation of predicted against
actual error (pooled over all labelled points, and per keypoint), the same for a predictor that knows only each
keypoint's mean validation error (what the spread adds beyond it), mean predicted against mean actual error,
the points whose spread lies beyond their table's last knot (where it grows in proportion), and what the not-a-face
cut-off (`MAX_SPREAD`, a median spread) means as expected error. The plot: mean actual against mean predicted
error in ten equal-count bins of predicted error, and the per-keypoint rank correlations. About 10 s.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from facekeypoints import load_model
from facekeypoints.evaluation import keypoint_errors, solved_test, split_faces
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos.results import MAX_SPREAD
from facekeypoints.uncertainty import rank_correlation

MODELS = ("keypointnet", "fast")
BINS = 10


def measure(name: str, data: str) -> dict:
    model = load_model(name)
    spread, actual = keypoint_errors(model, solved_test(data))
    mask = ~np.isnan(actual)
    predicted = model.uncertainty(spread)
    val_spread, val_error = keypoint_errors(model, split_faces(data))
    baseline = np.broadcast_to(np.nanmean(val_error, axis=0), actual.shape)  # each keypoint's mean, no spread
    beyond = mask & (spread > np.array([x[-1] for x, _ in model.uncertainty.knots]))
    order = np.argsort(predicted[mask], kind="stable")
    bins = np.array_split(order, BINS)
    return {
        "rho": rank_correlation(predicted[mask], actual[mask]),
        "rho_baseline": rank_correlation(baseline[mask], actual[mask]),
        "per_point": [rank_correlation(predicted[mask[:, k], k], actual[mask[:, k], k]) for k in range(15)],
        "mean_predicted": predicted[mask].mean(), "mean_actual": actual[mask].mean(), "points": int(mask.sum()),
        "bins": [(predicted[mask][b].mean(), actual[mask][b].mean(), actual[mask][b].std() / np.sqrt(len(b)))
                 for b in bins],
        "beyond": (int(beyond.sum()), predicted[beyond].mean(), actual[beyond].mean()),
        "at_cutoff": model.uncertainty(np.full(15, MAX_SPREAD)),
        "val_median_spread": float(np.median(np.median(val_spread, axis=1))),
    }


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), dpi=150, layout="constrained",
                                      gridspec_kw={"width_ratios": [1, 1.15]})
    top = max(max(p, a + s) for r in results.values() for p, a, s in r["bins"]) * 1.08
    left.plot([0, top], [0, top], color="grey", lw=1, ls=":", label="predicted = actual")
    for (name, r), colour in zip(results.items(), ("tab:blue", "tab:orange")):
        p, a, s = np.array(r["bins"]).T
        left.errorbar(p, a, yerr=s, fmt="o-", color=colour, ms=4, capsize=2, lw=1,
                      label=f"{name}: Spearman {r['rho']:.2f}, "
                      f"means {r['mean_predicted']:.2f} / {r['mean_actual']:.2f}")
    left.set_xlim(0, top)
    left.set_ylim(0, top)
    left.set_xlabel("predicted error (uncertainty), pixels of the 96-px crop", fontsize=8)
    left.set_ylabel("actual error, mean of the bin (± s.e.)", fontsize=8)
    left.set_title(f"Public test, {next(iter(results.values()))['points']} labelled points, "
                   f"{BINS} equal-count bins", fontsize=9)
    left.legend(fontsize=7, loc="lower right")
    cutoff = "\n".join(f"  {name}: {np.median(r['at_cutoff']):.1f} px" for name, r in results.items())
    left.text(0.03, 0.97, f"not-a-face cut-off (spread {MAX_SPREAD:g} on every\npoint) as expected error, median "
              f"of the 15:\n{cutoff}", transform=left.transAxes, fontsize=7, va="top")
    y = np.arange(len(KEYPOINT_NAMES))
    for i, ((name, r), colour) in enumerate(zip(results.items(), ("tab:blue", "tab:orange"))):
        right.barh(y + (i - 0.5) * 0.38, r["per_point"], height=0.38, color=colour, label=name)
    right.set_yticks(y, [n.replace("_", " ") for n in KEYPOINT_NAMES], fontsize=7)
    right.invert_yaxis()
    right.axvline(0, color="black", lw=0.8)
    right.set_xlabel("Spearman's rank correlation, predicted vs actual error", fontsize=8)
    right.set_title("Per keypoint", fontsize=9)
    right.legend(fontsize=7, loc="lower right")
    for axes in (left, right):
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    fig.suptitle("Per-keypoint uncertainty (fitted on the validation split) against the actual error", fontsize=10)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--plot", default="docs/uncertainty.png", help="the picture to draw ('' for none)")
    args = parser.parse_args()
    results = {name: measure(name, args.data) for name in MODELS}
    for name, r in results.items():
        per = np.array(r["per_point"])
        n, p, a = r["beyond"]
        cut = r["at_cutoff"]
        print(f"{name}: {r['points']} labelled points of the public test")
        print(f"  Spearman predicted vs actual: {r['rho']:.3f} pooled (each keypoint's mean error alone: "
              f"{r['rho_baseline']:.3f}); per keypoint median {np.median(per):.3f}, {per.min():.3f}-{per.max():.3f}")
        print(f"  mean predicted {r['mean_predicted']:.3f} px, mean actual {r['mean_actual']:.3f} px "
              f"(ratio {r['mean_predicted'] / r['mean_actual']:.3f})")
        print("  bins (predicted -> actual): " + ", ".join(f"{p:.2f}->{a:.2f}" for p, a, _ in r["bins"]))
        print(f"  {n} points beyond their table's last knot: predicted {p:.2f}, actual {a:.2f} px")
        print(f"  the not-a-face cut-off, spread {MAX_SPREAD:g} on every point (faces: median "
              f"{r['val_median_spread']:.1f}): expected error median {np.median(cut):.2f} px over the 15, "
              f"{cut.min():.2f}-{cut.max():.2f} "
              f"({np.median(cut) / 96:.1%} of the crop side)")
    if args.plot:
        plot(results, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
