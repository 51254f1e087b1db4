"""The BlazeFace detector on real photos: every face found once, turned faces too, their crops cut upright so
that the keypoints come back where the upright photo has them; and the decoding's own arithmetic."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facekeypoints import FaceKeypoints
from facekeypoints.photos import BlazeFaceDetector, Detection, read_colour
from facekeypoints.photos.blazeface import FULL, SHORT, _unturn


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


def turned(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The image turned clockwise on screen (canvas grown to hold it, edges replicated), and the affine map from
    its pixels back to the original's."""
    height, width = image.shape[:2]
    if degrees == 90:
        back = np.array([[0.0, 1, 0], [-1, 0, height - 1]])  # (x, y) came from (y, height - 1 - x)
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), back
    if degrees == -90:
        back = np.array([[0.0, -1, width - 1], [1, 0, 0]])  # (x, y) came from (width - 1 - y, x)
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE), back
    matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), -degrees, 1)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    matrix[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    return (cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE),
            cv2.invertAffineTransform(matrix))


def test_every_face_of_the_photos_is_found_once(fk, real_photos):
    """One face per photo; gus.jpg's busy background gave Haar five false faces."""
    for path in real_photos:
        faces = fk(path)
        assert len(faces) == 1 and not faces[0].too_small, path.name
        assert 0.5 <= faces[0].score <= 1 and abs(faces[0].angle) < 20


@pytest.mark.parametrize("degrees", [25, -25, 40, -40, 90, -90])
def test_turned_faces_are_found_and_their_keypoints_turn_back(fk, real_photos, degrees):
    """Haar found none of these; the crop is cut upright, so the keypoints are those of the upright photo."""
    for path in real_photos:
        image = read_colour(path)
        upright = fk(image, channels="bgr")[0].as_array()
        inter_ocular = np.linalg.norm(upright[0] - upright[1])
        photo, back = turned(image, degrees)
        faces = fk(photo, channels="bgr")
        assert len(faces) == 1, f"{path.name} turned by {degrees}: {len(faces)} faces"
        points = faces[0].as_array() @ back[:, :2].T + back[:, 2]
        error = np.linalg.norm(points - upright, axis=1).mean() / inter_ocular
        assert error < 0.05, f"{path.name} turned by {degrees}: {error:.3f} of the inter-ocular distance"
        assert abs((faces[0].angle - degrees + 180) % 360 - 180) < 25  # the face's angle turned with it


def test_small_copies_of_the_photos_still_get_keypoints(fk, real_photos):
    """Each photo shrunk until its face box is about 28 px: found, with keypoints, where the large one has them."""
    for path in real_photos:
        image = read_colour(path)
        [face] = fk(image, channels="bgr")
        scale = 28 / face.box[2]
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = fk(small, channels="bgr")
        assert len(found) == 1 and not found[0].too_small, path.name
        expected = (face.as_array() + 0.5) * scale - 0.5
        inter_ocular = np.linalg.norm(expected[0] - expected[1])
        assert np.linalg.norm(found[0].as_array() - expected, axis=1).mean() < 0.15 * inter_ocular, path.name


def test_no_face_in_blank_or_noise_images():
    detector = BlazeFaceDetector()
    rng = np.random.default_rng(0)
    for image in (np.zeros((480, 640, 3), np.uint8), rng.integers(0, 256, (300, 500, 3), dtype=np.uint8),
                  np.full((1, 1, 3), 128, np.uint8), np.zeros((40, 2000), np.uint8)):
        assert detector(image) == []


def test_the_detector_goes_to_worker_processes(real_photos):
    """Pickled for workers: ONNX Runtime's sessions are built again, the settings kept."""
    detector = BlazeFaceDetector(min_size=50, threshold=0.6)
    copy = pickle.loads(pickle.dumps(detector))
    assert (copy.min_size, copy.threshold) == (50, 0.6)
    image = read_colour(real_photos[0])
    assert [d.box for d in copy(image)] == [d.box for d in detector(image)]


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 3), st.integers(16, 300), st.integers(16, 300), st.floats(0.1, 4),
       st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=8, max_size=8))
def test_unturn_undoes_rot90(turns, height, width, scale, fractions):
    """A detection found in np.rot90(view, turns) comes back where the same pixels are in the image."""
    points = np.array(fractions) * (width, height)  # edge coordinates in the view (before turning)
    turned_points = points.copy()
    h, w = height, width
    for _ in range(turns):  # rot90 turns counter-clockwise: (x, y) goes to (y, w - x) in a (w, h) image
        turned_points = np.column_stack([turned_points[:, 1], w - turned_points[:, 0]])
        h, w = w, h
    low, high = turned_points[:2].min(axis=0), turned_points[:2].max(axis=0)
    face = Detection((*low, *(high - low)), 0.9, turned_points[2:], SHORT.framing)
    back = _unturn(face, turns, (height, width, 3), scale)
    np.testing.assert_allclose(back.points, points[2:] / scale, atol=1e-6)
    np.testing.assert_allclose(back.box[:2], points[:2].min(axis=0) / scale, atol=1e-6)


def test_anchors_match_mediapipe_layout():
    """MediaPipe's counts at the trained sizes; centres in the network's output order (row by row)."""
    assert len(SHORT.anchors(128, 128)) == 896 and len(FULL.anchors(192, 192)) == 2304
    full = FULL.anchors(64, 96)
    assert full[0].tolist() == [2, 2] and full[1].tolist() == [6, 2] and full[24].tolist() == [2, 6]
    short = SHORT.anchors(32, 32)  # 4x4 cells of stride 8 with 2 anchors, then 2x2 of stride 16 with 6
    assert len(short) == 4 * 4 * 2 + 2 * 2 * 6 and short[0].tolist() == short[1].tolist() == [4, 4]
    assert short[32].tolist() == [8, 8] and short[38].tolist() == [24, 8]


def test_a_confident_upright_face_keeps_its_upright_points(fk):
    """The sample photo at 360 px on a black 640x480 canvas: the full-range net saw it upright (0.97), but a
    turned view of the short-range one (0.65) beat the upright short-range view (0.55) and took over, turning
    the crop by 57 degrees; the model then saw no face and dropped it."""
    from facekeypoints.shipped import sample_image

    photo = cv2.copyMakeBorder(cv2.resize(read_colour(sample_image()), (360, 360)), 60, 60, 140, 140,
                               cv2.BORDER_CONSTANT)
    [face] = fk(photo, channels="bgr")
    assert abs(face.angle) < 10 and not face.too_small
