"""`facekeypoints train`'s flags, made from what the library knows: TrainConfig's settings and the model
registry's options (one flag per option name, its type and least value from the `Option`). Imports no torch
unless the models are asked for."""

from __future__ import annotations

import argparse
import os

from .._args import COUNT, FRACTION, POSITIVE, number
from .schedule import SCHEDULES

def add_train_parser(command, data_help: str, with_models: bool, run, data_env: str) -> None:
    """The `train` command's flags: TrainConfig's settings, and each registered model's own options (flags of
    their names, unset: None) when `with_models` (the registry needs torch, which no other command loads).
    `command(name, func, help, description, force=...)` makes the sub-parser; `run` is its function."""
    p = command("train", run, "train a model on Kaggle's data or any keypoint annotations",
                "Train a model. RUN_DIR gets best.pt (best validation RMSE), last.pt (all needed to resume), log.csv "
                "and curve.png. Ctrl-C (or kill) saves last.pt; --resume continues exactly where it stopped.",
                force="start afresh over an existing run")
    specs = []
    if with_models:  # torch takes a second to import: only for `train` itself
        try:
            from ..models import list_models, model_options, model_spec
            from .config import DEFAULT_TRAIN_MODEL
        except ModuleNotFoundError as error:  # no torch: `train` says so when it runs
            if error.name != "torch":
                raise
        else:
            specs = [model_spec(name) for name in list_models()]
    p.add_argument("--model", choices=[s.name for s in specs] or None,
                   help=f"which model (default: {DEFAULT_TRAIN_MODEL if specs else 'the best'})")
    p.add_argument("--data", default=os.environ.get(data_env), help="training data, any keypoints: COCO keypoints "
                   ".json, a 300-W folder of images and .pts files, dlib's .xml, or Kaggle's: " + data_help)
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder for checkpoints and logs")
    for name, kind, text in (  # unset (None): the model's own default
            ("epochs", COUNT, "epochs to train, with --resume the new total"), ("batch-size", COUNT, "faces per step"),
            ("lr", POSITIVE, "the learning rate"),
            ("ema", FRACTION, "decay of a moving average of the weights, 0: none"),
            ("weight-decay", number(float, 0), "AdamW with this decay, 0 for Adam"),
            ("schedule", SCHEDULES, "learning rate: constant, halved at half time, or warm-up then cosine"),
            ("augment", bool, "random flips, rotations, zoom, shifts, brightness and contrast"),
            ("reframe", number(float, 0, 1), "with --augment, the share of faces framed widely, as an unusual "
             "photo crop would: zoom 0.55-1.5, turn up to 35 degrees, shift up to 22 px"),
            ("channels-last", bool, "NHWC memory layout, faster convolutions on CPUs"),
            ("bf16", bool, "bfloat16 autocast, float32 weights (default: on GPUs, and on CPUs with native "
             "bfloat16: AMX or AVX-512 BF16; emulated elsewhere, several times slower)")):
        kwargs = ({"action": argparse.BooleanOptionalAction} if kind is bool else {"choices": kind}
                  if isinstance(kind, tuple) else {"type": kind})
        p.add_argument(f"--{name}", help=text if "default" in text else f"{text} (default: the model's)", **kwargs)
    # no argparse defaults here: --resume tells a setting given (even at its default) from one left unset
    p.add_argument("--val-fraction", type=FRACTION, help="share of images held out for validation, 0: none "
                   "(default: 0.1)")
    p.add_argument("--seed", type=int, help="seed of the split and of training (default: 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="where to train (default: cpu)")
    p.add_argument("--threads", type=COUNT, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--limit", type=COUNT, help="use only the first N faces of the file (quick checks)")
    p.add_argument("--complete-only", action="store_true", default=None,
                   help="train only on faces with all 15 keypoints (dropna)")
    p.add_argument("--flip-pairs", metavar="PAIRS", help="mirror pairs of the data's keypoints, 'a:b,c:d' by index or "
                   "name, or 'none' (default: Kaggle's and iBUG 68's own, else from names saying left/right, else no "
                   "flipping)")
    p.add_argument("--init", metavar="MODEL", help="fine-tune: start from this model's weights (a shipped name such as "
                   "keypointnet, a run folder or checkpoint of the same architecture); new keypoints get new heads")
    p.add_argument("--teacher", metavar="MODEL", help="distil: this model's points (a run folder, checkpoint, .onnx "
                   "or shipped name, trained on the same split) train every head a face has no label for")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its last.pt, with its "
                   "settings: only --epochs (the new total), --threads and --data (the same data, moved) may change")
    defaults = {s.name: ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.train.items()) for s in specs}
    p.epilog = "Models: " + "; ".join(f"{s.name}: {s.summary}" + (f" (defaults: {defaults[s.name]})" if s.train else "")
                                      for s in specs) if specs else None
    options = model_options() if specs else {}
    for name, declared in options.items():  # an option several models have is one flag
        first = declared[0][1]
        flag = isinstance(first.default, bool)
        kind = {"action": argparse.BooleanOptionalAction} if flag else {
            "type": type(first.default) if first.low is None else number(type(first.default), first.low)}
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=first.choices, **kind,
                       help="; ".join(f"{model}: {o.help} (default: {o.default})" for model, o in declared))
    p.set_defaults(model_options=tuple(options))
