"""Atomic, non-clobbering output files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    A crash leaves either the old file or the new one, never half a file. Without `force`
    an existing `path` is an error, raised before any work is done.
    """
    path = Path(path)
    refuse_existing(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def refuse_existing(path: str | os.PathLike, force: bool = False) -> None:
    """Without `force`, an existing output is an error: called before the work, not after it."""
    if Path(path).exists() and not force:
        raise OutputExistsError(f"{path} already exists (use --force to overwrite)")


def write_bytes_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> None:
    with atomic_output(path, force=force) as tmp:
        tmp.write_bytes(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
