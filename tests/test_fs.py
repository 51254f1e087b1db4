"""Outputs: atomic, never clobbered without --force, never a special file unlinked, errors that name the file."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from facekeypoints._fs import atomic_output, write_bytes_atomic
from facekeypoints.cli import main
from facekeypoints.errors import FacekeypointsError, OutputExistsError


def test_a_fifo_is_written_into_never_replaced(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_bytes_atomic(fifo, b"RowId,Location\n", force=True)
    reader.join(timeout=10)
    assert received == [b"RowId,Location\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe: a rename over it would have made a plain file


def test_a_character_device_needs_no_force_and_a_full_disk_names_the_file(real_data, capsys):
    assert main(["submit", "--data", str(real_data), "--out", os.devnull, "-q"]) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    assert main(["submit", "--data", str(real_data), "--out", "/dev/full", "-q"]) == 1
    assert "No space left on device: '/dev/full'" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_folder_or_a_path_through_a_file_is_one_clear_error(tmp_path):
    with pytest.raises(FacekeypointsError, match="is a folder: give a file name"):
        write_bytes_atomic(tmp_path, b"x", force=True)
    (tmp_path / "file").write_text("keep")
    with pytest.raises(FacekeypointsError, match="cannot write .*file/x.csv: Not a directory"):
        write_bytes_atomic(tmp_path / "file" / "x.csv", b"x")
    assert (tmp_path / "file").read_text() == "keep"


def test_an_existing_file_is_kept_without_force_and_after_a_failed_write(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old")
    with pytest.raises(OutputExistsError):
        write_bytes_atomic(out, b"new")
    with pytest.raises(RuntimeError), atomic_output(out, force=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["out.csv"]


def test_a_link_to_a_file_stays_a_link(tmp_path):
    (tmp_path / "real.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    write_bytes_atomic(tmp_path / "link.csv", b"new", force=True)
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "real.csv").read_text() == "new"
