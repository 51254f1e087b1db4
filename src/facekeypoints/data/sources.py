"""Find Kaggle's files where a user put them: a folder, the files' own zips, or Kaggle's single zip.

Kaggle ships `facial-keypoints-detection.zip`, which holds `training.zip`, `test.zip`,
`IdLookupTable.csv` and `SampleSubmission.csv`; unpacked, the first two hold `training.csv` and
`test.csv`. Any of these layouts works, nested zips included.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError

try:
    from lzma import LZMAError
except ImportError:  # a Python built without lzma: zipfile then cannot read lzma members either
    LZMAError = zlib.error

KAGGLE_ZIP = "facial-keypoints-detection.zip"
STEMS = {"training": "training", "test": "test", "lookup": "IdLookupTable"}
# The methods zipfile decompresses; others (9 = deflate64, which Windows writes for big files) it cannot.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
OTHER_METHODS = {9: "deflate64", 10: "PKWARE implode", 93: "zstandard", 95: "xz", 98: "PPMd", 99: "AES encryption"}


class NotFound(DataError):
    """The folder or zip holds no file of the kind asked for (unlike a file that is there but unreadable)."""


@dataclass(frozen=True)
class Source:
    """A CSV file: a plain file on disk, or a member of a (possibly nested) zip on disk."""

    path: Path
    members: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """How messages name the file, e.g. `data/training.zip:training.csv`."""
        return ":".join([str(self.path), *self.members])

    def read(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise DataError("no such file", str(self.path)) from None
        except IsADirectoryError:
            raise DataError("is a folder, not a file", str(self.path)) from None
        except OSError as exc:
            raise DataError(f"cannot read: {exc.strerror}", str(self.path)) from None
        for depth, member in enumerate(self.members):
            container = ":".join([str(self.path), *self.members[:depth]])
            data = _read_member(_open_zip(data, container), member, container)
        return data

    def fingerprint(self) -> str:
        """A digest of the bytes on disk plus the member path: changes whenever the content does."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        digest.update("\0".join(self.members).encode())
        return digest.hexdigest()


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:  # a damaged directory fails in many ways
        if data.startswith(b"\x1f\x8b"):
            raise DataError("not a valid zip file: it holds gzip data (gunzip it and give the .csv)", name) from None
        damage = f": truncated or damaged ({exc})" if data.startswith(b"PK") else ""
        raise DataError("not a valid zip file" + damage, name) from None


def _read_member(archive: zipfile.ZipFile, member: str, container: str) -> bytes:
    """A member's bytes; a member that cannot be read (encrypted, an unknown method, damaged) is a DataError."""
    name = f"{container}:{member}"
    info = archive.getinfo(member)
    if info.flag_bits & 0x41:  # bit 0: encrypted; bit 6: strong encryption
        raise DataError("the zip member is encrypted: unzip it with its password and give the .csv", name)
    if info.compress_type not in METHODS:
        method = OTHER_METHODS.get(info.compress_type, f"method {info.compress_type}")
        raise DataError(f"the zip member is compressed with {method}, which Python's zipfile cannot read: "
                        "unzip it with another tool, or zip it again with plain deflate", name)
    try:
        return archive.read(member)
    except NotImplementedError as exc:  # e.g. "compressed patched data (flag bit 5)"
        raise DataError(f"the zip member uses a feature Python's zipfile cannot read: {exc}", name) from None
    except (zipfile.BadZipFile, zlib.error, LZMAError, OSError, EOFError, ValueError) as exc:  # bz2 raises OSError
        raise DataError(f"the zip member is damaged ({exc})", name) from None


def _find_in_zip(path: Path, data: bytes, members: tuple[str, ...], stem: str) -> Source | None:
    """Search a zip (recursing into inner zips) for `<stem>.csv` or `<stem>.zip`."""
    archive = _open_zip(data, ":".join([str(path), *members]))
    names = [n for n in archive.namelist() if not n.endswith("/")]
    by_base = {Path(n).name.lower(): n for n in names}
    if f"{stem.lower()}.csv" in by_base:
        return Source(path, (*members, by_base[f"{stem.lower()}.csv"]))
    inner_zips = [n for n in names if n.lower().endswith(".zip")]
    # Look in the zip named after the file first (training.zip for training.csv), then any other.
    inner_zips.sort(key=lambda n: Path(n).name.lower() != f"{stem.lower()}.zip")
    for inner in inner_zips:
        inner_data = _read_member(archive, inner, ":".join([str(path), *members]))
        found = _find_in_zip(path, inner_data, (*members, inner), stem)
        if found is not None:
            return found
    return None


def resolve(path: str | Path, kind: str) -> Source:
    """Locate the `kind` ("training", "test" or "lookup") file under `path`.

    `path` may be the CSV itself, its zip, Kaggle's competition zip, or a folder holding any of them.
    A plain CSV path is taken as given: its header decides whether it is the right kind.
    """
    stem = STEMS[kind]
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", str(path))
    if path.is_dir():
        for candidate in (f"{stem}.csv", f"{stem}.zip", KAGGLE_ZIP):
            if (path / candidate).is_file():
                return resolve(path / candidate, kind)
        raise NotFound(f"no {stem}.csv, {stem}.zip or {KAGGLE_ZIP} in this folder", str(path))
    if path.suffix.lower() != ".zip":
        return Source(path)
    found = _find_in_zip(path, Source(path).read(), (), stem)
    if found is None:
        raise NotFound(f"no {stem}.csv inside this zip", str(path))
    return found
