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
from facekeypoints.photos.blazeface import FACE_PX, FULL, LARGEST_PX, SHORT, VIEW, _mapped, _window
from facekeypoints.shipped import sample_image


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


@pytest.mark.parametrize("degrees", [25, -25, 40, -40, 90, -90, 135, -135, 180])
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


def _pasted_turned(photo: np.ndarray, face: Detection, canvas: np.ndarray, px: float, degrees: float, centre
                   ) -> np.ndarray:
    """The photo's face (a square of 1.6 box sides about it, in a soft round mask) pasted into `canvas` with its
    box `px` wide, turned by `degrees` clockwise on screen about `centre`."""
    x, y, w, _ = face.box
    matrix = cv2.getRotationMatrix2D((x + w / 2 - 0.5, y + w / 2 - 0.5), -degrees, px / w)
    matrix[:, 2] += np.array(centre) - (x + w / 2, y + w / 2)
    size = canvas.shape[1::-1]
    source = cv2.GaussianBlur(photo, (0, 0), 0.4 * w / px) if px < w else photo  # no aliasing as it shrinks
    warped = cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:photo.shape[0], 0:photo.shape[1]]
    radius = np.hypot(xx - (x + w / 2), yy - (y + w / 2)) / (0.8 * w)
    mask = cv2.warpAffine(np.clip((1 - radius) / 0.15, 0, 1).astype(np.float32), matrix, size)[..., None]
    return (canvas * (1 - mask) + warped * mask).astype(np.uint8)


# Sideways faces the scan saw at an angle 45 degrees or more off: each window showed them turned, and they were
# missed until a last window turned by the angle they were seen at (photo, background, box px, degrees, centre).
SIDEWAYS = [("astronaut.png", (1280, 720), 64, 90, (896, 288)), ("astronaut.png", (1280, 720), 213, 270, (576, 360))]


@pytest.mark.parametrize("name, background, px, degrees, centre", SIDEWAYS)
def test_a_face_seen_turned_in_every_window_is_found(real_photos, name, background, px, degrees, centre):
    photos = {path.name: path for path in real_photos}
    if name not in photos or "gus.jpg" not in photos:
        pytest.skip(f"{name} and gus.jpg are needed")
    detector = BlazeFaceDetector()
    photo = read_colour(photos[name])
    face = max(detector(photo), key=lambda f: f.box[2])
    street = read_colour(photos["gus.jpg"])  # its street, cut to the background's size
    scale = max(background[0] / street.shape[1], background[1] / street.shape[0])
    canvas = cv2.resize(street, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = canvas[:background[1], :background[0]]
    found = detector(_pasted_turned(photo, face, canvas, px, degrees, centre))
    hits = [f for f in found if abs(f.box[0] + f.box[2] / 2 - centre[0]) < px / 2
            and abs(f.box[1] + f.box[3] / 2 - centre[1]) < px / 2]
    assert hits, f"{name}'s face at {px} px turned by {degrees}: {[f.box for f in found]}"
    assert abs((hits[0].angle - face.angle - degrees + 180) % 360 - 180) < 25  # its crop is cut upright


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
@given(st.floats(10, 900), st.floats(-180, 180), st.floats(0.2, 0.8), st.floats(0.2, 0.8),
       st.lists(st.tuples(st.floats(0, VIEW), st.floats(0, VIEW)), min_size=6, max_size=6))
def test_a_turned_window_maps_back_to_the_image(side, angle, fx, fy, window_points):
    """A window turned about a point of the image: its pixels are the image's where its map says (the shrink
    of large windows included), and a detection in it maps back by the same map."""
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (700, 900, 3), dtype=np.uint8), (0, 0), 8)
    centre = (fx * 900, fy * 700)
    window, back = _window(image, centre, side, angle)
    assert window.shape == (VIEW, VIEW, 3)
    u, v = 40, 90  # a window pixel, and the image pixel its centre falls on
    x, y = back[:, :2] @ (u + 0.5, v + 0.5) + back[:, 2] - 0.5
    if 0 <= x < 899 and 0 <= y < 699:
        assert abs(int(window[v, u, 0]) - int(image[int(round(y)), int(round(x)), 0])) <= 6
    assert np.isclose(np.sqrt(abs(np.linalg.det(back[:, :2]))), side / VIEW)
    points = np.array(window_points)
    face = Detection((50.0, 40.0, 30.0, 30.0), 0.9, points, SHORT.framing)
    mapped = _mapped(face, back, side / VIEW)
    np.testing.assert_allclose(mapped.points, points @ back[:, :2].T + back[:, 2])
    centre = np.add(mapped.box[:2], np.divide(mapped.box[2:], 2))
    np.testing.assert_allclose(centre, back[:, :2] @ (65, 55) + back[:, 2])


@pytest.mark.parametrize("shape, min_size", [((480, 640), None), ((1080, 1920), None), ((225, 150), None),
                                             ((3000, 4000), 30), ((40, 2000), None), ((1, 1), None)])
def test_every_face_size_is_in_the_band_of_one_scan(shape, min_size):
    """From the smallest face asked for up to the whole image, each face size is FACE_PX-LARGEST_PX pixels at
    one of the scales (the last is the whole image in one VIEW-pixel view): no size falls between two."""
    from facekeypoints.photos import smallest_face

    scales = BlazeFaceDetector(min_size=min_size).scales(shape)
    assert scales[-1] == VIEW / max(shape) and scales == sorted(scales, reverse=True)
    smallest = smallest_face(shape, min_size)
    for face in np.geomspace(max(smallest, FACE_PX / scales[0]), max(max(shape), smallest), 200):
        assert any(FACE_PX - 1e-6 <= face * scale <= LARGEST_PX + 1e-6 for scale in scales) or (
            face > max(shape)), face  # (a 1x1 image: its smallest face is larger than it)
    if smallest * scales[0] > FACE_PX + 1e-6:  # only where the image is too small to enlarge further
        assert scales[0] in (2.0, VIEW / max(shape))


def test_anchors_match_mediapipe_layout():
    """MediaPipe's counts at the trained sizes; centres in the network's output order (row by row)."""
    assert len(SHORT.anchors(128, 128)) == 896 and len(FULL.anchors(192, 192)) == 2304
    full = FULL.anchors(64, 96)
    assert full[0].tolist() == [2, 2] and full[1].tolist() == [6, 2] and full[24].tolist() == [2, 6]
    short = SHORT.anchors(32, 32)  # 4x4 cells of stride 8 with 2 anchors, then 2x2 of stride 16 with 6
    assert len(short) == 4 * 4 * 2 + 2 * 2 * 6 and short[0].tolist() == short[1].tolist() == [4, 4]
    assert short[32].tolist() == [8, 8] and short[38].tolist() == [24, 8]


def test_a_confident_upright_face_keeps_its_upright_points(fk):
    """The sample photo at 360 px on a black 640x480 canvas: once, a turned view of the short-range net (0.65)
    beat the upright one (0.55) and took over, turning the crop by 57 degrees; the model then saw no face and
    dropped it."""
    from facekeypoints.shipped import sample_image

    photo = cv2.copyMakeBorder(cv2.resize(read_colour(sample_image()), (360, 360)), 60, 60, 140, 140,
                               cv2.BORDER_CONSTANT)
    [face] = fk(photo, channels="bgr")
    assert abs(face.angle) < 10 and not face.too_small


def test_the_detector_takes_an_image_of_any_numeric_type():
    """Inputs are turned to RGB by OpenCV where they are uint8; a float or int16 image (which OpenCV's colour
    conversion refuses) is found all the same."""
    image = read_colour(sample_image())
    [face] = BlazeFaceDetector()(image)
    for kind in (np.float64, np.int16):
        [other] = BlazeFaceDetector()(image.astype(kind))
        assert np.allclose(other.box, face.box, atol=2) and abs(other.score - face.score) < 0.01
