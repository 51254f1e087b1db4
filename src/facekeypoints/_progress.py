"""Progress bars (tqdm) that stay quiet when asked to and off non-terminals."""

from __future__ import annotations

from tqdm import tqdm

QUIET = False  # set by the CLI's --quiet


def progress(iterable=None, disable: bool = False, **kwargs):
    # disable=None lets tqdm hide itself when stderr is not a terminal (logs, CI).
    return tqdm(iterable, disable=True if (QUIET or disable) else None, dynamic_ncols=True, **kwargs)
