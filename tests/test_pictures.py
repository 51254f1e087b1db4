"""Pictures a person reads: grids without a lone face, heatmaps as a block, whole epochs, legible names."""

from __future__ import annotations

import numpy as np
import pytest

from facekeypoints.cli import main
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos.results import label_layout, label_scale
from facekeypoints.viz import grid_shape, heatmap_overlay, training_curve


@pytest.mark.parametrize("n, shape", [(1, (1, 1)), (2, (2, 1)), (12, (4, 3)), (16, (4, 4)), (17, (5, 4)),
                                      (25, (5, 5))])
def test_grids_have_even_rows(n, shape):
    columns, rows = grid_shape(n)
    assert (columns, rows) == shape
    assert columns * rows - n < rows  # no column could go: 16 faces 5 wide left one alone on its row


def test_the_heatmap_picture_is_a_block_not_a_strip():
    face = np.zeros((96, 96), np.uint8)
    maps = np.random.default_rng(0).random((15, 96, 96)).astype(np.float32)
    for sets in (1, 2):
        fig = heatmap_overlay(face, [maps] * sets, list(KEYPOINT_NAMES), ["predicted", "target"][:sets])
        width, height = fig.get_size_inches()
        assert width / height <= 2.2 * sets / 2 + 0.1  # 1 set: about square; 2: twice as wide
        titles = [ax.get_title() for ax in fig.axes]
        assert len(titles) == 16 * sets and "predicted: all" in titles and "nose tip" in titles


def test_the_training_curve_ticks_whole_epochs():
    log = [{"epoch": e, "train_loss": 1 / e, "val_rmse": 3 / e} for e in (1, 2, 3)]
    fig = training_curve(log)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_show_names_faces_by_the_index_that_indices_takes(kaggle_dir, tmp_path, capsys):
    assert main(["show", str(kaggle_dir), "--indices", "2", "--out", str(tmp_path / "one.png")]) == 0
    assert main(["show", str(kaggle_dir), "--model", "keypointnet", "--indices", "2", "--heatmaps",
                 "--out", str(tmp_path / "heat.png")]) == 0
    assert "heatmaps of #2, line 4" in capsys.readouterr().out


@pytest.mark.parametrize("side, box", [(512, (177, 67, 93, 93)), (300, (5, 200, 40, 40)), (2000, (1800, 50, 190, 190))])
def test_keypoint_names_never_overlap_and_stay_in_the_picture(side, box):
    x, y, w, h = box
    rng = np.random.default_rng(side)
    points = {name: (x + w * rng.uniform(0.1, 0.9), y + h * rng.uniform(0.1, 0.9)) for name in KEYPOINT_NAMES}
    labels = label_layout(points, box, (side, side, 3), label_scale((side, side)))
    assert sorted(label.text for label in labels) == sorted(n.replace("_", " ") for n in KEYPOINT_NAMES)
    rects = [label.rect for label in labels]
    for i, (ax, ay, aw, ah) in enumerate(rects):
        assert 0 <= ax and ax + aw < side and 0 <= ay and ay + ah <= side
        for bx, by, bw, bh in rects[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (rects[i], (bx, by, bw, bh))
