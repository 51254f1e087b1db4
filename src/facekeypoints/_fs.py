"""Atomic, non-clobbering output files."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import FacekeypointsError, OutputExistsError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    A crash leaves either the old file or the new one, never half a file. Without `force`
    an existing `path` is an error, raised before any work is done. A character device or a pipe
    (/dev/null, a FIFO) is written into, never replaced: renaming over it would unlink it; a link to a file
    keeps being a link.
    An OS error that names no file (a full disk) is raised naming `path`.
    """
    path = Path(path)
    mode = refuse_existing(path, force)
    if path.is_symlink() and path.resolve().is_file():  # write the file it points to, keep the link
        path = path.resolve()
    try:
        if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            with tempfile.TemporaryDirectory() as folder:
                tmp = Path(folder) / ("output" + path.suffix)
                yield tmp
                with open(tmp, "rb") as source, open(path, "wb") as target:
                    shutil.copyfileobj(source, target)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Writers (OpenCV, matplotlib) read the format from the suffix; a legal 255-byte name leaves room
        # for mkstemp's additions only when cut.
        suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
        fd, tmp = tempfile.mkstemp(prefix=f".{_first_bytes(path.name, 200)}.", suffix=".tmp" + suffix,
                                   dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        try:
            yield tmp_path
            place(tmp_path, path, force)
        finally:
            tmp_path.unlink(missing_ok=True)
    except OSError as error:
        if error.filename is None and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def _first_bytes(name: str, count: int) -> str:
    """The name cut to at most `count` bytes of UTF-8, in whole characters."""
    return name.encode("utf-8", "surrogateescape")[:count].decode("utf-8", "ignore")


def place(tmp: str | os.PathLike, path: str | os.PathLike, force: bool = False) -> None:
    """Put the finished `tmp` at `path` in one step. Without `force` this is where an existing `path` is
    refused too, not only before the work: another process may have written it since. A hard link fails on
    an existing name, atomically; where the file system has no hard links, a last check and a rename."""
    if force:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path} already exists: written by another process while this one worked "
                                "(use --force to overwrite)") from None
    except OSError:  # no hard links here (e.g. FAT, some network file systems)
        refuse_existing(path, force)
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


def refuse_existing(path: str | os.PathLike, force: bool = False) -> int | None:
    """Without `force`, an existing output is an error: called before the work, not after it. A folder or a
    block device is never an output; a character device or a pipe needs no `force` (nothing there is lost).
    Returns the existing file's mode (its link's target's), None if there is none."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:  # e.g. a path through a file ("out.csv/x.png") or no permission
        raise FacekeypointsError(f"cannot write {path}: {error.strerror}") from None
    if stat.S_ISDIR(mode):
        raise FacekeypointsError(f"{path} is a folder: give a file name")
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise FacekeypointsError(f"{path} is not a regular file: refusing to write to it")
    if stat.S_ISREG(mode) and not force:
        raise OutputExistsError(f"{path} already exists (use --force to overwrite)")
    return mode


def write_bytes_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> None:
    with atomic_output(path, force=force) as tmp:
        tmp.write_bytes(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a new, empty folder beside `path`; on success it becomes `path` in one rename (with `force`, an
    existing folder is moved aside first and removed after). Without `force` an existing `path` is an error,
    raised before any work is done; a file there is never replaced by a folder."""
    path = Path(path)
    if path.is_symlink() or path.exists():
        if not path.is_dir() or path.is_symlink():
            raise FacekeypointsError(f"{path} exists and is not a folder: refusing to replace it")
        if not force:
            raise OutputExistsError(f"{path} already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = staged.with_name(staged.name + ".old")
    try:
        yield staged
        os.chmod(staged, 0o777 & ~_umask())  # mkdtemp makes 0700
        if path.exists():
            os.replace(path, old)
        os.replace(staged, path)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
