"""The mediapipe 0.10.21 wheel, which tools/blazeface_onnx.py and tools/pose_model.py both build from, and how they
fetch a file and check its sha256. Not imported by the package."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.10.21"
WHEEL = f"mediapipe-{VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# pip downloads the wheel into the current folder, whatever this machine's own platform
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", ".",
                "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", f"mediapipe=={VERSION}"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetched(path: Path | None, name: str, expected: str, command: list[str], tool: str) -> bytes:
    """The bytes of `path`, else of `name` fetched by `command` (run in a temporary folder), sha256 checked; a
    problem ends the `tool` with one line."""
    def fail(message: str):
        raise SystemExit(f"{tool}: error: {message}")

    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            if subprocess.run(command, cwd=tmp, stdout=subprocess.DEVNULL).returncode:
                fail(f"could not fetch {name} ({' '.join(command)}); fetch it and give its path")
            path = Path(tmp) / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"{path}: {exc.strerror}")
    if sha256(data) != expected:
        fail(f"{path}: sha256 {sha256(data)}, expected {expected} ({name})")
    return data


def wheel(path: Path | None, tool: str) -> bytes:
    """The wheel's bytes: `path`, else downloaded from PyPI; sha256 checked."""
    return fetched(path, WHEEL, WHEEL_SHA256, PIP_DOWNLOAD, tool)
