"""Shared fixtures: the real Kaggle files (skipped when absent, required under FKD_REQUIRE_DATA=1)
and small generated Kaggle-format files."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facekeypoints.keypoints import COORDINATE_COLUMNS, NUM_KEYPOINTS, PARTIAL_KEYPOINTS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "facial-keypoints-detection"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Tests never read or write the user's cache."""
    old = os.environ.get("FKD_CACHE_DIR")
    os.environ["FKD_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("FKD_CACHE_DIR", None)
    else:
        os.environ["FKD_CACHE_DIR"] = old


def _absent(message: str, them: str) -> None:
    """Shared data missing: skipped with the reason on a user's clone, a failure where CI requires the data."""
    if os.environ.get("FKD_REQUIRE_DATA") == "1":
        pytest.fail(f"{message} and FKD_REQUIRE_DATA=1 requires {them}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real Kaggle-format files: $FKD_DATA_DIR, else ../shared/data/facial-keypoints-detection."""
    path = Path(os.environ.get("FKD_DATA_DIR", DEFAULT_DATA))
    if not (path / "training.zip").is_file() and not (path / "training.csv").is_file():
        _absent(f"real Kaggle data not found at {path} (set FKD_DATA_DIR)", "it")
    return path


@pytest.fixture(scope="session")
def real_photos() -> list[Path]:
    """The real photos beside the Kaggle files (../shared/data/photos): one face each."""
    folder = Path(os.environ.get("FKD_DATA_DIR", DEFAULT_DATA)).parent / "photos"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".png"))
    if not photos:
        _absent(f"real photos not found in {folder}", "them")
    return photos


@pytest.fixture(scope="session")
def kaggle68() -> Path:
    """The shared Kaggle faces with 68 iBUG points as a 300-W folder (../shared/data/kaggle-68: train/, test/)."""
    folder = Path(os.environ.get("FKD_DATA_DIR", DEFAULT_DATA)).parent / "kaggle-68"
    if not (folder / "train" / "00001.pts").is_file():
        _absent(f"the 68-point faces not found in {folder}", "them")
    return folder


@pytest.fixture(scope="session")
def mean68(kaggle68, tmp_path_factory) -> Path:
    """A 68-point model in seconds: Kaggle's mean-shape benchmark fitted on 64 of the 68-point faces (every face
    gets the same iBUG points; enough for anything that needs a 68-point model's names, not its accuracy)."""
    from facekeypoints.training import TrainConfig, run

    out = tmp_path_factory.mktemp("mean68")
    run(TrainConfig(model="mean", data=str(kaggle68 / "train"), out=str(out), limit=64, val_fraction=0.25,
                    threads=1), quiet=True, force=True)
    return out / "best.pt"


def make_faces(n: int, seed: int = 0, partial_every: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random 96x96 faces with keypoints; every `partial_every`-th one carries only the usual 4."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(10, 86, size=(n, NUM_KEYPOINTS, 2)).astype(np.float32)
    keypoints[:, 0, 0] = np.maximum(keypoints[:, 0, 0], keypoints[:, 1, 0] + 1)  # left eye on the image's right
    mask = np.ones((n, NUM_KEYPOINTS), bool)
    if partial_every:
        mask[::partial_every] = False
        mask[::partial_every, list(PARTIAL_KEYPOINTS)] = True
    keypoints[~mask] = np.nan
    return images, keypoints, mask


def training_csv(images, keypoints, newline: str = "\n") -> bytes:
    rows = [",".join(COORDINATE_COLUMNS) + ",Image"]
    for image, points in zip(images, keypoints):
        coords = ["" if np.isnan(v) else repr(float(v)) for v in points.reshape(-1)]
        rows.append(",".join(coords) + "," + " ".join(map(str, image.reshape(-1).tolist())))
    return (newline.join(rows) + newline).encode()


def kaggle_test_csv(images, ids=None, newline: str = "\n") -> bytes:
    ids = range(1, len(images) + 1) if ids is None else ids
    rows = ["ImageId,Image"] + [f"{i}," + " ".join(map(str, im.reshape(-1).tolist())) for i, im in zip(ids, images)]
    return (newline.join(rows) + newline).encode()


def lookup_csv(requests: list[tuple[int, str]], newline: str = "\r\n") -> bytes:
    rows = ["RowId,ImageId,FeatureName,Location"] + [f"{r},{i},{f}," for r, (i, f) in enumerate(requests, 1)]
    return (newline.join(rows) + newline).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def kaggle_dir(tmp_path) -> Path:
    """A small, valid Kaggle folder: training.csv (12 faces), test.csv (4), IdLookupTable.csv, solution."""
    images, keypoints, _ = make_faces(12, seed=1)
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    test_images, test_points, test_mask = make_faces(4, seed=2)
    (tmp_path / "test.csv").write_bytes(kaggle_test_csv(test_images))
    requests, truth = [], []
    for i in range(4):
        for k in np.flatnonzero(test_mask[i]):
            for a, axis in enumerate("xy"):
                requests.append((i + 1, COORDINATE_COLUMNS[2 * k + a]))
                truth.append(test_points[i, k, a])
    (tmp_path / "IdLookupTable.csv").write_bytes(lookup_csv(requests))
    solution = "RowId,Location\n" + "".join(f"{r},{v}\n" for r, v in enumerate(truth, 1))
    (tmp_path / "solution.csv").write_text(solution)
    return tmp_path
