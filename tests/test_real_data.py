"""Integration tests on the real Kaggle-format files in ../shared/data (or $FKD_DATA_DIR)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facekeypoints import KeypointModel
from facekeypoints.cli import main
from facekeypoints.data import load_lookup, load_test, load_training, read_submission, train_val_split
from facekeypoints.data.check import check_path
from facekeypoints.models import create_model

MEASURED_RMSE = 1.5628  # the shipped keypointnet on the public test (benchmarks/models.py)
MEASURED_FAST_RMSE = 1.9086  # the shipped fast model (no flip averaging)


@pytest.fixture(scope="module")
def training(real_data):
    return load_training(real_data)


def test_training_counts(training):
    assert training.images.shape == (5449, 96, 96)
    assert training.mask.all(axis=1).sum() == 1655
    assert (training.mask.sum(axis=1) == 4).sum() == 3669
    labelled = training.keypoints[training.mask]
    assert labelled.min() >= 0 and labelled.max() <= 96
    # the subject's left eye is on the image's right
    both = training.mask[:, 0] & training.mask[:, 1]
    assert both.sum() > 5000
    assert (training.keypoints[both, 0, 0] > training.keypoints[both, 1, 0]).all()


def test_test_and_lookup(real_data):
    test = load_test(real_data)
    assert test.images.shape == (600, 96, 96) and test.image_ids.tolist() == list(range(1, 601))
    lookup = load_lookup(real_data)
    assert len(lookup) == 8934 and set(lookup.image_ids.tolist()) == set(range(1, 601))


def test_split_keeps_duplicates_together(training):
    train, val = train_val_split(training, 0.1, seed=0)
    assert len(train) + len(val) == len(training) and len(np.intersect1d(train, val)) == 0
    val_pixels = {training.images[i].tobytes() for i in val}
    assert not any(training.images[i].tobytes() in val_pixels for i in train)
    complete = training.mask.all(1)
    assert abs(complete[val].mean() - complete.mean()) < 0.02


def test_shipped_mean_shape_is_the_training_mean(training):
    fitted = create_model("mean").fit(training.keypoints, training.mask).shape.numpy()
    shipped = KeypointModel.load("mean").module.shape.numpy()
    np.testing.assert_allclose(shipped, fitted, atol=1e-4)


def test_mean_submission_scores_like_kaggles_benchmark(real_data, tmp_path, capsys):
    out = tmp_path / "submission.csv"
    assert main(["submit", "--test", str(real_data / "test.zip"), "--lookup", str(real_data / "IdLookupTable.csv"),
                 "--out", str(out), "--model", "mean", "-q"]) == 0
    row_ids, _ = read_submission(out)
    sample_ids, _ = read_submission(real_data / "SampleSubmission.csv")
    np.testing.assert_array_equal(row_ids, sample_ids)
    capsys.readouterr()
    assert main(["score", str(out), str(real_data / "test_solution.csv"), "-q"]) == 0
    rmse = float(capsys.readouterr().out)
    assert 3.6 < rmse < 3.9  # measured 3.7229 for the shipped mean shape


def test_data_check_on_real_files(real_data):
    results = check_path(real_data)
    assert [r.kind for r in results] == ["training", "test", "lookup"]
    assert all(r.errors == 0 for r in results)
    training = results[0]
    assert training.rows == 5449 and training.warnings > 0  # duplicates and odd label patterns


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_shipped_keypointnet_on_the_public_test(real_data, tmp_path, capsys, backend):
    """The default model, as `submit` and `score` run it (no --model): the README's headline figure."""
    report = _submit_and_score(real_data, tmp_path, capsys, "--backend", backend)
    assert report["rmse"] < MEASURED_RMSE + 0.01  # bf16 on CPUs with AMX, float32 elsewhere: tiny differences
    patterns = {name: r["rmse"] for name, r in report["per_pattern"].items()}
    assert patterns["15 keypoints"] < 0.894 and patterns["4 keypoints"] < 2.29  # measured 0.884 and 2.279


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_shipped_fast_model_on_the_public_test(real_data, tmp_path, capsys, backend):
    report = _submit_and_score(real_data, tmp_path, capsys, "--model", "fast", "--backend", backend)
    assert report["rmse"] < MEASURED_FAST_RMSE + 0.01


def _submit_and_score(real_data, tmp_path, capsys, *options) -> dict:
    out = tmp_path / "submission.csv"
    assert main(["submit", "--data", str(real_data), "--out", str(out), "-q", *options]) == 0
    capsys.readouterr()
    assert main(["score", str(out), str(real_data / "test_solution.csv"), "--json", "-q"]) == 0
    return json.loads(capsys.readouterr().out)


def test_mean_shape_is_the_mean_of_the_fifteen_keypoint_faces(training):
    """keypoints.MEAN_SHAPE, where crops fitted to a face's keypoints (video tracking) put them, is the data's."""
    from facekeypoints.keypoints import MEAN_SHAPE

    complete = np.isfinite(training.keypoints).all(axis=(1, 2))
    assert complete.sum() > 1000
    np.testing.assert_allclose(training.keypoints[complete].mean(axis=0), MEAN_SHAPE, atol=0.006)


# The share of validation faces each shipped model may miss (mean point error > 5 px) when zoomed out to 0.6 and
# shifted by 20 % of the crop (benchmarks/robustness.py measures this and more). Before wide re-framing in training
# the shipped models missed 14.1 % (keypointnet) and 91 % (fast) of these faces; after, 0.7 % and 1.3 %.
REFRAMED_MISSES = {"keypointnet": 0.02, "fast": 0.04}


@pytest.mark.parametrize("name", sorted(REFRAMED_MISSES))
def test_shipped_models_find_small_off_centre_faces(training, name):
    import cv2

    from facekeypoints import four_point_faces, load_model
    from facekeypoints.metrics import mean_point_error

    faces = training.subset(train_val_split(training, 0.1, 0)[1])
    rng = np.random.default_rng(0)
    turn = rng.uniform(0, 2 * np.pi, len(faces))
    images, points = np.empty_like(faces.images), np.empty_like(faces.keypoints)
    for i, a in enumerate(turn):
        m = cv2.getRotationMatrix2D((47.5, 47.5), 0, 0.6)
        m[:, 2] += 0.2 * 96 * np.array([np.cos(a), np.sin(a)])  # small, off-centre, edges replicated
        images[i] = cv2.warpAffine(faces.images[i], m, (96, 96), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        points[i] = faces.keypoints[i] @ m[:, :2].T + m[:, 2]
    predicted = load_model(name).predict(images, four_point=four_point_faces(faces.mask))
    missed = np.mean(mean_point_error(predicted, points, faces.mask) > 5.0)
    assert missed <= REFRAMED_MISSES[name], f"{name} missed {missed:.1%} of the re-framed faces"
