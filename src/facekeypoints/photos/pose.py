"""Head pose from the 15 keypoints: the rotation that best takes a 3D model of the same points onto them.

Angles in degrees, of the head against the line from the camera to it (so that a face looking straight into the
camera has yaw = pitch = 0 wherever it is in the photo):
- roll: the in-image turn, clockwise on screen positive, as `Face.angle` (so roll is about the eye line's angle);
- yaw: positive when the face turns towards the image's right (the subject's own left);
- pitch: positive when the face looks up.
They compose as Rz(roll) Ry(-yaw) Rx(-pitch) in OpenCV's camera frame (x right, y down, z away from the camera)
turned onto the line of sight: first the nod, then the turn aside, last the turn in the image, so that turning a
photo in-plane changes roll by as much and leaves yaw and pitch alone.

The camera: photos carry no intrinsics, so the focal length is the image's long side (a field of view of 53°
across it, a phone's or webcam's) and the principal point its centre; no lens distortion. A wrong guess bends the
angles of turned faces by a few degrees (docs/head-pose.md: half or twice the focal length); measuring them
against the line of sight rather than the optical axis keeps a face near a photo's edge from taking the angle
between the two as its own turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..keypoints import KAGGLE_15, KEYPOINT_NAMES, KeypointSet

# The 15 keypoints in 3D, in centimetres: x to the subject's left, y up, z out of the face. Printed by
# `python tools/pose_model.py`. The depths (z) are MediaPipe's canonical face model's (The MediaPipe Authors,
# Apache-2.0; the mean face of its face mesh), at the vertices the contours of the mediapipe 0.10.21 wheel give
# (an eye centre: the mean of its eye's contour; a corner: that contour's vertex nearest to or farthest from the
# midline), read from the canonical_face_model.obj in the npm package mind-ar 1.2.5 (the wheel does not ship it).
# The front view (x, y) is Kaggle's mean face (its 1655 training faces with all 15 points, made symmetric) scaled
# onto MediaPipe's: the points are where Kaggle's labellers, and so the keypoint model, put them (MediaPipe's
# eyebrow ends and nose tip are higher; its front view would call Kaggle's mean face pitched down by 8 degrees).
MODEL = np.array([  # x to the subject's left, y up, z out of the face; centimetres
    [3.224, 2.823, 3.626],  # left_eye_center: z of mean of 16 vertices
    [-3.224, 2.823, 3.626],  # right_eye_center: z of mean of 16 vertices
    [1.998, 2.660, 3.758],  # left_eye_inner_corner: z of vertex 362
    [4.497, 2.668, 3.173],  # left_eye_outer_corner: z of vertex 263
    [-1.998, 2.660, 3.758],  # right_eye_inner_corner: z of vertex 133
    [-4.497, 2.668, 3.173],  # right_eye_outer_corner: z of vertex 33
    [1.485, 4.170, 5.211],  # left_eyebrow_inner_end: z of mean of 2 vertices [285, 336]
    [5.626, 4.042, 3.097],  # left_eyebrow_outer_end: z of mean of 2 vertices [300, 276]
    [-1.485, 4.170, 5.211],  # right_eyebrow_inner_end: z of mean of 2 vertices [55, 107]
    [-5.626, 4.042, 3.097],  # right_eyebrow_outer_end: z of mean of 2 vertices [70, 46]
    [0.000, -0.744, 7.587],  # nose_tip: z of vertex 4
    [2.682, -4.063, 4.284],  # mouth_left_corner: z of vertex 291
    [-2.682, -4.063, 4.284],  # mouth_right_corner: z of vertex 61
    [0.000, -3.478, 5.980],  # mouth_center_top_lip: z of vertex 0
    [0.000, -5.221, 5.535],  # mouth_center_bottom_lip: z of vertex 17
])
# The model in OpenCV's camera frame when the face looks straight into the camera, upright: y down, z away.
FRONTAL = MODEL * (1, -1, -1)
# The face's own axes in that frame: towards its left (the image's right when frontal), up, and forward.
AXES = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])
# A pose whose model, projected, misses the keypoints by more than this (RMS, in eye distances of the model's
# projection) explains them badly: none is given. On the 1655 Kaggle training faces with all 15 points: median
# 0.071, largest 0.214.
MAX_MISFIT = 0.25


@dataclass(frozen=True)
class Pose:
    """A head's rotation against the camera, in degrees (see the module's docstring for the conventions)."""

    yaw: float  # + : the face turns towards the image's right
    pitch: float  # + : the face looks up
    roll: float  # + : the face is turned clockwise on screen, as `Face.angle`

    def to_dict(self) -> dict[str, float]:
        return {"yaw": round(self.yaw, 1), "pitch": round(self.pitch, 1), "roll": round(self.roll, 1)}

    @property
    def matrix(self) -> np.ndarray:
        """The rotation (3, 3) from the frontal model (`FRONTAL`) to the camera's frame."""
        return rotation(self.yaw, self.pitch, self.roll)

    def axes(self) -> np.ndarray:
        """The face's left, up and forward unit axes as seen on screen (3, 2): (x, y) image directions, shortened
        by how much each points at or away from the camera (the forward axis of a frontal face is a point)."""
        return (self.matrix @ AXES.T).T[:, :2]


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rz(roll) Ry(-yaw) Rx(-pitch), angles in degrees."""
    a, b, c = np.radians([roll, -yaw, -pitch])
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    return rz @ ry @ rx


def angles(matrix: np.ndarray) -> Pose:
    """The `Pose` of a rotation matrix (the inverse of `rotation`; yaw in [-90, 90])."""
    roll = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    yaw = math.degrees(math.asin(float(np.clip(matrix[2, 0], -1, 1))))
    pitch = -math.degrees(math.atan2(matrix[2, 1], matrix[2, 2]))
    return Pose(yaw, pitch, roll)


def camera(image_size: tuple[int, int], focal: float | None = None) -> np.ndarray:
    """The camera matrix (3, 3) assumed for an image of (width, height): focal length its long side unless given,
    principal point its centre (pixel centres at whole numbers, as keypoints are)."""
    width, height = image_size
    f = float(max(width, height)) if focal is None else float(focal)
    return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])


def sight(direction: np.ndarray) -> np.ndarray:
    """The shortest rotation (3, 3) that turns the camera's optical axis onto `direction` (3,)."""
    d = np.asarray(direction, np.float64).ravel() / np.linalg.norm(direction)
    axis = np.cross((0.0, 0.0, 1.0), d)
    turn = math.atan2(np.linalg.norm(axis), d[2])
    return cv2.Rodrigues(axis / np.linalg.norm(axis) * turn)[0] if turn > 0 else np.eye(3)


def project(pose: Pose, image_size: tuple[int, int], distance: float, centre: tuple[float, float] | None = None,
            focal: float | None = None) -> np.ndarray:
    """Where the model's 15 points fall (15, 2) in an image of `image_size` for a head at `pose`, `distance`
    centimetres in front of the camera, its model's origin seen at pixel `centre` (default: the image's centre)."""
    k = camera(image_size, focal)
    cx, cy = (k[0, 2], k[1, 2]) if centre is None else centre
    shift = distance * np.array([(cx - k[0, 2]) / k[0, 0], (cy - k[1, 2]) / k[1, 1], 1.0])
    turn = sight(shift) @ pose.matrix
    points, _ = cv2.projectPoints(FRONTAL, cv2.Rodrigues(turn)[0], shift, k, None)
    return points.reshape(-1, 2)


def head_pose(keypoints: np.ndarray, image_size: tuple[int, int], focal: float | None = None) -> Pose | None:
    """The head's pose from its 15 keypoints (15, 2) in Kaggle's order, pixels of an image of `image_size`
    (width, height); `focal` in pixels (default: the long side). None where a keypoint is missing or no pose of
    the model explains them (misfit above MAX_MISFIT, face behind the camera or turned away from it)."""
    points = np.asarray(keypoints, np.float64).reshape(len(KEYPOINT_NAMES), 2)
    if not np.isfinite(points).all():
        return None
    k = camera(image_size, focal)
    # SQPnP finds the global least-squares pose without a starting guess; Levenberg-Marquardt then minimises the
    # reprojection error itself, the right measure for noise in the image
    try:
        found, rvec, tvec = cv2.solvePnP(FRONTAL, points, k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # SQPnP refuses points that (nearly) coincide: no head makes those
        return None
    if not found or tvec[2, 0] <= 0:
        return None
    rvec, tvec = cv2.solvePnPRefineLM(FRONTAL, points, k, None, rvec, tvec)
    projected = cv2.projectPoints(FRONTAL, rvec, tvec, k, None)[0].reshape(-1, 2)
    misfit = np.sqrt(np.mean(np.sum((projected - points) ** 2, axis=1))) / np.linalg.norm(projected[0] - projected[1])
    pose = angles(sight(tvec).T @ cv2.Rodrigues(rvec)[0])
    if tvec[2, 0] <= 0 or not misfit <= MAX_MISFIT or abs(pose.pitch) >= 90:
        return None
    return pose


def pose_of(keypoints: np.ndarray, keypoint_set: KeypointSet, image_size: tuple[int, int],
            focal: float | None = None) -> Pose | None:
    """`head_pose` for the keypoints (K, 2) of any keypoint set that has Kaggle's 15 points, by name or alias (a
    68-point model's eye centres are its eyes' means); None for a set without them."""
    if keypoint_set.names == KAGGLE_15.names:
        return head_pose(keypoints, image_size, focal)
    if not keypoint_set.has(*KEYPOINT_NAMES):
        return None
    return head_pose(keypoint_set.lookup(keypoints, KEYPOINT_NAMES), image_size, focal)
