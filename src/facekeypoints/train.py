"""Training runs: `facekeypoints train` writes RUN_DIR/best.pt (and logs)."""

from __future__ import annotations

import json
from pathlib import Path

from .checkpoint import save_checkpoint
from .data import load_training, train_val_split
from .errors import FacekeypointsError
from .metrics import RmseReport, keypoint_rmse
from .models import create_model


def train(args) -> RmseReport | None:
    """Train `args.model` on `args.data`; return the validation report (None without a validation split)."""
    out = Path(args.out)
    if (out / "best.pt").exists() and not args.force:
        raise FacekeypointsError(f"{out} already holds a trained model (use --force to overwrite)")
    data = load_training(args.data)
    train_index, val_index = train_val_split(data, args.val_fraction, args.seed)
    model = create_model(args.model)
    # The mean shape has a closed form; iterative models get their own loop.
    model.fit(data.keypoints[train_index], data.mask[train_index])
    report = None
    meta = {"data": data.source, "train_images": len(train_index), "val_images": len(val_index),
            "val_fraction": args.val_fraction, "seed": args.seed}
    if len(val_index):
        val = data.subset(val_index)
        from .predictor import KeypointModel

        predicted = KeypointModel(model).predict(val.images)
        report = keypoint_rmse(predicted, val.keypoints, val.mask)
        meta["val_rmse"] = report.rmse
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "best.pt", model, config={}, meta=meta)
    (out / "summary.json").write_text(json.dumps({"model": args.model, **meta}, indent=2) + "\n")
    return report
