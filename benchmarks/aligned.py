"""Aligned face crops of the sample photos turned: how well each matches its upright photo's crop, and a picture.

    python benchmarks/aligned.py [--photos ../shared/data/photos] [--out docs/aligned.png]

For each photo turned by +-25, +-40 and +-90 degrees, the Pearson correlation of the grey pixels of its
112x112 aligned crop (`Face.aligned`) with the upright photo's, and, to show what the roll does, of the same
crop cut without it (angle 0). The picture: each photo turned by one of the angles, above its aligned crop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from facekeypoints import FaceKeypoints
from facekeypoints.photos import aligned_crop, read_colour

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_blazeface import turned  # noqa: E402  (the tests' turning: canvas grown, edges replicated)

TURNS = (25, -25, 40, -40, 90, -90)
SHOWN = (25, -40, 90, -25)  # the picture's turn for each photo, in order
HEIGHT = 224  # of each tile in the picture


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    grey = [cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(float).ravel() for x in (a, b)]
    return float(np.corrcoef(*grey)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default=Path(__file__).resolve().parents[2] / "shared" / "data" / "photos",
                        type=Path)
    parser.add_argument("--out", default=Path(__file__).resolve().parents[1] / "docs" / "aligned.png", type=Path)
    args = parser.parse_args()
    fk = FaceKeypoints()
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    print("| photo | " + " | ".join(f"{t:+d}°" for t in TURNS) + " | roll ignored, highest |")
    print("| --- " * (len(TURNS) + 2) + "|")
    columns = []
    for path, shown in zip(paths, SHOWN * len(paths)):
        image = read_colour(path)
        [face] = fk(image, channels="bgr")
        upright = face.aligned(image)
        found, unturned = [], []
        for degrees in TURNS:
            photo, _ = turned(image, degrees)
            [seen] = fk(photo, channels="bgr")
            found.append(correlation(seen.aligned(photo), upright))
            crop = aligned_crop(seen.keypoints)
            crop.angle = 0.0
            unturned.append(correlation(crop.cut(photo, 112), upright))
            if degrees == shown:
                tile = cv2.resize(photo, (round(photo.shape[1] * HEIGHT / photo.shape[0]), HEIGHT),
                                  interpolation=cv2.INTER_AREA)
                width = max(tile.shape[1], HEIGHT)
                aligned = cv2.resize(seen.aligned(photo), (HEIGHT, HEIGHT), interpolation=cv2.INTER_NEAREST)
                columns.append(np.vstack([cv2.copyMakeBorder(x, 0, 8, 0, width - x.shape[1], cv2.BORDER_CONSTANT,
                                                             value=(255, 255, 255)) for x in (tile, aligned)]))
        print(f"| {path.name} | " + " | ".join(f"{r:.3f}" for r in found) + f" | {max(unturned):.3f} |")
    gap = np.full((columns[0].shape[0], 8, 3), 255, np.uint8)
    picture = np.hstack([x for column in columns for x in (column, gap)][:-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), picture)
    print(f"wrote {args.out}: each photo turned by {', '.join(f'{t:+d}' for t in SHOWN[:len(paths)])} degrees, "
          "above its aligned crop (112x112, shown at 224)")


if __name__ == "__main__":
    main()
