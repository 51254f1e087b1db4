"""Learning-rate schedules, by name (no torch: the command line offers the names)."""

from __future__ import annotations

import math

SCHEDULES = ("constant", "halve", "cosine")


def lr_at(schedule: str, lr: float, epochs: int, epoch: float) -> float:
    """The learning rate at a (fractional) epoch of a run of `epochs` epochs.

    constant: `lr` throughout. halve: `lr`, then half of it from half time on (the hourglass project lowered
    Adam's rate from 1e-3 to 5e-4 part way). cosine: one epoch of linear warm-up, then a cosine down to zero.
    """
    if schedule == "cosine":
        if epoch < 1:
            return lr * max(epoch, 0.01)
        return lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(epochs - 1, 1)))
    if schedule == "halve" and epoch >= max(1, epochs // 2):
        return lr / 2
    return lr
