"""Head pose (`photos.pose`): its conventions checked on projections built here, independently of the module
(yaw towards the image's right, pitch up, roll clockwise on screen); its accuracy on the model projected at known
angles with 1 px noise (<= 2 degrees for |yaw|, |pitch| <= 40); roll on the shared photos turned in-plane (the
turn within 3 degrees); the JSON record and the drawn axis."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_blazeface import turned

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.keypoints import FLIP_PERMUTATION, KEYPOINT_NAMES
from facekeypoints.photos import BlazeFaceDetector, find_faces, read_colour
from facekeypoints.photos.pose import MODEL, Pose, head_pose, project
from facekeypoints.photos.results import AXIS_COLOURS

SIZE = (640, 480)
EYES = float(np.linalg.norm(MODEL[0] - MODEL[1]))  # centimetres
NOSE = KEYPOINT_NAMES.index("nose_tip")


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


def distance_for(eyes_px: float) -> float:
    """How far from the camera (cm) a face has its eyes `eyes_px` apart in a SIZE image (focal: its long side)."""
    return max(SIZE) * EYES / eyes_px


def errors(found: Pose, truth: Pose) -> np.ndarray:
    diff = np.array([found.yaw - truth.yaw, found.pitch - truth.pitch, found.roll - truth.roll])
    return np.abs((diff + 180) % 360 - 180)


def seen(points3d: np.ndarray, distance: float = 40.0) -> np.ndarray:
    """A pinhole picture (15, 2) of points in a camera frame of its own (x right, y down, z away), centred in a
    SIZE image, focal length its long side: written out here, not taken from the module."""
    z = points3d[:, 2] + distance
    return np.column_stack([points3d[:, 0] / z, points3d[:, 1] / z]) * max(SIZE) + (np.array(SIZE) - 1) / 2


def frontal() -> np.ndarray:
    """The model looking into the camera, upright: x to the image's right, y down, the nose towards the camera."""
    return MODEL * (1, -1, -1)


def test_the_model_is_a_face_seen_from_the_front():
    """Left points on the image's right, eyes above the nose above the mouth, the nose nearest the camera, and
    mirror symmetric."""
    x, y = frontal()[:, 0], frontal()[:, 1]
    assert x[KEYPOINT_NAMES.index("left_eye_center")] > 0 > x[KEYPOINT_NAMES.index("right_eye_center")]
    assert y[0] < y[NOSE] < y[KEYPOINT_NAMES.index("mouth_center_top_lip")] < y[-1]
    assert np.argmin(frontal()[:, 2]) == NOSE
    np.testing.assert_allclose(MODEL[list(FLIP_PERMUTATION)] * (-1, 1, 1), MODEL, atol=1e-9)


@pytest.mark.parametrize("degrees", [-30, 15, 35])
def test_yaw_is_positive_when_the_face_turns_towards_the_image_right(degrees):
    t = math.radians(degrees)
    p = frontal()
    turned3d = np.column_stack([p[:, 0] * math.cos(t) - p[:, 2] * math.sin(t), p[:, 1],
                                p[:, 0] * math.sin(t) + p[:, 2] * math.cos(t)])
    points = seen(turned3d)
    assert np.sign(points[NOSE, 0] - points[:2, 0].mean()) == np.sign(degrees)  # the nose went that way
    pose = head_pose(points, SIZE)
    assert abs(pose.yaw - degrees) < 0.5 and abs(pose.pitch) < 0.5 and abs(pose.roll) < 0.5


@pytest.mark.parametrize("degrees", [-30, 15, 35])
def test_pitch_is_positive_when_the_face_looks_up(degrees):
    t = math.radians(degrees)
    p = frontal()
    turned3d = np.column_stack([p[:, 0], p[:, 1] * math.cos(t) + p[:, 2] * math.sin(t),
                                -p[:, 1] * math.sin(t) + p[:, 2] * math.cos(t)])
    points = seen(turned3d)
    def below(picture):  # how far the nose is below the eyes
        return picture[NOSE, 1] - picture[:2, 1].mean()

    assert np.sign(below(seen(frontal())) - below(points)) == np.sign(degrees)  # the nose rose
    pose = head_pose(points, SIZE)
    assert abs(pose.pitch - degrees) < 0.5 and abs(pose.yaw) < 0.5 and abs(pose.roll) < 0.5


@pytest.mark.parametrize("degrees", [-150, -20, 40, 90])
def test_roll_is_the_turn_on_screen_clockwise(degrees):
    """Clockwise on screen (y down) as `Crop.angle`: the left eye, on the image's right, goes down first."""
    points = seen(frontal())
    t = math.radians(degrees)
    centre = points.mean(axis=0)
    turned2d = (points - centre) @ np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]).T + centre
    if 0 < degrees < 90:
        assert turned2d[0, 1] > turned2d[1, 1]  # the left eye below the right one: turned clockwise
    pose = head_pose(turned2d, SIZE)
    assert abs(pose.roll - degrees) < 0.5 and abs(pose.yaw) < 1 and abs(pose.pitch) < 1


def test_the_drawn_axes_point_where_the_face_does():
    """Left, up and forward as seen on screen: forward is the nose's way, a point when the face looks at us."""
    np.testing.assert_allclose(Pose(0, 0, 0).axes(), [[1, 0], [0, -1], [0, 0]], atol=1e-12)
    assert Pose(30, 0, 0).axes()[2, 0] > 0.4 and Pose(0, 30, 0).axes()[2, 1] < -0.4  # right; up
    np.testing.assert_allclose(Pose(0, 0, 90).axes()[0], [0, 1], atol=1e-12)  # clockwise: left axis points down


def test_known_angles_are_found_within_2_degrees_with_1px_noise():
    """Every yaw and pitch in -40..40 (step 10), four rolls, at the centre and off it; eyes 110 px apart in 640x480
    (a face about 250 px wide): `python benchmarks/pose.py` gives the other sizes."""
    rng = np.random.default_rng(1)
    worst = np.zeros(3)
    for yaw, pitch, roll, centre in itertools.product(range(-40, 41, 10), range(-40, 41, 10), (-120, 0, 45, 180),
                                                      ((319.5, 239.5), (180, 340))):
        truth = Pose(yaw, pitch, roll)
        points = project(truth, SIZE, distance_for(110), centre)
        worst = np.maximum(worst, errors(head_pose(points + rng.normal(0, 1, points.shape), SIZE), truth))
    assert (worst <= 2).all(), f"worst yaw, pitch, roll error {worst.round(2)}"
    assert (worst > 0.3).all()  # the noise is there


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.floats(-40, 40), st.floats(-40, 40), st.floats(-180, 180), st.floats(0.25, 0.75), st.floats(0.3, 0.7),
       st.floats(110, 160), st.integers(0, 2**32 - 1))
def test_any_pose_within_40_degrees_is_found_within_2(yaw, pitch, roll, fx, fy, eyes_px, seed):
    truth = Pose(yaw, pitch, roll)
    points = project(truth, SIZE, distance_for(eyes_px), (fx * SIZE[0], fy * SIZE[1]))
    noisy = points + np.random.default_rng(seed).normal(0, 1, points.shape)
    assert (errors(head_pose(noisy, SIZE), truth) <= 2).all()


def test_no_pose_for_points_no_face_makes():
    rng = np.random.default_rng(0)
    points = project(Pose(0, 0, 0), SIZE, distance_for(110))
    assert head_pose(points, SIZE) is not None
    missing = points.copy()
    missing[3] = np.nan
    assert head_pose(missing, SIZE) is None
    for _ in range(20):  # scattered points: no head explains them
        assert head_pose(rng.uniform(100, 300, (15, 2)), SIZE) is None
    for spread in (0.0, 1e-9):  # all at one place (a model's collapsed answer): SQPnP itself raises on these
        assert head_pose(np.full((15, 2), 200.0) + rng.normal(0, spread, (15, 2)), SIZE) is None


@pytest.mark.parametrize("degrees", [25, -25, 40, -40, 90])
def test_roll_of_a_turned_photo_is_the_turn(fk, real_photos, degrees):
    """The keypoints of a turned photo give the upright one's roll plus the turn (within 3 degrees; measured
    0.0-1.6), and roll is close to the eye line's angle (roll takes all 15 points)."""
    for path in real_photos:
        image = read_colour(path)
        upright = fk(image, channels="bgr")[0]
        face = fk(turned(image, degrees)[0], channels="bgr")[0]
        error = (face.pose.roll - upright.pose.roll - degrees + 180) % 360 - 180
        assert abs(error) <= 3, f"{path.name} turned by {degrees}: roll off by {error:.2f}"
        (rx, ry), (lx, ly) = face.keypoints["right_eye_center"], face.keypoints["left_eye_center"]
        eye_line = math.degrees(math.atan2(ly - ry, lx - rx))  # y down: clockwise positive
        assert abs((face.pose.roll - eye_line + 180) % 360 - 180) < 5, path.name


def test_found_knows_the_image_size(real_photos):
    image = read_colour(real_photos[0])
    found = find_faces(np.ascontiguousarray(image[:, : image.shape[1] * 2 // 3]), BlazeFaceDetector())
    assert found.size == (image.shape[1] * 2 // 3, image.shape[0])


def test_pose_in_json_and_drawn(fk, real_photos, tmp_path, capsys):
    photo = real_photos[0]
    face = fk(photo)[0]
    assert face.to_dict()["pose"] == {k: round(getattr(face.pose, k), 1) for k in ("yaw", "pitch", "roll")}
    too_small = dataclasses.replace(face, keypoints=None, pose=None)
    assert too_small.to_dict()["pose"] is None
    out = tmp_path / "faces.json"
    assert main(["predict", str(photo), "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())[0]["faces"][0]["pose"] == face.to_dict()["pose"]

    # the axes leave the nose tip in their colours, and only a face with a pose gets them
    x, y, w, h = face.box
    nose = np.array(face.keypoints["nose_tip"])
    image = np.zeros((max(y + 2 * h, 600), max(x + 2 * w, 600), 3), np.uint8)
    drawn, plain = face.draw(image.copy()), dataclasses.replace(face, pose=None).draw(image.copy())
    for axis, colour in zip(face.pose.axes()[:2], AXIS_COLOURS):  # forward is short on a face looking at us
        px, py = np.round(nose + axis * w * 0.4).astype(int)
        assert np.abs(drawn[py, px].astype(int) - colour).max() < 60, colour
        assert np.abs(plain[py, px].astype(int) - colour).max() > 60
