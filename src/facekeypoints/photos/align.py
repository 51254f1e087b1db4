"""Aligned face crops, as face recognition models take them: the similarity transform (turn, uniform scale,
shift) that puts the eye centres, nose tip and mouth corners where the ArcFace/InsightFace template has them.

The template is InsightFace's `arcface_dst` for 112x112 crops (`insightface/utils/face_align.py`), in pixels
with pixel centres at whole numbers, as `cv2.warpAffine` and our keypoints count them. Its points, in order,
and the Kaggle keypoint each one is (Kaggle's left/right are the subject's; the template's are the image's):

    (38.2946, 51.6963)  eye on the image left         right_eye_center
    (73.5318, 51.5014)  eye on the image right        left_eye_center
    (56.0252, 71.7366)  nose tip                      nose_tip
    (41.5493, 92.3655)  mouth corner on image left    mouth_right_corner
    (70.7299, 92.2041)  mouth corner on image right   mouth_left_corner

Other sizes scale the template about the crop's edges, (p + 0.5) * size / 112 - 0.5: a 224-px crop is the
112-px one at twice the resolution. The transform is the least-squares similarity (`fit_similarity`) from
the face's five keypoints to the template, as InsightFace fits it, so the crop is upright whatever the head's
roll; being a similarity it is a `Crop` (centre, side, angle), cut by `Crop.cut` like the model's crops, in the
image's own channels.
"""

from __future__ import annotations

import math
from typing import Mapping

import cv2
import numpy as np

from .crops import Crop, fit_similarity

ALIGNED_SIZE = 112  # the side of InsightFace's crops, the template's own size
TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                         [70.7299, 92.2041]])
TEMPLATE_KEYPOINTS = ("right_eye_center", "left_eye_center", "nose_tip", "mouth_right_corner", "mouth_left_corner")


def template(size: int = ALIGNED_SIZE) -> np.ndarray:
    """The template's five points (5, 2) in a `size` x `size` crop (pixel centres at whole numbers)."""
    return (TEMPLATE_112 + 0.5) * (size / ALIGNED_SIZE) - 0.5


def aligned_crop(keypoints: Mapping[str, tuple[float, float]], size: int = ALIGNED_SIZE) -> Crop:
    """The `Crop` whose `size` x `size` cut puts a face's keypoints (name -> (x, y) image pixels, at least the
    five of `TEMPLATE_KEYPOINTS`) on the template with the least squared error."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a whole number of pixels, 1 or more, got {size!r}")
    points = np.array([keypoints[name] for name in TEMPLATE_KEYPOINTS], np.float64)
    if not np.isfinite(points).all():
        raise ValueError(f"cannot align a face without all of {', '.join(TEMPLATE_KEYPOINTS)}")
    to_photo = cv2.invertAffineTransform(fit_similarity(points, template(size)))  # the crop's pixels -> the image's
    (a, b), shift = to_photo[:, 0], to_photo[:, 2]
    angle = math.degrees(math.atan2(b, a))
    crop = Crop((0.0, 0.0), math.hypot(a, b) * size, angle)
    # Crop.to_photo_matrix puts the crop's centre at `centre`: move it so that the shifts agree
    offset = shift - crop.to_photo_matrix(size)[:, 2]
    crop.centre = (float(offset[0]), float(offset[1]))
    return crop
