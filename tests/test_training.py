"""Models, codecs and training runs on a handful of generated faces: a few steps each."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facekeypoints import KeypointModel
from facekeypoints.checkpoint import load_checkpoint
from facekeypoints.cli import main
from facekeypoints.augment import Augmentation
from facekeypoints.codecs import HeatmapCodec, IntegralCodec, RegressionCodec
from facekeypoints.errors import FacekeypointsError
from facekeypoints.models import create_model
from facekeypoints.train import TrainConfig, run
from facekeypoints.viz import compare_runs


def test_hourglass_is_fully_convolutional_at_full_resolution():
    model = create_model("hourglass", stacks=2, channels=16).train()
    outputs = model(torch.rand(2, 1, 96, 96))
    assert len(outputs) == 2 and all(o.shape == (2, 15, 96, 96) for o in outputs)
    assert model.eval()(torch.rand(1, 1, 96, 96)).shape == (1, 15, 96, 96)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_resnet18_regressor_shape(in_channels):
    model = create_model("resnet18", in_channels=in_channels).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 30)
    n = sum(p.numel() for p in model.parameters())
    assert 11_000_000 < n < 13_000_000  # ResNet-18 (11.2 M without its classifier) + the tutorial's head


def test_heatmap_codec_round_trip():
    points = torch.tensor([[[10.0, 20.0], [50.3, 60.7], [0.0, 95.0]]])
    mask = torch.tensor([[True, True, False]])
    codec = HeatmapCodec(sigma=2.0, decoder="subpixel")
    heatmaps = codec.encode(points, mask)
    assert heatmaps.shape == (1, 3, 96, 96)
    assert heatmaps[0, 0, 20, 10] == pytest.approx(1.0) and heatmaps[0, 2].max() == 0  # unlabelled: empty
    decoded = codec.decode(heatmaps)
    assert torch.allclose(decoded[0, :2], points[0, :2], atol=1e-3)  # sub-pixel: exact for a Gaussian
    argmax = HeatmapCodec(sigma=2.0).decode(heatmaps)
    assert argmax[0, 1].tolist() == [50.0, 61.0]  # argmax: the nearest pixel


def test_heatmap_loss_ignores_unlabelled_keypoints():
    codec = HeatmapCodec()
    points = torch.full((1, 15, 2), 40.0)
    mask = torch.zeros(1, 15, dtype=torch.bool)
    mask[0, 0] = True
    perfect = codec.encode(points, mask)
    noisy = perfect.clone()
    noisy[0, 1:] = torch.rand(14, 96, 96)  # garbage on unlabelled keypoints only
    assert codec.loss(noisy, points, mask).item() == 0.0
    assert codec.loss([noisy, noisy], points, mask).item() == 0.0
    worse = noisy.clone()
    worse[0, 0] = 0
    assert codec.loss(worse, points, mask).item() > 0


def test_regression_loss_ignores_unlabelled_keypoints():
    codec = RegressionCodec()
    points = torch.full((1, 15, 2), 48.0)
    points[0, 3] = float("nan")
    mask = ~torch.isnan(points[..., 0])
    output = torch.full((1, 30), 0.5)
    output[0, 6:8] = 9.0  # the unlabelled keypoint 3
    assert codec.loss(output, points, mask).item() == 0.0


def test_keypointnet_shape_and_size():
    model = create_model("keypointnet", width=16).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 19, 24, 24)  # 15 + 4 heads at stride 4
    default = create_model("keypointnet")
    assert sum(p.numel() for p in default.parameters()) * 4 < 10_000_000  # float32 weights under 10 MB


def _peaks(points: torch.Tensor, codec: IntegralCodec) -> torch.Tensor:
    """Logits whose soft-argmax is (very nearly) `points`, which must sit on cell centres."""
    cells = codec.cells
    logits = torch.full((*points.shape[:2], cells, cells), -50.0)
    for n, k in np.ndindex(*points.shape[:2]):
        x, y = ((points[n, k] - (codec.stride - 1) / 2) / codec.stride).round().long().tolist()
        logits[n, k, y, x] = 50.0
    return logits


def test_integral_codec_routes_each_convention_to_its_heads():
    codec = IntegralCodec()
    keypoints = torch.rand(2, 15, 2) * 90
    mask = torch.ones(2, 15, dtype=torch.bool)
    mask[1] = False
    mask[1, [0, 1, 10, 14]] = True  # the 4-keypoint convention
    points, head_mask = codec.targets(keypoints, mask)
    assert points.shape == (2, 19, 2)
    assert head_mask[0].tolist() == [True] * 15 + [False] * 4
    assert head_mask[1].tolist() == [False] * 15 + [True] * 4
    assert torch.equal(points[1, 15:], keypoints[1, [0, 1, 10, 14]])


def test_integral_codec_decodes_and_selects():
    codec = IntegralCodec()
    centres = torch.arange(24) * 4 + 1.5
    points = torch.stack((centres[torch.randint(24, (3, 19))], centres[torch.randint(24, (3, 19))]), -1)
    decoded = codec.points(_peaks(points, codec))
    assert torch.allclose(decoded, points, atol=1e-3)
    chosen = codec.select(decoded, torch.tensor([False, True, False]))
    assert torch.allclose(chosen[0], points[0, :15], atol=1e-3)
    assert torch.allclose(chosen[1, [0, 1, 10, 14]], points[1, 15:], atol=1e-3)
    assert torch.allclose(chosen[1, 2:10], points[1, 2:10], atol=1e-3)


def test_flip_augmentation_and_unflip_agree():
    """What augmentation teaches for a mirrored face, unflip turns back into the face's own labels."""
    codec = IntegralCodec()
    offset = torch.randn(19)
    points = torch.rand(4, 19, 2) * 90
    mask = torch.ones(4, 19, dtype=torch.bool)
    images = torch.rand(4, 1, 96, 96)
    flip_only = Augmentation(flip=1.0, rotate=0, scale=0, shift=0, brightness=0, contrast=0)
    mirrored_images, mirrored, _ = flip_only(images, points, mask, codec.flip_permutation, offset)
    assert torch.allclose(mirrored_images, images.flip(-1), atol=1e-5)
    assert torch.allclose(codec.unflip(mirrored, offset), points, atol=1e-4)
    # the left eye centre of a mirrored face is its right eye centre, mirrored and moved by the offset
    assert torch.allclose(mirrored[:, 0, 0], 95 - points[:, 1, 0] + offset[0])


def test_augmentation_moves_keypoints_with_the_pixels():
    torch.manual_seed(0)
    points = torch.rand(8, 1, 2) * 40 + 28
    grid = torch.arange(96.0)
    images = torch.exp(-((grid[None, None, :] - points[:, :, 0:1]) ** 2 + (grid[None, :, None] - points[:, :, 1:2]) ** 2)
                       / (2 * 1.5**2)).unsqueeze(1).reshape(8, 1, 96, 96)
    augment = Augmentation(flip=0.5, rotate=25, scale=0.2, shift=6, brightness=0, contrast=0)
    out, moved, mask = augment(images, points, torch.ones(8, 1, dtype=torch.bool), torch.tensor([0]), torch.zeros(1))
    weight = out[:, 0].clamp(min=0) ** 4  # centroid of the (sharpened) blob
    cx = (weight * grid).sum(dim=(1, 2)) / weight.sum(dim=(1, 2))
    cy = (weight * grid[:, None]).sum(dim=(1, 2)) / weight.sum(dim=(1, 2))
    assert mask.all()
    assert torch.allclose(torch.stack((cx, cy), -1), moved[:, 0], atol=0.1)
    assert not torch.allclose(moved, points, atol=1.0)  # it did move them


def _config(kaggle_dir, tmp_path, **overrides) -> TrainConfig:
    base = dict(model="resnet18", data=str(kaggle_dir / "training.csv"), out=str(tmp_path / "run"), epochs=3,
                batch_size=4, lr=1e-3, val_fraction=0.25, seed=0, threads=1)
    base.update(overrides)
    return TrainConfig(**base)


@pytest.mark.parametrize("model", ["resnet18", "keypointnet"])
def test_resume_reaches_the_same_weights(kaggle_dir, tmp_path, monkeypatch, model):
    # keypointnet adds random augmentation, a weight average, a per-step schedule and bf16 autocast
    overrides = {"model": model, "width": 8 if model == "keypointnet" else None}
    uninterrupted = _config(kaggle_dir, tmp_path / "a", **overrides)
    run(uninterrupted, quiet=True)
    expected = load_checkpoint(tmp_path / "a" / "run" / "last.pt")["state_dict"]

    import facekeypoints.train as train_module

    real_step, calls = train_module.train_step, []

    def interrupting_step(*args):
        calls.append(1)
        if len(calls) == 5:  # mid-way through epoch 2 (3 batches per epoch)
            if model == "keypointnet":
                os.kill(os.getpid(), signal.SIGTERM)  # as `kill` stops a background run
            raise KeyboardInterrupt  # Ctrl-C
        return real_step(*args)

    monkeypatch.setattr(train_module, "train_step", interrupting_step)
    with pytest.raises(FacekeypointsError, match="interrupted: saved .*last.pt \\(epoch 2, step 1\\)"):
        run(_config(kaggle_dir, tmp_path / "b", **overrides), quiet=True)
    monkeypatch.setattr(train_module, "train_step", real_step)
    run(TrainConfig(out=str(tmp_path / "b" / "run")), resume=True, quiet=True)
    resumed = load_checkpoint(tmp_path / "b" / "run" / "last.pt")["state_dict"]
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key
    best_a = load_checkpoint(tmp_path / "a" / "run" / "best.pt")["state_dict"]
    best_b = load_checkpoint(tmp_path / "b" / "run" / "best.pt")["state_dict"]
    assert all(torch.equal(best_a[key], best_b[key]) for key in best_a)
    # the interrupted epoch's log row covers its batches before the interruption too
    losses_a, losses_b = ([row["train_loss"] for row in csv.DictReader(open(tmp_path / x / "run" / "log.csv"))]
                          for x in "ab")
    assert losses_a == losses_b


def test_training_run_outputs(kaggle_dir, tmp_path, capsys):
    out = tmp_path / "hg"
    code = main(["train", "--model", "hourglass", "--data", str(kaggle_dir), "--out", str(out), "--epochs", "2",
                 "--batch-size", "4", "--val-fraction", "0.25", "--threads", "1", "-q"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"best.pt", "last.pt", "log.csv", "curve.png"}
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[1]["lr"]) == 5e-4
    assert all(np.isfinite(float(r["val_rmse"])) for r in rows)
    payload = load_checkpoint(out / "best.pt")
    assert "train_state" not in payload and payload["meta"]["codec"]["name"] == "heatmap"
    # a second run into the same folder needs --resume or --force
    assert main(["train", "--model", "hourglass", "--data", str(kaggle_dir), "--out", str(out), "-q"]) == 1
    assert "--resume" in capsys.readouterr().err
    # resume to a longer run
    assert main(["train", "--resume", "--out", str(out), "--epochs", "3", "-q"]) == 0
    assert len(list(csv.DictReader(open(out / "log.csv")))) == 3

    # the trained checkpoint works everywhere a model is taken
    model = KeypointModel.load(out / "best.pt")
    pred = model.predict(np.zeros((2, 96, 96), np.uint8))
    assert pred.shape == (2, 15, 2) and ((pred >= 0) & (pred <= 95)).all()
    assert main(["evaluate", "--model", str(out / "best.pt"), "--data", str(kaggle_dir), "--val-fraction", "0.25",
                 "--worst-out", str(tmp_path / "worst.png"), "--count", "2", "-q"]) == 0
    assert "RMSE" in capsys.readouterr().out and (tmp_path / "worst.png").is_file()
    assert main(["submit", "--data", str(kaggle_dir), "--model", str(out / "best.pt"), "--out",
                 str(tmp_path / "s.csv"), "-q"]) == 0
    assert main(["show", str(kaggle_dir), "--model", str(out / "best.pt"), "--heatmaps", "--out",
                 str(tmp_path / "hm.png"), "-q"]) == 0
    assert (tmp_path / "hm.png").stat().st_size > 1000

    # the run's log drawn beside itself by tools/compare_runs.py, against epochs and cumulative minutes
    picture = tmp_path / "runs.png"
    subprocess.run([sys.executable, "tools/compare_runs.py", f"a={out}", f"b={out}", "--out", str(picture)],
                   check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
    assert picture.stat().st_size > 1000
    fig = compare_runs({"a": rows})
    by_epoch, by_time = (ax.lines[0] for ax in fig.axes)
    assert list(by_epoch.get_ydata()) == [float(r["val_rmse"]) for r in rows]
    assert np.allclose(by_time.get_xdata(), np.cumsum([float(r["seconds"]) for r in rows]) / 60)


def test_complete_only_trains_on_complete_faces(kaggle_dir, tmp_path):
    run(_config(kaggle_dir, tmp_path, epochs=1, complete_only=True), quiet=True)
    meta = load_checkpoint(tmp_path / "run" / "best.pt")["meta"]
    assert meta["train_images"] < 9  # of the 9 training faces, every third carries only 4 keypoints
