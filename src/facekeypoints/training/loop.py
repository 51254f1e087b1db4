"""Training runs: `facekeypoints train` writes best.pt, last.pt, log.csv and curve.png into RUN_DIR.

A run is resumable at any step: last.pt holds the weights, the optimiser, the learning-rate schedule,
the random state and the position in the epoch, and each epoch's batch order follows from the seed
alone, so a resumed run continues with exactly the batches (and dropout draws) it would have had.
Ctrl-C or SIGTERM stop the run at the next step boundary and save last.pt there (a second one stops at
once, saving nothing). A loss, weights or validation RMSE turned NaN or infinite stop it with an error,
before anything non-finite is saved.

Under `torchrun --nproc_per_node N` the same command trains with DistributedDataParallel (gloo on CPUs,
nccl on GPUs): each step's batch is the single-process batch, split into one shard per rank; gradients
are averaged across ranks, so N ranks equal one process accumulating the N shards' gradients (BatchNorm
sees a shard at a time). Only rank 0 validates and writes files. Resume is exact for single-process runs.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Collection
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .._device import bf16_note
from .._fs import write_bytes_atomic
from .._signals import StopSignals
from .._progress import progress
from ..checkpoint import load_checkpoint, save_checkpoint
from ..data import train_val_split
from ..data.faces import load_faces, with_mean_shape
from ..errors import FacekeypointsError
from ..inference.torch_backend import KeypointModel
from ..keypoints import four_point_faces, parse_flip_pairs, shared_points
from ..metrics import RmseReport, keypoint_rmse
from ..models import faces_to_tensor, flip_offset, model_spec
from .augment import Augmentation
from .config import TrainConfig, build, check_config, resolve_config, resume_config
from .schedule import lr_at


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """This epoch's batches: a permutation that depends only on (seed, epoch)."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _lr_at(config: TrainConfig, epoch: float) -> float:
    return lr_at(config.schedule, config.lr, config.epochs, epoch)


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    if not config.weight_decay:
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    # Decay the convolution and linear weights only: not norms, biases or the flip offset (a measurement).
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=config.lr)


def train_step(model, codec, optimizer, images, keypoints, mask, augment=None, bf16: bool = False,
               forward: nn.Module | None = None, teacher: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    """One optimiser step. forward: what runs the batch, when not `model` itself (its DDP wrapper).
    teacher: a teacher's points and mask per head (`teacher_heads`), the targets of heads without a label."""
    forward = forward or model
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
        points, head_mask = codec.to_heads(keypoints, mask)
        if teacher is not None:
            points, head_mask = fill_from_teacher(points, head_mask, *teacher)
        if augment is not None:  # on the heads' points in pixels, before encoding: works for every codec
            images, points, head_mask = augment(images, points, head_mask, codec.flip_permutation.to(images.device),
                                                flip_offset(model))
        loss = codec.loss(forward(images), *codec.encode(points, head_mask))
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def fill_from_teacher(points, mask, taught, taught_mask):
    """Per head (N, heads, 2), (N, heads): a label wins where there is one, the teacher's point fills in the rest
    (before augmentation, which moves both alike)."""
    return torch.where(mask[..., None], points, taught.to(points.dtype)), mask | taught_mask


class EMA:
    """An exponential moving average of a model's weights (and a copy of its norm statistics): the
    averaged model is what validation scores and best.pt holds. The decay ramps up over the first
    steps so that early, poor weights fade quickly."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay, self.updates = decay, 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema, live in zip(self.model.state_dict().values(), model.state_dict().values()):
            if ema.dtype.is_floating_point:
                ema.lerp_(live, 1 - d)
            else:
                ema.copy_(live)


def predict(model, codec, data) -> np.ndarray:
    """Keypoints of the faces in `data` (KeypointData), each in its own labelling convention, from the
    model in eval mode; its mode is restored after."""
    was_training = model.training
    try:
        return KeypointModel(model, codec).predict(data.images, batch_size=128,
                                                   four_point=four_point_faces(data.mask, data.keypoint_set))
    finally:
        model.train(was_training)


def run(config: TrainConfig, resume: bool = False, force: bool = False, quiet: bool = False,
        given: Collection[str] | None = None) -> RmseReport | None:
    """Train (or resume) a run; return the best validation report (None without a validation split).

    On resume the run's own config is used: `resume_config` takes a new --epochs total, --threads and --data
    location from `config` and refuses any other setting that differs (`given`: the names of the settings the
    user gave, even at their defaults; default: those not at TrainConfig's defaults). A model fitted in closed
    form (the mean shape) is fitted instead. A loss, weights or validation RMSE that turn NaN or infinite stop
    the run with an error; last.pt and best.pt keep the last good state.
    """
    check_config(config)  # nonsense settings are refused before anything is read
    out = Path(config.out)
    if model_spec(config.model).closed_form and not resume:
        return fit_closed_form(config, force)
    last_path = out / "last.pt"
    state: dict[str, Any] | None = None
    if resume:
        if not last_path.exists():
            raise FacekeypointsError(f"nothing to resume: {last_path} does not exist")
        payload = load_checkpoint(last_path)
        state = _train_state(last_path, payload)
        try:
            config = resume_config(config, payload["meta"]["train_config"], given)
        except (TypeError, ValueError, KeyError) as exc:  # a stored config of another version, or damaged
            raise FacekeypointsError(f"{last_path}: its stored training settings cannot be used ({exc})") from None
    else:
        config = resolve_config(config)
        if (last_path.exists() or (out / "best.pt").exists()) and not force:
            raise FacekeypointsError(f"{out} already holds a run (use --resume to continue it, --force to restart)")
    note = bf16_note(config.bf16, config.device)
    if note and not quiet:
        print(f"facekeypoints: note: {note}", file=sys.stderr)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise FacekeypointsError("--device cuda: no CUDA GPU is available here")
    if config.threads:
        torch.set_num_threads(config.threads)
    rank, world = _start_distributed(config)
    device = f"cuda:{torch.cuda.current_device()}" if config.device == "cuda" else config.device
    main_rank = rank == 0
    torch.manual_seed(config.seed)

    data, train_set, val_set = _load_split(config)
    if state is not None:
        _check_same_faces(config, payload["meta"], train_set, val_set)

    keypoint_set = with_mean_shape(data.keypoint_set, train_set)
    model, codec, model_kwargs = build(config, keypoint_set)
    if config.init and state is None:
        init_from(model, codec, config.init, quiet or not main_rank)
    model.to(device).train()
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    ema = EMA(model, config.ema) if config.ema else None
    # a set without mirror pairs is never mirrored: flipping with wrong pairs would teach the model to swap sides
    augment = (Augmentation(reframe=config.reframe, flip=0.5 if keypoint_set.can_flip else 0.0)
               if config.augment else None)
    meta = {"train_config": asdict(config), "data": data.source, "train_images": len(train_set),
            "val_images": len(val_set)}
    # Before a resumed run's random state is restored: loading a torch teacher draws its initial weights.
    teacher = teacher_heads(config, codec, train_set, meta) if config.teacher else None
    log: list[dict[str, Any]] = []
    epoch, step, best = 0, 0, float("inf")
    saved: tuple[int, int] | None = None  # (epoch, step) that last.pt holds from this run, for the messages
    # the current epoch's losses, faces and seconds so far: kept across a resume so its log row covers it all
    losses, faces, seconds_before = [], 0, 0.0
    if state is not None:
        try:
            model.load_state_dict(payload["state_dict"])
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
            epoch, step, best = int(state["epoch"]), int(state["step"]), float(state["best"])
            saved = epoch, step
            log = json.loads(state["log"])
            so_far = json.loads(state.get("epoch_so_far", "{}"))  # absent in runs saved before it was kept
            losses, faces = list(so_far.get("losses", [])), int(so_far.get("faces", 0))
            seconds_before = float(so_far.get("seconds", 0.0))
            if ema is not None:
                ema.model.load_state_dict(state["ema"])
                ema.updates = state["ema_updates"]
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FacekeypointsError(f"{last_path}: its training state does not fit this run ({first}); start "
                                     "afresh with --force") from None
    scored = ema.model if ema is not None else model  # the weights that are validated and kept as best.pt
    forward = None
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        # Without augmentation keypointnet's flip offset gets no gradient: DDP must be told to expect that.
        unused = augment is None and flip_offset(model) is not None
        forward = DistributedDataParallel(model, find_unused_parameters=unused)
        torch.manual_seed(config.seed + rank)  # each rank its own augmentation and dropout draws
    if main_rank:
        out.mkdir(parents=True, exist_ok=True)

    def save(path: Path, with_state: bool, extra: dict | None = None) -> None:
        nonlocal saved
        train_state = None
        if with_state:
            so_far = {"losses": losses, "faces": faces,
                      "seconds": seconds_before + (time.perf_counter() - started if step else 0.0)}
            train_state = {"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state(), "epoch": epoch,
                           "step": step, "best": best, "log": json.dumps(log), "epoch_so_far": json.dumps(so_far)}
            if ema is not None:
                train_state.update(ema=ema.model.state_dict(), ema_updates=ema.updates)
        try:
            save_checkpoint(path, model if with_state else scored, model_kwargs,
                            meta={**meta, "codec": codec.config(), **(extra or {})}, train_state=train_state)
        except FacekeypointsError as exc:  # e.g. the disk is full: say what the run still has
            raise FacekeypointsError(f"{exc}; training stopped at {_position(epoch, step)}: {kept()}") from None
        if with_state:
            saved = epoch, step

    def kept() -> str:
        if saved is None:
            return "nothing was saved"
        return f"{last_path} keeps {_position(*saved)}" + (", best.pt its best epoch" if saved[0] else "")

    def diverged(what: str) -> FacekeypointsError:  # raised before anything non-finite is saved
        return FacekeypointsError(f"training diverged at epoch {epoch + 1}, step {step}: {what}; try a lower --lr "
                                  f"than {config.lr:g} (start afresh with --force); {kept()}")

    report = None
    started = time.perf_counter()
    saying = "stopping after this step to save last.pt (again to stop at once, unsaved)"
    with StopSignals("" if quiet or not main_rank else saying) as signals:
        try:
            while epoch < config.epochs:
                batches = _batches(len(train_set), config.batch_size, config.seed, epoch)
                started = time.perf_counter()
                bar = progress(batches[step:], desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
                               disable=quiet or not main_rank, initial=step, total=len(batches))
                for batch in bar:
                    # Between two steps weights, optimiser, random state and position agree: stop here, if asked.
                    if _any_rank(signals(), world):
                        if not main_rank:
                            raise FacekeypointsError(f"rank {rank} interrupted")
                        if saved != (epoch, step):
                            save(last_path, with_state=True)
                        raise FacekeypointsError(f"interrupted: saved {last_path} (epoch {epoch + 1}, step {step}); "
                                                 f"continue with: facekeypoints train --resume --out {out}")
                    for group in optimizer.param_groups:
                        group["lr"] = _lr_at(config, epoch + step / len(batches))
                    if len(batch) < world:  # a tail too short to give every rank a face: skipped by all ranks
                        step += 1
                        continue
                    batch = batch[rank::world]  # this rank's shard
                    loss = train_step(model, codec, optimizer, faces_to_tensor(train_set.images[batch], device),
                                      torch.from_numpy(train_set.keypoints[batch]).to(device),
                                      torch.from_numpy(train_set.mask[batch]).to(device), augment, config.bf16,
                                      forward, None if teacher is None else
                                      tuple(torch.from_numpy(t[batch]).to(device) for t in teacher))
                    if _any_rank(not math.isfinite(loss), world):
                        raise diverged(f"the loss is {loss}")
                    if ema is not None:
                        ema.update(model)
                    losses.append(loss)
                    faces += len(batch) * world
                    step += 1
                    bar.set_postfix(loss=f"{loss:.4g}")
                seconds = seconds_before + time.perf_counter() - started
                if not _finite(model, scored):  # the same on every rank: their gradients are averaged
                    raise diverged("the weights hold NaN or infinite values")
                if world > 1:
                    meta["rank_checksums"] = _check_ranks_agree(model)
                if not main_rank:
                    epoch, step, losses, faces, seconds_before = epoch + 1, 0, [], 0, 0.0
                    continue
                report = None
                if len(val_set):
                    report = keypoint_rmse(predict(scored, codec, val_set), val_set.keypoints, val_set.mask,
                                           codec.keypoint_set.names)
                    if not math.isfinite(report.rmse):
                        raise diverged(f"the validation RMSE is {report.rmse}")
                row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                       "val_rmse": report.rmse if report else float("nan"), "lr": optimizer.param_groups[0]["lr"],
                       "seconds": round(seconds, 1), "faces_per_s": round(faces / seconds, 1)}
                log.append(row)
                epoch, step, losses, faces, seconds_before = epoch + 1, 0, [], 0, 0.0
                if report is None or report.rmse < best:
                    best = report.rmse if report else float("nan")
                    save(out / "best.pt", with_state=False, extra={"val_rmse": best, "epoch": epoch,
                                                                   "train_seconds": sum(r["seconds"] for r in log)})
                save(last_path, with_state=True)
                _write_log(out, log)
                if not quiet:
                    print(f"epoch {epoch}: loss {row['train_loss']:.5g}, val RMSE {row['val_rmse']:.4f} px, "
                          f"{seconds:.0f} s")
        except KeyboardInterrupt:  # a second Ctrl-C, or one the handler could not catch: mid-step, save nothing
            raise FacekeypointsError(f"stopped at once, mid-step: not saved; {kept()}") from None
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
        if not main_rank:
            return None
    best_payload = load_checkpoint(out / "best.pt")
    if len(val_set):
        scored.load_state_dict(best_payload["state_dict"])
        report = keypoint_rmse(predict(scored, codec, val_set), val_set.keypoints, val_set.mask,
                               codec.keypoint_set.names)
    return report


def teacher_heads(config: TrainConfig, codec, faces, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's points on `faces` for every head of `codec`: (N, heads, 2) pixels and (N, heads) mask.

    A model of two labelling conventions answers each face in both, so each face's heads of the other
    convention learn from it too; the 15-keypoint heads of a 4-keypoint face learn its other 11 points. The
    teacher must have been trained on this run's split (its points on validation faces would otherwise have been
    learned from their labels): a checkpoint whose meta says it was not is refused. meta: this run's.
    """
    from ..inference import load_model
    from ..keypoints import FOUR_POINT_PATTERN
    from ..shipped import model_files

    files = model_files(config.teacher)
    model = load_model(config.teacher)
    if model.keypoint_set.names != codec.keypoint_set.names:
        raise FacekeypointsError(f"--teacher {config.teacher} predicts {model.keypoint_set.name} "
                                 f"({len(model.keypoint_set)} points), the data has {codec.keypoint_set.name} "
                                 f"({codec.keypoints}): a teacher must predict the data's keypoints")
    if files.checkpoint is not None:
        theirs, ours = _split_of(load_checkpoint(files.checkpoint)["meta"]), _split_of(meta)
        if theirs != ours:
            raise FacekeypointsError(f"--teacher {config.teacher} was trained on another split ({theirs}, this run: "
                                     f"{ours}): its points on this run's validation faces may come from their labels")
    n = len(faces)

    def answer(pattern) -> tuple[torch.Tensor, torch.Tensor]:  # the heads a face labelled with `pattern` trains
        points = model.predict(faces.images, four_point=np.full(n, not all(pattern)))
        return codec.to_heads(torch.from_numpy(points), torch.from_numpy(np.tile(np.asarray(pattern, bool), (n, 1))))

    # the full answer, then the second (4-keypoint) convention's own heads where the set has one
    heads, mask = answer([True] * codec.keypoints)
    if codec.keypoint_set.partial:
        heads, mask = fill_from_teacher(heads, mask, *answer(FOUR_POINT_PATTERN))
    return heads.numpy(), mask.numpy()


def _split_of(meta: dict[str, Any]) -> dict[str, Any]:
    """How a run split its data, from its checkpoint's meta."""
    return {**{k: meta.get("train_config", {}).get(k) for k in ("val_fraction", "seed")},
            **{k: meta.get(k) for k in ("train_images", "val_images")}}


def _load_split(config: TrainConfig):
    """(all faces, training set, validation set) as the config asks; refused when there is nothing to learn."""
    data = load_faces(config.data, parse_flip_pairs(config.flip_pairs), show_progress=True)
    if config.limit:
        data = data.subset(slice(0, config.limit))
    train_index, val_index = train_val_split(data, config.val_fraction, config.seed)
    if config.complete_only:
        train_index = train_index[data.mask[train_index].all(axis=1)]
    train_set, val_set = data.subset(train_index), data.subset(val_index)
    if len(train_set) == 0:
        raise FacekeypointsError("no training faces left (check --limit, --val-fraction, --complete-only)")
    for name, part in (("training", train_set), ("validation", val_set)):
        if len(part) and not part.mask.any():  # a loss or an RMSE over no labels is NaN
            raise FacekeypointsError(f"{data.source}: no {name} face has a labelled keypoint ({len(part)} faces)"
                                     + ("; --val-fraction 0 trains without validation" if name == "validation" else ""))
    return data, train_set, val_set


def _check_same_faces(config: TrainConfig, meta: dict[str, Any], train_set, val_set) -> None:
    """A resumed run's data (perhaps at a new --data location) must split as the run's did."""
    had = meta.get("train_images", len(train_set)), meta.get("val_images", len(val_set))
    if had != (len(train_set), len(val_set)):
        raise FacekeypointsError(f"{config.data} gives {len(train_set)} training and {len(val_set)} validation "
                                 f"faces, the run had {had[0]} and {had[1]}: not the run's data")


def _finite(*models: nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for m in models for t in m.state_dict().values() if t.is_floating_point())


def _any_rank(flag: bool, world: int) -> bool:
    """Whether any rank raises `flag`: ranks must agree on stopping, or the others would wait for it forever."""
    if world == 1:
        return flag
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    total = torch.tensor([float(flag)], device=device)
    dist.all_reduce(total, op=dist.ReduceOp.MAX)
    return bool(total.item())


def _start_distributed(config: TrainConfig) -> tuple[int, int]:
    """(rank, world size): (0, 1) alone; under torchrun, join its process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if config.device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if config.device == "cuda" else "gloo")
    if config.batch_size < world:
        raise FacekeypointsError(f"batch size {config.batch_size} is smaller than the {world} ranks sharing it")
    return dist.get_rank(), world


def _check_ranks_agree(model: nn.Module) -> list[float]:
    """After an epoch every rank must hold the same weights; rank 0's norm statistics are given to all
    (each rank's running statistics saw only its shards)."""
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)
    total = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
    gathered = [torch.zeros_like(total) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, total)
    if any(not torch.equal(g, total) for g in gathered):
        raise FacekeypointsError(f"ranks hold different weights after an epoch: {[float(g) for g in gathered]}")
    return [float(g) for g in gathered]


def _position(epoch: int, step: int) -> str:
    """Where a run is, in words: epochs done and steps into the next."""
    return f"the end of epoch {epoch}" if epoch and not step else f"epoch {epoch + 1}, step {step}"


def _train_state(path: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """A last.pt's training state, or an error saying that the file has none to resume from."""
    state = payload.get("train_state")
    stored = payload["meta"].get("train_config")
    if not isinstance(state, dict) or not isinstance(stored, dict):
        raise FacekeypointsError(f"{path} holds no training state to resume from (a best.pt, a shipped or exported "
                                 "model's checkpoint?): --resume needs the last.pt that training writes; start "
                                 "afresh with --force")
    missing = [key for key in ("optimizer", "rng", "epoch", "step", "best", "log") if key not in state]
    if missing:
        raise FacekeypointsError(f"{path}: its training state lacks {', '.join(missing)}: it cannot be resumed; "
                                 "start afresh with --force")
    return state


def _write_log(out: Path, log: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(log[0]))
    writer.writeheader()
    writer.writerows(log)
    write_bytes_atomic(out / "log.csv", buf.getvalue().encode(), force=True)
    from ..viz import save_figure, training_curve

    save_figure(training_curve(log), out / "curve.png", force=True)


def fit_closed_form(config: TrainConfig, force: bool = False) -> RmseReport | None:
    """A model fitted in closed form (`ModelSpec.closed_form`: `fit(keypoints, mask)`), no gradient steps."""
    out = Path(config.out)
    if config.augment:
        raise FacekeypointsError(f"{config.model} is fitted in closed form, on labels alone: --augment does not apply")
    if (out / "best.pt").exists() and not force:
        raise FacekeypointsError(f"{out} already holds a trained model (use --force to overwrite)")
    config = resolve_config(config)
    data, train_set, val_set = _load_split(config)
    model, codec, model_kwargs = build(config, with_mean_shape(data.keypoint_set, train_set))
    model.fit(train_set.keypoints, train_set.mask)
    meta = {"train_config": asdict(config), "data": data.source, "train_images": len(train_set),
            "val_images": len(val_set), "codec": codec.config()}
    report = None
    if len(val_set):
        report = keypoint_rmse(predict(model, codec, val_set), val_set.keypoints, val_set.mask,
                               codec.keypoint_set.names)
        meta["val_rmse"] = report.rmse
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "best.pt", model, config=model_kwargs, meta=meta)
    return report


def init_from(model: nn.Module, codec, name: str, quiet: bool = True) -> None:
    """Fine-tuning: start `model` from the weights of `name` (a shipped model, run folder or checkpoint of the same
    architecture). Every weight of the same name and shape is kept; the heads, when the keypoint sets differ, are
    new, except those of points the old set names too (its names or aliases: a 68-point model's nose tip starts
    from the 15-point model's), which start from the old head's weights."""
    from ..checkpoint import model_from_checkpoint
    from ..codecs import codec_from_config
    from ..shipped import model_files

    files = model_files(name)
    if files.checkpoint is None:
        raise FacekeypointsError(f"--init {name}: an ONNX file holds no weights to train; give a checkpoint")
    payload = load_checkpoint(files.checkpoint)
    if payload["model"] != model.name:
        raise FacekeypointsError(f"--init {name} is a {payload['model']} model, this run trains {model.name}")
    old = model_from_checkpoint(payload).state_dict()
    old_set = codec_from_config(payload["meta"]["codec"]).keypoint_set if "codec" in payload["meta"] else None
    new = model.state_dict()
    kept = {k: v for k, v in old.items() if k in new and v.shape == new[k].shape}
    mismatched = [k for k in new if k not in kept]
    carried = {}
    heads_of: dict[int, int] = {}  # new head -> old head, of the points both sets name
    if old_set is not None and mismatched:
        old_points, new_points, _ = shared_points(old_set, codec.keypoint_set)
        heads_of = dict(zip(new_points, old_points))
        for key in mismatched:
            if key in old and old[key].shape[1:] == new[key].shape[1:] and heads_of:
                weights = new[key].clone()
                for i, j in heads_of.items():
                    weights[i] = old[key][j]
                carried[key] = weights
    model.load_state_dict({**new, **kept, **carried})
    if not quiet:
        fresh = [k for k in new if k not in kept]
        print(f"--init {name}: {len(kept)} of {len(new)} weight tensors kept"
              + (f"; new: {', '.join(fresh)}" if fresh else "")
              + (f" ({len(heads_of)} of their {codec.heads} heads from the points both sets name)" if carried else ""))
