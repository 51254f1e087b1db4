"""Cache of parsed arrays, keyed by the source file's content.

Parsing training.csv takes seconds; loading the cached arrays takes a fraction of one. The cache lives
in `$FKD_CACHE_DIR`, else `$XDG_CACHE_HOME/facekeypoints`, else `~/.cache/facekeypoints` (Kaggle's
folder may be read-only). `FKD_CACHE_DIR=off` turns it off. A cache that cannot be written is skipped.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._fs import atomic_output
from .sources import Source

FORMAT = 2  # bump when parsing changes what the arrays hold, or which files it accepts


def cache_dir() -> Path | None:
    configured = os.environ.get("FKD_CACHE_DIR")
    if configured:
        return None if configured.lower() in ("off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "facekeypoints"


def cached(source: Source, kind: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Return compute()'s arrays, from the cache when the source's content has been seen before."""
    folder = cache_dir()
    if folder is None:
        return compute()
    path = folder / f"{kind}-v{FORMAT}-{source.fingerprint()[:32]}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        pass  # absent or damaged: parse again
    arrays = compute()
    try:
        with atomic_output(path, force=True) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
    except OSError:
        pass  # read-only home, full disk: the cache is an optimisation only
    return arrays
