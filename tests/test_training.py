"""Training runs on a handful of generated faces: a few steps each (resume, outputs, options)."""

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
from facekeypoints.errors import FacekeypointsError
from facekeypoints.training import Augmentation, TrainConfig, run
from facekeypoints.viz import compare_runs


@pytest.mark.parametrize("reframe", [0.0, 1.0])
def test_augmentation_moves_keypoints_with_the_pixels(reframe):
    torch.manual_seed(0)
    n = 32
    points = torch.rand(n, 1, 2) * 40 + 28
    grid = torch.arange(96.0)
    squared = (grid[None, None, :] - points[:, :, 0:1]) ** 2 + (grid[None, :, None] - points[:, :, 1:2]) ** 2
    images = torch.exp(-squared / (2 * 1.5**2)).unsqueeze(1).reshape(n, 1, 96, 96)
    augment = Augmentation(flip=0.5, rotate=25, scale=0.2, shift=6, brightness=0, contrast=0, reframe=reframe)
    out, moved, mask = augment(images, points, torch.ones(n, 1, dtype=torch.bool), torch.tensor([0]), torch.zeros(1))
    weight = out[:, 0].clamp(min=0) ** 4  # centroid of the (sharpened) blob
    cx = (weight * grid).sum(dim=(1, 2)) / weight.sum(dim=(1, 2))
    cy = (weight * grid[:, None]).sum(dim=(1, 2)) / weight.sum(dim=(1, 2))
    inside = ((moved >= 2) & (moved <= 93)).all(-1)[:, 0]  # a blob at the very edge is cut: no centroid
    assert torch.equal(mask[:, 0], ((moved >= 0) & (moved <= 95)).all(-1)[:, 0])  # out of the crop: unlabelled
    assert inside.sum() >= n // 2
    assert torch.allclose(torch.stack((cx, cy), -1)[inside], moved[inside, 0], atol=0.1)
    assert not torch.allclose(moved, points, atol=1.0)  # it did move them


def test_reframing_spans_its_ranges_and_no_more():
    """reframe=1 frames every face widely: zoom 0.55-1.5, up to 35 degrees, shifts up to 22 px (the robustness
    benchmark's strongest level is 0.6-1.4, 30 degrees, 19.2 px); reframe=0 keeps the mild ranges."""
    torch.manual_seed(0)
    n = 2000
    points = torch.tensor([[30.0, 40.0], [66.0, 40.0], [47.5, 47.5]]).expand(n, 3, 2)  # two points and the centre
    images = torch.zeros(n, 1, 96, 96)
    for reframe, angles, zooms, shift in ((1.0, (30, 35), (0.58, 1.45), (19, 22)), (0.0, (13, 15), (0.92, 1.08), (5, 6))):
        augment = Augmentation(flip=0, brightness=0, contrast=0, reframe=reframe)
        _, moved, _ = augment(images, points, torch.ones(n, 3, dtype=torch.bool), torch.arange(3), None)
        line = moved[:, 1] - moved[:, 0]
        angle = torch.rad2deg(torch.atan2(line[:, 1], line[:, 0])).abs()
        zoom = line.norm(dim=-1) / 36
        offset = (moved[:, 2] - 47.5).abs()
        assert angles[0] < angle.max() <= angles[1] + 1e-3
        assert zoom.min() < zooms[0] and zoom.max() > zooms[1]
        assert zoom.min() >= (0.55 if reframe else 1 / 1.1) - 1e-4 and zoom.max() <= (1.5 if reframe else 1.1) + 1e-4
        assert shift[0] < offset.max() <= shift[1] + 1e-3


def test_a_teachers_points_fill_only_the_heads_without_a_label():
    from facekeypoints.training.loop import fill_from_teacher

    labels = torch.tensor([[[10.0, 10.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, False]])
    taught = torch.tensor([[[50.0, 50.0], [60.0, 61.0]]])
    points, filled = fill_from_teacher(labels, mask, taught, torch.tensor([[True, True]]))
    assert points.tolist() == [[[10.0, 10.0], [60.0, 61.0]]] and filled.tolist() == [[True, True]]
    points, filled = fill_from_teacher(labels, mask, taught, torch.tensor([[True, False]]))
    assert filled.tolist() == [[True, False]]


def test_distillation_trains_from_a_teacher_of_the_same_split_and_refuses_another(kaggle_dir, tmp_path, capsys):
    """--teacher: a 2-convention teacher answers every face in both conventions, so every head has a target;
    a teacher trained on another split is refused (its points on validation faces could come from their labels)."""
    from facekeypoints.training.config import resolve_config
    from facekeypoints.training.loop import _load_split, build, teacher_heads

    common = ["--model", "keypointnet", "--width", "8", "--data", str(kaggle_dir), "--epochs", "1", "--batch-size",
              "4", "--threads", "1", "-q"]
    assert main(["train", *common, "--val-fraction", "0.25", "--out", str(tmp_path / "teacher")]) == 0
    assert main(["train", *common, "--val-fraction", "0.25", "--out", str(tmp_path / "student"),
                 "--teacher", str(tmp_path / "teacher")]) == 0, capsys.readouterr().err
    stored = load_checkpoint(tmp_path / "student" / "best.pt")["meta"]["train_config"]
    assert stored["teacher"] == str(tmp_path / "teacher")

    config = resolve_config(TrainConfig(model="keypointnet", data=str(kaggle_dir), val_fraction=0.25,
                                        options={"width": 8}, teacher=str(tmp_path / "teacher")))
    _, train_set, val_set = _load_split(config)
    _, codec, _ = build(config)
    meta = {"train_config": {"val_fraction": 0.25, "seed": 0}, "train_images": len(train_set),
            "val_images": len(val_set)}
    heads, mask = teacher_heads(config, codec, train_set, meta)
    assert heads.shape == (len(train_set), 19, 2) and mask.all()  # 15 + 4 heads, every one taught
    from facekeypoints import load_model
    from facekeypoints.keypoints import PARTIAL_KEYPOINTS

    four = load_model(tmp_path / "teacher").predict(train_set.images, four_point=np.ones(len(train_set), bool))
    assert np.allclose(heads[:, 15:], four[:, list(PARTIAL_KEYPOINTS)], atol=1e-4)

    capsys.readouterr()
    assert main(["train", *common, "--val-fraction", "0.5", "--out", str(tmp_path / "other"),
                 "--teacher", str(tmp_path / "teacher")]) == 1
    err = capsys.readouterr().err
    assert "was trained on another split" in err and err.count("\n") == 1


def _config(kaggle_dir, tmp_path, **overrides) -> TrainConfig:
    base = dict(model="resnet18", data=str(kaggle_dir / "training.csv"), out=str(tmp_path / "run"), epochs=3,
                batch_size=4, lr=1e-3, val_fraction=0.25, seed=0, threads=1)
    base.update(overrides)
    return TrainConfig(**base)


def _run_outputs(run_dir: Path):
    """What a finished run is: its last weights, its best weights and its log's losses."""
    last, best = (load_checkpoint(run_dir / name)["state_dict"] for name in ("last.pt", "best.pt"))
    return last, best, [row["train_loss"] for row in csv.DictReader(open(run_dir / "log.csv"))]


_UNINTERRUPTED: dict[str, tuple] = {}  # per model: the same generated data every time, so run once


# Where inside the 5th training step (epoch 2, step 1 of 3) the stop arrives: as it starts, after the step's
# random draws (augmentation, dropout: the forward pass follows them) and after the optimiser's update.
# "twice": a second Ctrl-C, which stops at once and saves nothing; the run resumes from its last save.
@pytest.mark.parametrize("model, where, how", [
    ("resnet18", "start", "SIGINT"), ("resnet18", "after draws", "SIGTERM"), ("resnet18", "after update", "SIGINT"),
    ("keypointnet", "start", "SIGTERM"), ("keypointnet", "after draws", "SIGINT"),
    ("keypointnet", "after update", "SIGTERM"), ("keypointnet", "after update", "twice")])
def test_resume_after_a_stop_anywhere_in_a_step_reaches_the_same_weights(kaggle_dir, tmp_path, monkeypatch, model,
                                                                         where, how):
    # keypointnet adds random augmentation, a weight average, a per-step schedule and bf16 autocast
    overrides = {"model": model, "options": {"width": 8} if model == "keypointnet" else {}}
    if model not in _UNINTERRUPTED:
        run(_config(kaggle_dir, tmp_path / "a", **overrides), quiet=True)
        _UNINTERRUPTED[model] = _run_outputs(tmp_path / "a" / "run")

    import facekeypoints.training.loop as train_module

    calls = []

    def stop(*_):
        calls.append(1)
        if len(calls) == 5:
            for _ in range(2 if how == "twice" else 1):
                os.kill(os.getpid(), signal.SIGINT if how == "twice" else getattr(signal, how))  # Ctrl-C, `kill`

    if where == "start":
        real_step = train_module.train_step
        monkeypatch.setattr(train_module, "train_step", lambda *args: (stop(), real_step(*args))[1])
    elif where == "after draws":
        real_build = train_module.build

        def build(config, *rest):
            model, codec, kwargs = real_build(config, *rest)
            model.register_forward_hook(lambda module, *_: stop() if module.training else None)
            return model, codec, kwargs

        monkeypatch.setattr(train_module, "build", build)
    else:
        real_optimizer = train_module._optimizer

        def optimizer(*args):
            made = real_optimizer(*args)
            made.register_step_post_hook(stop)
            return made

        monkeypatch.setattr(train_module, "_optimizer", optimizer)
    saved = (r"stopped at once, mid-step: not saved; .*last.pt keeps the end of epoch 1" if how == "twice" else
             r"interrupted: saved .*last.pt \(epoch 2, step 2\)")  # the step under way is finished first
    with pytest.raises(FacekeypointsError, match=saved):
        run(_config(kaggle_dir, tmp_path / "b", **overrides), quiet=True)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are given back
    run(TrainConfig(out=str(tmp_path / "b" / "run")), resume=True, quiet=True)
    expected, resumed = _UNINTERRUPTED[model], _run_outputs(tmp_path / "b" / "run")
    for expected_weights, resumed_weights in zip(expected[:2], resumed[:2]):
        assert expected_weights.keys() == resumed_weights.keys()
        for key in expected_weights:
            assert torch.equal(expected_weights[key], resumed_weights[key]), key
    assert expected[2] == resumed[2]  # the interrupted epoch's log row covers its steps before the stop too


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


@pytest.mark.parametrize("model", ["hourglass", "resnet18", "keypointnet", "mean"])
def test_augment_works_or_refuses_cleanly_for_every_model(kaggle_dir, tmp_path, capsys, model):
    """Augmentation works on every codec's heads (before encoding); a model fitted in closed form refuses it."""
    from facekeypoints.models import list_models

    assert model in list_models()
    small = {"hourglass": ["--stacks", "1"], "keypointnet": ["--width", "8"]}.get(model, [])
    code = main(["train", "--model", model, "--augment", "--data", str(kaggle_dir), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--batch-size", "4", "--val-fraction", "0.25", "--threads", "1", "-q", *small])
    err = capsys.readouterr().err
    if model == "mean":
        assert code == 1 and "fitted in closed form" in err and err.count("\n") == 1
        return
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert np.isfinite(float(rows[0]["train_loss"])) and np.isfinite(float(rows[0]["val_rmse"]))
    assert load_checkpoint(tmp_path / "run" / "best.pt")["meta"]["train_config"]["augment"] is True


def test_train_refuses_to_replace_a_best_checkpoint_without_force(kaggle_dir, tmp_path, capsys):
    """A run killed before its first last.pt leaves best.pt alone in the folder: train must not replace it."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best.pt").write_bytes(b"precious")
    args = ["train", "--model", "resnet18", "--data", str(kaggle_dir), "--out", str(run_dir), "--epochs", "1",
            "--batch-size", "4", "--val-fraction", "0.25", "--threads", "1", "-q"]
    assert main(args) == 1 and "already holds a run" in capsys.readouterr().err
    assert (run_dir / "best.pt").read_bytes() == b"precious"


def test_runs_saved_before_options_moved_resume(kaggle_dir, tmp_path):
    """A run saved with the old flat config (width, stacks... at the top, schedule "step") resumes."""
    from facekeypoints.training import config_from_dict

    old = {"model": "hourglass", "data": "d", "out": "o", "epochs": 4, "batch_size": 16, "lr": 1e-3, "stacks": 2,
           "sigma": 2.0, "decoder": "argmax", "in_channels": 3, "width": None, "schedule": "step", "augment": False}
    config = config_from_dict(old)
    assert config.options == {"stacks": 2, "sigma": 2.0, "decoder": "argmax"} and config.schedule == "halve"
    assert config_from_dict({**old, "model": "resnet18"}).schedule == "constant"


@pytest.mark.parametrize("setting, value", [
    ("epochs", 0), ("batch_size", 0), ("batch_size", -1), ("lr", 0.0), ("lr", -1.0), ("lr", float("nan")),
    ("lr", float("inf")), ("val_fraction", 1.0), ("val_fraction", -0.1), ("threads", 0), ("limit", 0),
    ("ema", 1.0), ("weight_decay", -1.0), ("schedule", "sometimes")])
@pytest.mark.parametrize("resume", [False, True])
def test_nonsense_settings_are_refused_before_anything_is_read(tmp_path, setting, value, resume):
    """The data and the run folder do not exist: any error about them would mean they were read first."""
    config = TrainConfig(model="resnet18", data=str(tmp_path / "missing.csv"), out=str(tmp_path / "run"),
                         **{setting: value})
    flag = "--" + setting.replace("_", "-")
    with pytest.raises(FacekeypointsError, match=f"^{flag} must be .*, not {value!r}$"):
        run(config, resume=resume)


def test_resume_refuses_settings_that_differ_and_takes_a_new_total_and_data_location(kaggle_dir, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "training.csv").write_bytes((kaggle_dir / "training.csv").read_bytes())
    out = str(tmp_path / "run")
    train = ["train", "--model", "resnet18", "--out", out, "--batch-size", "4", "--val-fraction", "0.25",
             "--threads", "1", "--seed", "5", "-q"]
    assert main([*train, "--data", str(data), "--epochs", "1"]) == 0
    resume = ["train", "--resume", "--out", out, "-q"]
    assert main([*resume, "--epochs", "2", "--lr", "0.01", "--in-channels", "1", "--model", "hourglass"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--epochs 2" not in err, err  # a new total is no difference
    for differing in ("--model hourglass (the run's: resnet18)", "--lr 0.01 (the run's: 0.001)",
                      "--in-channels 1 (the run's: 3)"):
        assert differing in err
    assert load_checkpoint(Path(out) / "last.pt")["train_state"]["epoch"] == 1  # refused before training

    moved = tmp_path / "moved"
    data.rename(moved)  # the data's new location is given on resume, and must split into the same faces
    other = tmp_path / "other.csv"
    other.write_bytes(b"".join((kaggle_dir / "training.csv").read_bytes().splitlines(keepends=True)[:7]))
    assert main([*resume, "--epochs", "2", "--data", str(other)]) == 1
    assert "not the run's data" in capsys.readouterr().err
    # given at their defaults, still not the run's: refused too (argparse has no defaults for train's settings)
    assert main([*resume, "--epochs", "2", "--seed", "0", "--val-fraction", "0.1", "--model", "keypointnet"]) == 1
    err = capsys.readouterr().err
    for differing in ("--seed 0 (the run's: 5)", "--val-fraction 0.1 (the run's: 0.25)", "--model keypointnet"):
        assert differing in err
    assert main([*resume, "--epochs", "2", "--data", str(moved), "--threads", "1", "--model", "resnet18"]) == 0
    assert [row["epoch"] for row in csv.DictReader(open(Path(out) / "log.csv"))] == ["1", "2"]


def test_a_diverging_run_stops_and_keeps_the_last_good_state(kaggle_dir, tmp_path, monkeypatch):
    """A NaN face in the 5th step (epoch 2) makes the loss NaN: the run stops there, saving no NaN weights."""
    import facekeypoints.training.loop as train_module

    real_faces, calls = train_module.faces_to_tensor, []

    def faces_to_tensor(*args):
        calls.append(1)
        faces = real_faces(*args)
        return faces * float("nan") if len(calls) == 5 else faces

    monkeypatch.setattr(train_module, "faces_to_tensor", faces_to_tensor)
    with pytest.raises(FacekeypointsError, match="diverged at epoch 2, step 1: the loss is nan; try a lower --lr "
                                                 ".*last.pt keeps the end of epoch 1, best.pt its best epoch$"):
        run(_config(kaggle_dir, tmp_path), quiet=True)
    last, best = (load_checkpoint(tmp_path / "run" / name) for name in ("last.pt", "best.pt"))
    assert last["train_state"]["epoch"] == 1 and best["meta"]["epoch"] == 1
    for weights in (last["state_dict"], best["state_dict"]):
        assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


@pytest.mark.parametrize("model", ["resnet18", "keypointnet"])
def test_a_learning_rate_far_too_high_stops_early_and_says_so(kaggle_dir, tmp_path, capsys, model):
    # resnet18's loss turns NaN at its second step; keypointnet's weights turn non-finite within its first epoch
    small = ["--width", "8"] if model == "keypointnet" else []
    args = ["train", "--model", model, *small, "--data", str(kaggle_dir), "--out", str(tmp_path / "run"),
            "--lr", "1e6", "--epochs", "3", "--batch-size", "4", "--val-fraction", "0.25", "--threads", "1", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "training diverged at epoch 1" in err and "lower --lr than 1e+06" in err, err
    assert not (tmp_path / "run" / "best.pt").exists()  # no NaN weights kept as the best


@pytest.mark.parametrize("split", ["training", "validation"])
def test_faces_without_labels_are_refused_in_one_line(tmp_path, capsys, split):
    """All training faces unlabelled; or one complete face (trained on) and 4 unlabelled, one of which is the
    whole validation split: nothing to learn from, or nothing to score."""
    from conftest import make_faces, training_csv

    images, keypoints, _ = make_faces(5 if split == "validation" else 12, seed=3, partial_every=0)
    keypoints[1 if split == "validation" else 0:] = np.nan
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    args = ["train", "--model", "resnet18", "--data", str(tmp_path / "training.csv"), "--out", str(tmp_path / "run"),
            "--epochs", "1", "--batch-size", "4", "--val-fraction", "0.25", "--threads", "1", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"training.csv: no {split} face has a labelled keypoint" in err, err
