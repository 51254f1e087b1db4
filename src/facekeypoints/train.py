"""Training runs: `facekeypoints train` writes best.pt, last.pt, log.csv and curve.png into RUN_DIR.

A run is resumable at any step: last.pt holds the weights, the optimiser, the learning-rate schedule,
the random state and the position in the epoch, and each epoch's batch order follows from the seed
alone, so a resumed run continues with exactly the batches (and dropout draws) it would have had.
Ctrl-C saves last.pt and exits cleanly.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._fs import write_bytes_atomic
from ._progress import progress
from .checkpoint import load_checkpoint, save_checkpoint
from .codecs import CoordinateCodec, HeatmapCodec, RegressionCodec
from .data import load_training, train_val_split
from .errors import FacekeypointsError
from .metrics import RmseReport, keypoint_rmse
from .models import create_model
from .predictor import KeypointModel, faces_to_tensor


@dataclass
class TrainConfig:
    model: str = "hourglass"
    data: str = ""
    out: str = ""
    epochs: int | None = None  # None: the model's default
    batch_size: int | None = None
    lr: float | None = None
    stacks: int = 1
    sigma: float = 2.0
    decoder: str = "argmax"
    in_channels: int = 3
    complete_only: bool = False  # train only on faces with all 15 keypoints (the tutorial's dropna)
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    limit: int | None = None  # use only the first N training faces (quick experiments, tests)


# Per-model defaults, from the projects each model reproduces.
DEFAULTS = {
    "hourglass": {"epochs": 4, "batch_size": 16, "lr": 1e-3},  # Adam 1e-3, later 5e-4 (original project)
    "resnet18": {"epochs": 60, "batch_size": 256, "lr": 1e-3},  # Adam 1e-3, batch 256, 60 epochs (tutorial)
}


def resolve_config(config: TrainConfig) -> TrainConfig:
    if config.model in DEFAULTS:
        for key, value in DEFAULTS[config.model].items():
            if getattr(config, key) is None:
                setattr(config, key, value)
    return config


def build(config: TrainConfig):
    """The model and codec a config describes: (model, codec, model kwargs)."""
    if config.model == "hourglass":
        kwargs = {"stacks": config.stacks}
        codec = HeatmapCodec(sigma=config.sigma, decoder=config.decoder)
    elif config.model == "resnet18":
        kwargs = {"in_channels": config.in_channels}
        codec = RegressionCodec()
    else:
        raise FacekeypointsError(f"unknown model {config.model!r} for training")
    return create_model(config.model, **kwargs), codec, kwargs


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """This epoch's batches: a permutation that depends only on (seed, epoch)."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _lr_at(config: TrainConfig, epoch: int) -> float:
    # The hourglass project lowered Adam's rate from 1e-3 to 5e-4 part way; we halve it at half time.
    if config.model == "hourglass" and epoch >= max(1, config.epochs // 2):
        return config.lr / 2
    return config.lr


def train_step(model, codec, optimizer, images, keypoints, mask) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss = codec.loss(model(images), keypoints, mask)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def predict(model, codec, images: np.ndarray) -> np.ndarray:
    """Keypoints of `images` from the model in eval mode; its mode is restored after."""
    was_training = model.training
    try:
        return KeypointModel(model, codec).predict(images, batch_size=128)
    finally:
        model.train(was_training)


def run(config: TrainConfig, resume: bool = False, force: bool = False, quiet: bool = False) -> RmseReport | None:
    """Train (or resume) a run; return the best validation report (None without a validation split).

    On resume the run's own config is used; a `config.epochs` given with it extends (or shortens) the run.
    """
    out = Path(config.out)
    last_path = out / "last.pt"
    state: dict[str, Any] | None = None
    if resume:
        if not last_path.exists():
            raise FacekeypointsError(f"nothing to resume: {last_path} does not exist")
        payload = load_checkpoint(last_path)
        stored = payload["meta"]["train_config"]
        epochs = config.epochs
        config = TrainConfig(**{f.name: stored[f.name] for f in fields(TrainConfig) if f.name in stored})
        config.epochs = epochs or config.epochs
        state = payload["train_state"]
    else:
        if last_path.exists() and not force:
            raise FacekeypointsError(f"{out} already holds a run (use --resume to continue it, --force to restart)")
        config = resolve_config(config)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise FacekeypointsError("--device cuda: no CUDA GPU is available here")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    data = load_training(config.data)
    if config.limit:
        data = data.subset(slice(0, config.limit))
    train_index, val_index = train_val_split(data, config.val_fraction, config.seed)
    if config.complete_only:
        train_index = train_index[data.mask[train_index].all(axis=1)]
    train_set, val_set = data.subset(train_index), data.subset(val_index)
    if len(train_set) == 0:
        raise FacekeypointsError("no training faces left (check --limit, --val-fraction, --complete-only)")

    model, codec, model_kwargs = build(config)
    model.to(config.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    log: list[dict[str, Any]] = []
    epoch, step, best = 0, 0, float("inf")
    if state is not None:
        model.load_state_dict(payload["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        epoch, step, best = state["epoch"], state["step"], state["best"]
        log = json.loads(state["log"])
    meta = {"train_config": asdict(config), "data": data.source, "train_images": len(train_set),
            "val_images": len(val_set)}
    out.mkdir(parents=True, exist_ok=True)

    def save(path: Path, with_state: bool, extra: dict | None = None) -> None:
        train_state = None
        if with_state:
            train_state = {"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state(), "epoch": epoch,
                           "step": step, "best": best, "log": json.dumps(log)}
        save_checkpoint(path, model, model_kwargs, meta={**meta, "codec": codec.config(), **(extra or {})},
                        train_state=train_state)

    report = None
    try:
        while epoch < config.epochs:
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(config, epoch)
            batches = _batches(len(train_set), config.batch_size, config.seed, epoch)
            started, losses, faces = time.perf_counter(), [], 0
            bar = progress(batches[step:], desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
                           disable=quiet, initial=step, total=len(batches))
            for batch in bar:
                loss = train_step(model, codec, optimizer, faces_to_tensor(train_set.images[batch], config.device),
                                  torch.from_numpy(train_set.keypoints[batch]).to(config.device),
                                  torch.from_numpy(train_set.mask[batch]).to(config.device))
                losses.append(loss)
                faces += len(batch)
                step += 1
                bar.set_postfix(loss=f"{loss:.4g}")
            seconds = time.perf_counter() - started
            report = None
            if len(val_set):
                report = keypoint_rmse(predict(model, codec, val_set.images), val_set.keypoints, val_set.mask)
            row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                   "val_rmse": report.rmse if report else float("nan"), "lr": _lr_at(config, epoch),
                   "seconds": round(seconds, 1), "faces_per_s": round(faces / seconds, 1)}
            log.append(row)
            epoch, step = epoch + 1, 0
            if report is None or report.rmse < best:
                best = report.rmse if report else float("nan")
                save(out / "best.pt", with_state=False, extra={"val_rmse": best, "epoch": epoch})
            save(last_path, with_state=True)
            _write_log(out, log)
            if not quiet:
                print(f"epoch {epoch}: loss {row['train_loss']:.5g}, val RMSE {row['val_rmse']:.4f} px, "
                      f"{seconds:.0f} s")
    except KeyboardInterrupt:
        save(last_path, with_state=True)
        raise FacekeypointsError(f"interrupted: saved {last_path} (epoch {epoch + 1}, step {step}); "
                                 f"continue with: facekeypoints train --resume --out {out}") from None
    best_payload = load_checkpoint(out / "best.pt")
    if len(val_set):
        model.load_state_dict(best_payload["state_dict"])
        report = keypoint_rmse(predict(model, codec, val_set.images), val_set.keypoints, val_set.mask)
    return report


def _write_log(out: Path, log: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(log[0]))
    writer.writeheader()
    writer.writerows(log)
    write_bytes_atomic(out / "log.csv", buf.getvalue().encode(), force=True)
    from .viz import training_curve, save_figure

    save_figure(training_curve(log), out / "curve.png", force=True)


def fit_mean(config: TrainConfig, force: bool = False) -> RmseReport | None:
    """The mean shape: a closed-form fit, no gradient steps."""
    out = Path(config.out)
    if (out / "best.pt").exists() and not force:
        raise FacekeypointsError(f"{out} already holds a trained model (use --force to overwrite)")
    data = load_training(config.data)
    train_index, val_index = train_val_split(data, config.val_fraction, config.seed)
    model = create_model("mean").fit(data.keypoints[train_index], data.mask[train_index])
    codec = CoordinateCodec()
    meta = {"train_config": asdict(config), "data": data.source, "train_images": len(train_index),
            "val_images": len(val_index), "codec": codec.config()}
    report = None
    if len(val_index):
        val = data.subset(val_index)
        report = keypoint_rmse(predict(model, codec, val.images), val.keypoints, val.mask)
        meta["val_rmse"] = report.rmse
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "best.pt", model, config={}, meta=meta)
    return report
