"""Head pose (`photos.pose.head_pose`) against known angles: the numbers in docs/head-pose.md (~30 s).

    python benchmarks/pose.py [--photos ../shared/data/photos] [--draws 5]

1. Synthetic: the 3D model projected into a 640x480 image at every yaw and pitch in -40..40 (step 10), rolls
   -90, -30, 0, 45, 180, at the image's centre and near two corners, with 1 px Gaussian noise (--draws times
   each, seeded), for faces whose eyes are 60, 80, 110 and 140 px apart; the worst and RMS error of each angle.
2. The camera: the same grid (eyes 110 px apart, no noise) seen through a lens of half and twice the assumed
   focal length (the long side); the worst error of each angle when solved with the assumed one.
3. The shared photos turned in-plane by +-25, +-40 and +-90 degrees (as tests/test_blazeface.py turns them):
   roll of the turned photo minus roll of the upright one, against the turn; and how far yaw and pitch moved.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

from facekeypoints import FaceKeypoints
from facekeypoints.photos import read_colour
from facekeypoints.photos.pose import MODEL, Pose, head_pose, project

SIZE = (640, 480)
ANGLES = range(-40, 41, 10)
ROLLS = (-90, -30, 0, 45, 180)
CENTRES = ((319.5, 239.5), (180, 150), (470, 340))
EYES = np.linalg.norm(MODEL[0] - MODEL[1])  # centimetres


def errors(found: Pose, truth: Pose) -> np.ndarray:
    """|found - truth| of yaw, pitch and roll, degrees (roll modulo 360)."""
    diff = np.array([found.yaw - truth.yaw, found.pitch - truth.pitch, found.roll - truth.roll])
    return np.abs((diff + 180) % 360 - 180)


def grid(eyes_px: float, draws: int, noise: float, focal: float | None = None) -> np.ndarray:
    """Errors (N, 3) over the grid for a face with eyes `eyes_px` apart, rendered through `focal`."""
    rng = np.random.default_rng(0)
    out = []
    for yaw, pitch, roll, centre in itertools.product(ANGLES, ANGLES, ROLLS, CENTRES):
        truth = Pose(yaw, pitch, roll)
        distance = (focal or max(SIZE)) * EYES / eyes_px
        points = project(truth, SIZE, distance, centre, focal)
        for _ in range(draws):
            found = head_pose(points + rng.normal(0, noise, points.shape), SIZE)
            out.append(errors(found, truth) if found is not None else np.full(3, np.inf))
    return np.array(out)


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned clockwise on screen, canvas grown to hold it (tests/test_blazeface.py's `turned`)."""
    if abs(degrees) == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE if degrees > 0 else cv2.ROTATE_90_COUNTERCLOCKWISE)
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), -degrees, 1)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    matrix[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "photos")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()

    print(f"1. synthetic, 640x480, |yaw|, |pitch| <= 40, rolls {ROLLS}, 1 px noise x {args.draws}: worst (RMS) error")
    print("| eyes apart | yaw | pitch | roll |\n| --- | --- | --- | --- |")
    for eyes_px in (60, 80, 110, 140):
        err = grid(eyes_px, args.draws, 1.0)
        cells = " | ".join(f"{err[:, i].max():.2f}° ({np.sqrt(np.mean(err[:, i] ** 2)):.2f})" for i in range(3))
        print(f"| {eyes_px} px | {cells} |")

    print("\n2. the camera: rendered through another focal length, solved with the long side (eyes 110 px, no noise)")
    for factor in (0.5, 2.0):
        err = grid(110, 1, 0.0, factor * max(SIZE))
        print(f"   focal x{factor}: worst yaw {err[:, 0].max():.2f}°, pitch {err[:, 1].max():.2f}°, "
              f"roll {err[:, 2].max():.2f}°")

    print("\n3. the shared photos turned in-plane: roll(turned) - roll(upright) - turn; yaw and pitch moved")
    fk = FaceKeypoints()
    worst = np.zeros(3)
    for path in sorted(p for p in args.photos.glob("*") if p.suffix.lower() in (".jpg", ".png")):
        image = read_colour(path)
        upright = fk(image, channels="bgr")[0].pose
        row = []
        for degrees in (25, -25, 40, -40, 90, -90):
            pose = fk(turned(image, degrees), channels="bgr")[0].pose
            err = errors(pose, Pose(upright.yaw, upright.pitch, upright.roll + degrees))
            worst = np.maximum(worst, err)
            row.append(f"{degrees:+d}: {(pose.roll - upright.roll - degrees + 180) % 360 - 180:+.2f}")
        print(f"   {path.name:14s} upright {upright.to_dict()}; roll error " + ", ".join(row))
    print(f"   worst: roll {worst[2]:.2f}°, yaw moved {worst[0]:.2f}°, pitch moved {worst[1]:.2f}°")


if __name__ == "__main__":
    main()
