"""RMSE, submissions and the split."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_faces

from facekeypoints.data import KeypointData, LookupTable, TestImages, train_val_split
from facekeypoints.errors import DataError, OutputExistsError
from facekeypoints.keypoints import FLIP_PERMUTATION, KEYPOINT_NAMES
from facekeypoints.metrics import face_rmse, keypoint_rmse, mean_point_error
from facekeypoints.submission import score_submission, submission_locations, write_submission


def test_rmse_counts_only_labelled_coordinates():
    truth = np.zeros((2, 15, 2), np.float32)
    pred = np.zeros_like(truth)
    mask = np.zeros((2, 15), bool)
    mask[0] = True  # a 15-keypoint image, all exact
    mask[1, [0, 1, 10, 14]] = True  # a 4-keypoint image, each x off by 2
    pred[1, [0, 1, 10, 14], 0] = 2.0
    pred[1, 5] = 100.0  # unlabelled: must not count
    report = keypoint_rmse(pred, truth, mask)
    assert report.count == 2 * (15 + 4)
    assert report.rmse == pytest.approx(np.sqrt(4 * 4 / 38))
    assert report.per_pattern["15 keypoints"] == (0.0, 1)
    assert report.per_pattern["4 keypoints"][0] == pytest.approx(np.sqrt(2.0))
    assert report.per_keypoint["nose_tip"] == (1.0, 2)  # x and y of two noses: (4 + 0 + 0 + 0) / 4
    assert report.per_keypoint["right_eye_outer_corner"] == (0.0, 1)
    np.testing.assert_allclose(face_rmse(pred, truth, mask), [0.0, np.sqrt(2.0)])  # 4 x-errors of 2 over 8 coords
    pred[1, 0] = (2.0, 3.0)  # one point 5 px off (3-4-5 with its truth at (-1, -1)), three 2 px off: mean 2.75
    truth[1, 0] = (-1.0, -1.0)
    np.testing.assert_allclose(mean_point_error(pred, truth, mask), [0.0, 2.75])
    assert np.isnan(mean_point_error(pred[:1], truth[:1], np.zeros_like(mask[:1])))[0]  # no label: no error


def test_flip_permutation_swaps_left_and_right():
    for i, j in enumerate(FLIP_PERMUTATION):
        mirrored = KEYPOINT_NAMES[i].replace("left", "#").replace("right", "left").replace("#", "right")
        assert KEYPOINT_NAMES[j] == mirrored


def _lookup(rows):
    table = np.array(rows, np.int64)
    return LookupTable(table[:, 0], table[:, 1], table[:, 2], table[:, 3], np.arange(2, len(rows) + 2), "lookup.csv")


def test_submission_rows_follow_the_lookup_and_are_clipped():
    test = TestImages(np.array([7, 9]), np.zeros((2, 96, 96), np.uint8), np.array([2, 3]), "test.csv")
    pred = np.zeros((2, 15, 2), np.float32)
    pred[0, 10] = (50.0, 60.0)
    pred[1, 0] = (-3.0, 99.0)
    lookup = _lookup([(1, 9, 0, 0), (2, 9, 0, 1), (3, 7, 10, 1), (4, 7, 10, 0)])
    np.testing.assert_array_equal(submission_locations(pred, test, lookup), [0.0, 96.0, 60.0, 50.0])
    with pytest.raises(DataError, match=r"lookup.csv, line 2: ImageId 8 is not in test.csv"):
        submission_locations(pred, test, _lookup([(1, 8, 0, 0)]))


def test_write_submission_is_atomic_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "sub.csv"
    write_submission(out, np.array([1, 2]), np.array([1.5, 2.25]))
    assert out.read_text() == "RowId,Location\n1,1.500000\n2,2.250000\n"
    with pytest.raises(OutputExistsError):
        write_submission(out, np.array([1]), np.array([0.0]))
    assert out.read_text().startswith("RowId,Location\n1,1.5")
    write_submission(out, np.array([1]), np.array([0.0]), force=True)
    assert out.read_text() == "RowId,Location\n1,0.000000\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sub.csv"]  # no temporary files left behind


def test_score_submission():
    solution_ids = np.array([1, 2, 3, 4])
    solution = np.array([10.0, 20.0, 30.0, 40.0])
    report = score_submission(np.array([4, 3, 2, 1]), np.array([40.0, 30.0, 20.0, 13.0]), solution_ids, solution)
    assert report.rmse == pytest.approx(1.5)
    with pytest.raises(DataError, match="1 RowIds of the solution are missing"):
        score_submission(np.array([1, 2, 3]), np.zeros(3), solution_ids, solution)
    with pytest.raises(DataError, match="1 RowIds are not in the solution"):
        score_submission(np.array([1, 2, 3, 4, 5]), np.zeros(5), solution_ids, solution)
    lookup = _lookup([(1, 5, 0, 0), (2, 5, 0, 1), (3, 6, 10, 0), (4, 6, 10, 1)])
    report = score_submission(solution_ids, solution + [0, 0, 0, 2], solution_ids, solution, lookup)
    assert report.per_keypoint["left_eye_center"][0] == 0.0
    assert report.per_keypoint["nose_tip"][0] == pytest.approx(np.sqrt(2.0))


def test_split_is_deterministic_stratified_and_keeps_duplicates_together():
    images, keypoints, mask = make_faces(200, seed=4, partial_every=4)
    images[150:160] = images[0]  # a group of 11 identical images
    data = KeypointData(images, keypoints, mask, np.arange(2, 202))
    train, val = train_val_split(data, 0.2, seed=0)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 200
    np.testing.assert_array_equal(train_val_split(data, 0.2, seed=0)[1], val)
    assert not np.array_equal(train_val_split(data, 0.2, seed=1)[1], val)
    group = {0, *range(150, 160)}
    assert group <= set(val.tolist()) or group <= set(train.tolist())
    complete = mask.all(1)
    # each stratum gets its share (up to one group's size)
    assert abs(complete[val].sum() - 0.2 * complete.sum()) <= 11
    assert abs((~complete[val]).sum() - 0.2 * (~complete).sum()) <= 11
    # the split depends on content, not on row order
    order = np.random.default_rng(0).permutation(200)
    shuffled = KeypointData(images[order], keypoints[order], mask[order], np.arange(200))
    assert set(order[train_val_split(shuffled, 0.2, seed=0)[1]].tolist()) == set(val.tolist())
