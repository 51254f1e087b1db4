"""The README's Python examples run as printed, and print what it says they print (`# -> TEXT` lines)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from facekeypoints.shipped import sample_image

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, real_data) -> Path:
    """The files the examples name: photo.jpg, holiday/, clip.mp4 and the Kaggle folder."""
    folder = tmp_path_factory.mktemp("readme")
    photo = cv2.imread(str(sample_image()))
    cv2.imwrite(str(folder / "photo.jpg"), photo)
    (folder / "holiday").mkdir()
    for name in ("beach.jpg", "hotel.png"):
        cv2.imwrite(str(folder / "holiday" / name), photo)
    video = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, photo.shape[1::-1])
    for _ in range(3):
        video.write(photo)
    video.release()
    (folder / "facial-keypoints-detection").symlink_to(real_data)
    return folder


def test_the_readme_has_the_examples():
    assert len(BLOCKS) >= 3 and any("detect_files" in block for block in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_example_runs_as_printed(index, workdir):
    block = BLOCKS[index]
    script = workdir / f"example_{index}.py"
    script.write_text(block)
    done = subprocess.run([sys.executable, script.name], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"README example {index + 1} failed:\n{block}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), "an example prints what it found"
    for expected in re.findall(r"^# -> (.*)$", block, re.M):
        assert expected in done.stdout, f"README example {index + 1} says it prints {expected!r}:\n{done.stdout}"


def test_every_test_the_readme_cites_exists():
    """The Reliability section names the test behind each promise: a renamed or deleted test must not leave it
    pointing at nothing."""
    text = README.read_text(encoding="utf-8")
    tests = README.parent / "tests"
    source = "".join(path.read_text(encoding="utf-8") for path in tests.glob("test_*.py"))
    cited = re.findall(r"`(test_\w+)`", text)
    assert len(cited) >= 10
    assert [name for name in cited if f"def {name}(" not in source] == []
    assert [f for f in re.findall(r"`(tests/[\w/]+\.py)`", text) if not (README.parent / f).exists()] == []
