"""Pictures: grids of faces with labelled and predicted keypoints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

from ._fs import atomic_output
from .errors import FacekeypointsError

FACE_EXTENT = (-0.5, 95.5, 95.5, -0.5)  # pixel j's centre at coordinate j, as in Kaggle's labels
LABEL_STYLE = {"marker": "o", "s": 22, "facecolors": "none", "edgecolors": "#00e000", "linewidths": 1.3}
PREDICTION_STYLE = {"marker": "+", "s": 40, "color": "#ff2020", "linewidths": 1.4}


# The most faces one grid draws: 256 make a 16x16 grid of 3971x3135 pixels, drawn in 19 s at 0.3 GB peak
# (`facekeypoints show DATA --count 256` on the 2-core Xeon of docs/limits.md); more would not be looked at,
# and 100 000 ran for minutes at 3.4 GB.
MAX_GRID = 256


def check_grid(count: int) -> None:
    """Refuse, before any work, a grid larger than `MAX_GRID` faces."""
    if count > MAX_GRID:
        raise FacekeypointsError(f"--count {count}: at most {MAX_GRID} faces in one picture (draw several with "
                                 "--indices or --seed)")


def face_grid(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    label_mask: np.ndarray | None = None,
    predictions: np.ndarray | None = None,
    prediction_mask: np.ndarray | None = None,
    titles: Sequence[str] | None = None,
    columns: int | None = None,
    title: str | None = None,
) -> Figure:
    """Draw faces (N, 96, 96) in a grid, labels as green circles and predictions as red crosses.

    Unlabelled keypoints (mask False or NaN) are simply not drawn. `prediction_mask` limits the drawn
    predictions (e.g. to the keypoints a lookup table asks for).
    """
    n = len(images)
    check_grid(n)
    columns, rows = grid_shape(n, columns)
    fig = Figure(figsize=(1.9 * columns, 2.0 * rows + 0.5), dpi=110)
    for i in range(rows * columns):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255, extent=FACE_EXTENT)
        if labels is not None:
            _scatter(ax, labels[i], None if label_mask is None else label_mask[i], LABEL_STYLE)
        if predictions is not None:
            _scatter(ax, predictions[i], None if prediction_mask is None else prediction_mask[i], PREDICTION_STYLE)
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    handles = []
    if labels is not None:
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="none",
                              markeredgecolor=LABEL_STYLE["edgecolors"], label="label"))
    if predictions is not None:
        handles.append(Line2D([], [], linestyle="", marker="+", color=PREDICTION_STYLE["color"], label="prediction"))
    top = 1 - 0.45 / (2.0 * rows + 0.5)
    if handles:
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=top, wspace=0.05, hspace=0.25)
    return fig


def grid_shape(n: int, columns: int | None = None, aspect: float = 1.3) -> tuple[int, int]:
    """(columns, rows) for n pictures: about `aspect` times wider than tall, with rows as even as can be
    (16 faces are 4 x 4, not 5 + 5 + 5 + 1)."""
    if columns is None:
        rows = math.ceil(n / max(1, math.ceil(math.sqrt(n * aspect))))
        columns = math.ceil(n / max(1, rows))
    columns = max(1, min(columns, n))
    return columns, max(1, math.ceil(n / columns))


def _scatter(ax, points: np.ndarray, mask: np.ndarray | None, style: dict) -> None:
    keep = ~np.isnan(points).any(axis=1)
    if mask is not None:
        keep &= mask
    ax.scatter(points[keep, 0], points[keep, 1], **style)


def save_figure(fig: Figure, path: str | Path, force: bool = False) -> None:
    """Save as PNG (or any format matplotlib knows from the suffix), atomically."""
    with atomic_output(path, force=force) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png")


def training_curve(log: list[dict]) -> Figure:
    """Training loss and validation RMSE per epoch, from a run's log rows."""
    epochs = [row["epoch"] for row in log]
    fig = Figure(figsize=(7, 3.2), dpi=110)
    ax_loss, ax_rmse = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax_loss.plot(epochs, [row["train_loss"] for row in log], marker=".")
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="training loss")
    ax_rmse.plot(epochs, [row["val_rmse"] for row in log], marker=".", color="tab:red")
    ax_rmse.set(xlabel="epoch", ylabel="RMSE (px)", title="validation RMSE")
    for ax in (ax_loss, ax_rmse):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no tick at 1.5
    fig.tight_layout()
    return fig


def compare_runs(runs: dict[str, list[dict]]) -> Figure:
    """Validation RMSE of several runs, against epochs and against minutes of training steps (what an
    epoch costs differs tenfold between models). runs: a label -> that run's log rows."""
    fig = Figure(figsize=(8, 3.4), dpi=110)
    ax_epoch, ax_time = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for label, log in runs.items():
        rmse = [float(row["val_rmse"]) for row in log]
        minutes = np.cumsum([float(row["seconds"]) for row in log]) / 60
        ax_epoch.plot([int(row["epoch"]) for row in log], rmse, marker=".", label=label)
        ax_time.plot(minutes, rmse, marker=".", label=label)
    ax_epoch.set(xlabel="epoch", ylabel="validation RMSE (px)", yscale="log")
    ax_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_time.set(xlabel="minutes of training steps", yscale="log")
    for ax in (ax_epoch, ax_time):
        ax.yaxis.set_major_formatter(ScalarFormatter())  # "3", not "3×10⁰"
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks([t for t in (1, 1.5, 2, 3, 5, 10, 20, 50) if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]])
        ax.grid(alpha=0.3, which="both")
    ax_time.legend(fontsize=7)
    fig.tight_layout()
    return fig


def heatmap_overlay(image: np.ndarray, heatmaps: list[np.ndarray], names: list[str], row_titles: list[str]) -> Figure:
    """For one face: each heatmap set (e.g. target, predicted) as a 4 x 4 block, all keypoints then one keypoint
    a panel over the image; the blocks side by side, each named in its first panel."""
    side = max(4, math.ceil(math.sqrt(len(names) + 1)))  # all keypoints together, then each alone (15: 4 x 4)
    fig = Figure(figsize=(1.45 * side * len(heatmaps), 1.55 * side + 0.3), dpi=110)
    grid = fig.add_gridspec(side, side * len(heatmaps), wspace=0.05, hspace=0.3)
    for r, maps in enumerate(heatmaps):
        panels = [(maps.max(axis=0), f"{row_titles[r]}: all")]
        panels += [(maps[k], names[k].replace("_", " ")) for k in range(maps.shape[0])]
        for i, (heat, title) in enumerate(panels[:side * side]):
            ax = fig.add_subplot(grid[i // side, r * side + i % side])
            ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=FACE_EXTENT)
            ax.imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=max(1e-6, float(heat.max())), extent=FACE_EXTENT)
            ax.set_axis_off()
            ax.set_title(title, fontsize=6)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.92)
    return fig
