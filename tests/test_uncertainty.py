"""Per-keypoint uncertainty: the monotone fit, the shipped calibrations against real errors, and `Face.uncertainty`
in the API and the JSON, in photo pixels."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facekeypoints import FaceKeypoints
from facekeypoints.errors import DataError, FacekeypointsError
from facekeypoints.evaluation import calibrate, keypoint_errors, solved_test
from facekeypoints.inference import load_model
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos import Crop, Detection, Found, faces_from, find_faces
from facekeypoints.shipped import calibration_path, sample_image, shipped_onnx
from facekeypoints.uncertainty import Calibration, fit_table, isotonic, rank_correlation

# Measured on the public test split (benchmarks/uncertainty.py): pooled Spearman 0.414 (keypointnet) and 0.392
# (fast), where each keypoint's mean error alone ranks at 0.30 and 0.28; per-keypoint median 0.234 and 0.265;
# mean predicted / mean actual error 1.001 and 1.000.
MIN_RANK_CORRELATION = 0.35
MIN_PER_POINT_CORRELATION = 0.15
MEAN_FACTOR = 1.15


def test_isotonic_pools_adjacent_violators():
    np.testing.assert_allclose(isotonic([1, 3, 2, 4]), [1, 2.5, 2.5, 4])
    np.testing.assert_allclose(isotonic([3, 2, 1]), [2, 2, 2])
    np.testing.assert_allclose(isotonic([1, 4, 0], weights=[1, 1, 2]), [1, 4 / 3, 4 / 3])  # (4 + 0*2) / 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_isotonic_is_monotone_keeps_the_mean_and_leaves_a_monotone_sequence_alone(values, rng):
    weights = np.array([rng.uniform(0.5, 3) for _ in values])
    fitted = isotonic(values, weights)
    assert (np.diff(fitted) >= -1e-9).all()
    assert np.isclose((fitted * weights).sum(), (np.array(values) * weights).sum(), atol=1e-6)
    np.testing.assert_allclose(isotonic(sorted(values)), sorted(values))


def test_the_table_of_a_known_case_and_how_it_reads():
    spread, error = fit_table(np.array([4.0, 1, 3, 2]), np.array([4.0, 1, 2, 3]), min_bin=1)
    np.testing.assert_allclose(spread, [1, 2.5, 4])  # the middle two pool, at their mean spread
    np.testing.assert_allclose(error, [1, 2.5, 4])
    calibration = Calibration(((spread, error),) * len(KEYPOINT_NAMES), {})
    row = np.array([0.5, 1.0, 1.75, 2.5, 3.25, 4.0, 8.0, np.nan, 2, 2, 2, 2, 2, 2, 2])
    np.testing.assert_allclose(calibration(row)[:8], [1, 1, 1.75, 2.5, 3.25, 4, 8, np.nan])  # flat, linear, in
    # proportion beyond the last knot (8 = 4 * 8 / 4)
    assert calibration(np.stack([row, row])).shape == (2, 15)


def test_bins_pool_faces_before_the_fit():
    rng = np.random.default_rng(0)
    spread = rng.uniform(5, 10, 200)
    error = spread - 4 + rng.normal(0, 2, 200)
    for min_bin in (1, 20, 50):
        x, y = fit_table(spread, error, min_bin)
        assert (np.diff(x) > 0).all() and (np.diff(y) > 0).all()
        assert len(x) <= 200 // min_bin
    assert len(fit_table(spread[:10], error[:10], 20)[0]) == 1  # fewer faces than a bin: their mean


def test_a_calibration_file_round_trips_and_a_bad_one_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    spread = rng.uniform(5, 9, (100, 15))
    calibration = Calibration.fit(spread, spread / 4 + rng.normal(0, 0.3, (100, 15)), np.ones((100, 15), bool),
                                  {"model": "test"})
    path = tmp_path / "m.uncertainty.json"
    calibration.write(path)
    back = Calibration.read(path)
    np.testing.assert_allclose(back(spread), calibration(spread), atol=1e-3)
    assert back.about["model"] == "test"
    record = json.loads(path.read_text())
    record["points"]["nose_tip"]["error"] = record["points"]["nose_tip"]["error"][::-1] + [0.0]
    path.write_text(json.dumps(record))
    with pytest.raises(DataError, match=r"m.uncertainty.json: keypoint nose_tip: knots must"):
        Calibration.read(path)
    path.write_text("{}")
    with pytest.raises(DataError, match="not an uncertainty calibration"):
        Calibration.read(path)


def test_rank_correlation_with_ties():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    # ties take their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3)
    expected = np.corrcoef([0.5, 0.5, 2, 3], [0, 1, 2, 3])[0, 1]
    assert rank_correlation([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["keypointnet", "fast"])
def test_the_shipped_calibration_foretells_the_error_on_faces_it_was_not_fitted_on(real_data, name):
    model = load_model(name)
    spread, actual = keypoint_errors(model, solved_test(real_data))  # the public test split; fitted on validation
    labelled = ~np.isnan(actual)
    predicted = model.uncertainty(spread)
    assert rank_correlation(predicted[labelled], actual[labelled]) > MIN_RANK_CORRELATION
    per_point = [rank_correlation(predicted[labelled[:, k], k], actual[labelled[:, k], k]) for k in range(15)]
    assert np.median(per_point) > MIN_PER_POINT_CORRELATION  # within each keypoint too, not only between them
    ratio = predicted[labelled].mean() / actual[labelled].mean()
    assert 1 / MEAN_FACTOR < ratio < MEAN_FACTOR


def test_the_shipped_calibration_is_what_tools_calibrate_makes_of_the_shipped_model(real_data):
    shipped = load_model("keypointnet").uncertainty
    again = calibrate("keypointnet", str(real_data))
    for (x, y), (x2, y2) in zip(shipped.knots, again.knots):
        np.testing.assert_allclose(x, x2, atol=0.01)
        np.testing.assert_allclose(y, y2, atol=0.01)


def test_a_model_without_spread_cannot_be_calibrated(real_data):
    with pytest.raises(FacekeypointsError, match="no heatmap spread"):
        calibrate("mean", str(real_data))
    assert load_model("mean").uncertainty is None


def test_a_calibration_beside_a_users_model_is_loaded_with_it(tmp_path):
    model = tmp_path / "mine.onnx"
    shutil.copy(shipped_onnx("fast"), model)
    assert load_model(model).uncertainty is None
    face = FaceKeypoints(str(model))(str(sample_image()))[0]
    assert face.uncertainty is None and face.to_dict()["uncertainty"] is None
    shutil.copy(calibration_path(shipped_onnx("fast")), calibration_path(model))
    assert calibration_path(model).name == "mine.uncertainty.json"
    assert load_model(model).uncertainty is not None


def test_faces_carry_their_uncertainty_in_photo_pixels(tmp_path):
    fk = FaceKeypoints()
    image = cv2.imread(str(sample_image()))
    face = fk(image, channels="bgr")[0]
    assert list(face.uncertainty) == list(KEYPOINT_NAMES)
    record = face.to_dict()["uncertainty"]
    assert list(record) == list(KEYPOINT_NAMES) and all(v > 0 for v in record.values())
    found = find_faces(image, fk.detector, fk.min_crop)
    crop_pixels = fk.model.uncertainty(fk.model.predict_with_spread(found.faces)[1])[0]
    assert face.crop.side > 96 * 1.2  # so that crop and photo pixels differ
    np.testing.assert_allclose(list(face.uncertainty.values()), crop_pixels * face.crop.side / 96, rtol=1e-3)
    twice = fk(cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), channels="bgr")[0]
    ratio = np.array([twice.uncertainty[k] / face.uncertainty[k] for k in KEYPOINT_NAMES])
    assert np.median(ratio) == pytest.approx(2, abs=0.1) and ((ratio > 1.7) & (ratio < 2.3)).all()
    streamed = next(iter(fk.detect_files([sample_image()], workers=0))).faces[0]
    assert streamed.uncertainty == pytest.approx(face.uncertainty, rel=1e-3)


def test_faces_from_wants_a_spread_per_keypoint():
    crop = Crop((48.0, 48.0), 96.0)
    found = Found([Detection((0, 0, 96, 96))], [crop], [0], np.zeros((1, 96, 96), np.uint8), (96, 96))
    points = np.full((1, 15, 2), 48.0)
    with pytest.raises(ValueError, match=r"expected spreads \(1, 15\)"):
        faces_from(found, points, np.array([6.0]))
    spread = np.full((1, 15), 6.0)
    spread[0, :8] = 30.0  # the median over the 15 says "not a face"
    assert faces_from(found, points, spread) == []
    spread[0, :8] = 6.0
    spread[0, :7] = 3.0  # median 6: the 8th smallest
    face, = faces_from(found, points, spread, uncertainty=lambda s: s / 6)
    assert face.spread == 6.0
    assert face.uncertainty["left_eye_center"] == pytest.approx(0.5)
    assert face.uncertainty["nose_tip"] == pytest.approx(1)
