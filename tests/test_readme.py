"""The README and the docs/ pages: their Python examples run as printed and print what they say they print
(`# -> TEXT` lines), the tests they cite exist, their links resolve, and the docs site builds with no warning."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from facekeypoints.shipped import sample_image

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
# Pages whose examples another test runs, beside the files they need.
RUN_ELSEWHERE = {"annotations.md": "test_the_docs_examples_run_as_printed"}
# A block that cannot run alone says why in a comment on the line above it: <!-- not run: REASON -->
FENCE = re.compile(r"(<!-- not run: (.+?) -->\n)?```python\n(.*?)```", re.S)


def _name(page: Path) -> str:
    return page.name if page.parent == DOCS else page.relative_to(REPO).as_posix()


def _blocks(page: Path) -> list[tuple[str | None, str]]:
    """(reason it is not run or None, code) for each ```python block of a page."""
    return [(reason or None, code) for _, reason, code in FENCE.findall(page.read_text(encoding="utf-8"))]


def _examples() -> list:
    """Every block to run, each once (the README's also appear in docs/python.md)."""
    seen, examples = set(), []
    for page in PAGES:
        if page.name in RUN_ELSEWHERE and page.parent == DOCS:
            continue
        for number, (reason, code) in enumerate(_blocks(page), 1):
            if reason is None and code not in seen:
                seen.add(code)
                examples.append(pytest.param(code, id=f"{_name(page)}:{number}"))
    return examples


EXAMPLES = _examples()


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


def test_the_readme_has_the_examples_and_fits_a_newcomer():
    blocks = [code for _, code in _blocks(README)]
    assert len(blocks) >= 3 and any("detect_files" in block for block in blocks)
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


@pytest.mark.parametrize("block", EXAMPLES)
def test_an_example_runs_as_printed(block, workdir):
    script = workdir / "example.py"
    script.write_text(block)
    done = subprocess.run([sys.executable, script.name], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"this example failed:\n{block}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), "an example prints what it found"
    for expected in re.findall(r"^# -> (.*)$", block, re.M):
        assert expected in done.stdout, f"this example says it prints {expected!r}:\n{done.stdout}"


def test_the_examples_not_run_here_are_run_elsewhere_or_say_why():
    """A page's example is either run above, run by the test named in RUN_ELSEWHERE, or marked with its reason; a
    renamed page or test must not leave its examples silently unrun."""
    source = "".join(path.read_text(encoding="utf-8") for path in (REPO / "tests").glob("test_*.py"))
    for page, test in RUN_ELSEWHERE.items():
        assert _blocks(DOCS / page), f"{page} has no examples for {test} to run"
        assert f"def {test}(" in source and f'"{page}"' in source, f"{test} no longer runs {page}'s examples"
    assert len(EXAMPLES) >= 5


def test_every_test_the_docs_cite_exists():
    """The README and the pages (Reliability above all) name the test behind each promise: a renamed or deleted
    test must not leave one pointing at nothing."""
    source = "".join(path.read_text(encoding="utf-8") for path in (REPO / "tests").glob("test_*.py"))
    cited, files = [], []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        cited += [(_name(page), name) for name in re.findall(r"`(test_\w+)`", text)]
        files += [(_name(page), name) for name in re.findall(r"`(tests/[\w/]+\.py)`", text)]
    assert len(cited) >= 10
    assert [(page, name) for page, name in cited if f"def {name}(" not in source] == []
    assert [(page, name) for page, name in files if not (REPO / name).exists()] == []


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub (and mkdocs) give a page's headings."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", text, re.M)}


def test_the_readme_links_resolve_on_github():
    """The README is not part of the docs site, so its relative links (into docs/, with their anchors) are checked
    here, as GitHub resolves them."""
    text = re.sub(r"```.*?```|<!--.*?-->", "", README.read_text(encoding="utf-8"), flags=re.S)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert len(local) >= 10
    broken = []
    for link in local:
        path, _, anchor = link.partition("#")
        target = (README.parent / path) if path else README
        if not target.exists() or (anchor and anchor not in _anchors(target)):
            broken.append(link)
    assert broken == []
    assert [page.name for page in DOCS.glob("*.md") if f"docs/{page.name}" not in local and page.name != "index.md"] \
        == [], "every page is linked from the README"


def test_the_docs_site_builds_without_a_warning(tmp_path):
    """`mkdocs build --strict`: a link to a missing page, picture or anchor, or a page left out of the nav, fails."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("FKD_REQUIRE_DATA") == "1":
            pytest.fail("mkdocs is not installed (pip install '.[docs]') and FKD_REQUIRE_DATA=1 requires the build")
        pytest.skip("mkdocs is not installed: pip install '.[docs]'")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "models" / "index.html").is_file()
