"""The 15 keypoints of the Kaggle "Facial Keypoints Detection" competition, in Kaggle's column order.

"left" and "right" are the subject's: the left eye sits on the image's right-hand side.
This module is the one place where names, columns and left/right pairs are defined.
"""

from __future__ import annotations

IMAGE_SIZE = 96  # Kaggle's faces are 96x96 grey images

KEYPOINT_NAMES: tuple[str, ...] = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)

# Where each keypoint lies in Kaggle's crops on average: the mean of the 15-keypoint faces' labels in the shared
# training.csv (1655 faces; tests/test_real_data.py checks it). Crops fitted to a face's keypoints put them here.
MEAN_SHAPE: tuple[tuple[float, float], ...] = (
    (66.23, 36.82), (29.64, 37.07), (59.27, 37.84), (73.39, 37.61), (36.59, 37.91), (22.35, 38.05), (56.13, 29.20),
    (79.61, 29.62), (39.28, 29.41), (15.75, 30.44), (47.97, 57.19), (63.44, 75.90), (33.00, 76.15), (48.10, 72.71),
    (48.18, 82.60))

# The 30 coordinate columns of training.csv and the FeatureName values of IdLookupTable.csv.
COORDINATE_COLUMNS: tuple[str, ...] = tuple(f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in "xy")
COLUMN_INDEX: dict[str, tuple[int, int]] = {
    col: (i // 2, i % 2) for i, col in enumerate(COORDINATE_COLUMNS)
}  # column -> (keypoint index, axis 0=x 1=y)

# Index pairs that swap under a horizontal flip of the image.
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (KEYPOINT_NAMES.index(left), KEYPOINT_NAMES.index(left.replace("left", "right")))
    for left in KEYPOINT_NAMES
    if "left" in left
)
# FLIP_PERMUTATION[i] is the keypoint that i becomes in the mirrored image.
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    next((b if i == a else a for a, b in FLIP_PAIRS if i in (a, b)), i) for i in range(NUM_KEYPOINTS)
)

# Most training images carry only these four keypoints (a second collection with its own conventions,
# see the data README); the rest carry all 15.
PARTIAL_KEYPOINTS: tuple[int, ...] = tuple(
    KEYPOINT_NAMES.index(n) for n in ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
)


# The mask (labelled or requested keypoints) of a face of the 4-keypoint collection.
FOUR_POINT_PATTERN: tuple[bool, ...] = tuple(k in PARTIAL_KEYPOINTS for k in range(NUM_KEYPOINTS))


def four_point_faces(mask):
    """bool (N,): which rows of a (N, 15) labelled/requested mask are exactly the 4-keypoint convention's."""
    import numpy as np

    return (np.asarray(mask, bool) == np.array(FOUR_POINT_PATTERN)).all(axis=1)


def pattern_name(count: int) -> str:
    """Name of an image's label pattern from the number of its labelled keypoints."""
    if count == NUM_KEYPOINTS:
        return "15 keypoints"
    if count == len(PARTIAL_KEYPOINTS):
        return "4 keypoints"
    return "other"
