"""Property-based tests of the photo inputs (issue 14, "Also"): whatever bytes a file holds and whatever array the
API is given, the only outcomes are a result, a per-file error (the batch goes on), or a ValueError/TypeError that
says what was expected; never a raw cv2.error, ONNX Runtime error or IndexError, never a hang."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from facekeypoints import FaceKeypoints
from facekeypoints.photos import IMAGE_SUFFIXES, ImageError, decode_image
from facekeypoints.shipped import sample_image

# Each example runs the detector or the model: few examples, each well under the deadline (ms).
FAST = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])

# The first bytes of the formats OpenCV and Pillow read, so that random bytes also reach their decoders.
SIGNATURES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"II*\x00",
              b"MM\x00*", sample_image().read_bytes()[:200]]


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()  # the model is loaded once for the module


files = st.lists(st.tuples(st.sampled_from(SIGNATURES), st.binary(max_size=300), st.sampled_from(IMAGE_SUFFIXES)),
                 min_size=1, max_size=3)


@FAST
@given(files=files)
def test_random_bytes_as_image_files_give_a_result_or_an_error_each(fk, files):
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, (head, tail, suffix) in enumerate(files):
            paths.append(Path(folder, f"{i}{suffix}"))
            paths[-1].write_bytes(head + tail)
        results = list(fk.detect_files(folder, workers=0))
        assert [r.source for r in results] == paths  # one each, in order: the batch went past every bad one
        for result in results:
            assert (result.error is None) or (str(result.source) in result.error and not result.faces)
        for path in paths:
            try:
                image = decode_image(path)
            except ImageError as exc:
                assert str(path) in str(exc)
            else:
                assert image.ndim == 3 and image.shape[2] == 3


DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.uint32, np.float16,
                          np.float32, np.float64, np.bool_, np.complex64, ">u2", "<f8"])


def _arrays(shapes):
    return DTYPES.flatmap(lambda dtype: hnp.arrays(dtype, shapes))


image_shapes = st.one_of(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=48),
                         st.tuples(st.integers(0, 48), st.integers(0, 48), st.integers(0, 5)),
                         hnp.array_shapes(min_dims=0, max_dims=4, max_side=6))


@FAST
@given(image=_arrays(image_shapes), channels=st.sampled_from(["rgb", "bgr"]))
def test_random_arrays_give_faces_or_say_what_was_expected(fk, image, channels):
    try:
        faces = fk(image, channels=channels)
    except (ValueError, TypeError) as exc:
        assert "expected" in str(exc)
    else:
        assert isinstance(faces, list)


crop_shapes = st.one_of(st.tuples(st.integers(0, 3), st.just(96), st.just(96)),
                        hnp.array_shapes(min_dims=1, max_dims=4, max_side=8))


@FAST
@given(crops=_arrays(crop_shapes), four_point=st.one_of(st.none(), _arrays(hnp.array_shapes(max_dims=2, max_side=4))))
def test_random_crops_give_keypoints_or_say_what_was_expected(fk, crops, four_point):
    try:
        points = fk.predict_crops(crops, four_point=four_point)
    except (ValueError, TypeError) as exc:
        assert "expected" in str(exc)
    else:
        assert points.shape == (len(crops), 15, 2) and np.isfinite(points).all()


@settings(max_examples=200, deadline=None)
@given(angle=st.floats(-180, 180), scale=st.floats(0.05, 20), shift=st.tuples(*[st.floats(-1e3, 1e3)] * 2),
       points=hnp.arrays(np.float64, (5, 2), elements=st.floats(-100, 100)))
def test_fit_similarity_recovers_a_similarity_and_is_least_squares(angle, scale, shift, points):
    from facekeypoints.photos import fit_similarity

    if np.ptp(points, axis=0).max() < 1:  # points nearly at one place fix no rotation
        return
    a = np.radians(angle)
    turn = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    target = points @ turn.T + shift
    fitted = fit_similarity(points, target)
    np.testing.assert_allclose(points @ fitted[:, :2].T + fitted[:, 2], target, atol=1e-6 * (1 + scale * 100))
    # with noise, no other similarity (the exact one, turned a little) fits the noisy points better
    noisy = target + np.random.default_rng(0).normal(0, scale, target.shape)
    best = fit_similarity(points, noisy)
    error = lambda m: np.sum((points @ m[:, :2].T + m[:, 2] - noisy) ** 2)  # noqa: E731
    assert error(best) <= error(np.column_stack([turn, shift])) + 1e-9 * error(best)
