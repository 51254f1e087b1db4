"""Deterministic train/validation split, stratified by label pattern, duplicates kept together."""

from __future__ import annotations

import hashlib

import numpy as np

from .kaggle import KeypointData


def train_val_split(data: KeypointData, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted (train_index, val_index).

    Images with identical pixels form one group and land in the same part, so validation never
    holds a face seen in training. Groups are ordered by a seeded hash of their pixels, so the split
    depends on content only (not on row order) and is the same on every machine. Within each label
    pattern (all 15 keypoints / fewer) the first `val_fraction` of the images, counted by groups in
    that order, go to validation.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be in [0, 1)")
    digests = [hashlib.blake2b(img.tobytes(), digest_size=8, key=str(seed).encode()).digest() for img in data.images]
    groups: dict[bytes, list[int]] = {}
    for i, digest in enumerate(digests):
        groups.setdefault(digest, []).append(i)
    complete = data.mask.all(axis=1)
    val: list[int] = []
    for stratum in (True, False):
        # A group with any complete image counts as complete (mixed groups are rare).
        members = sorted((d, g) for d, g in groups.items() if complete[g].any() == stratum)
        target = round(val_fraction * sum(len(g) for _, g in members))
        taken = 0
        for _, group in members:
            if taken >= target:
                break
            val.extend(group)
            taken += len(group)
    val_index = np.array(sorted(val), np.int64)
    train_index = np.setdiff1d(np.arange(len(data)), val_index)
    return train_index, val_index
