"""Measure how OpenCV's Haar face box relates to the Kaggle crops' framing (`HaarDetector.framing`).

    python benchmarks/framing.py [--data DIR] [--count 800]

Runs the built-in detector on the 15-keypoint training faces themselves (padded by replicating the edges,
so that the face is not at the border, and doubled in size, so that it is well above the detector's minimum)
and prints the median box in crop pixels. A photo's detector box is later mapped to a crop with the same
framing: the face then looks to the model as the training faces did.
"""

from __future__ import annotations

import argparse
import os

import cv2
import numpy as np

from facekeypoints.data import load_training
from facekeypoints.photos import Framing, HaarDetector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--count", type=int, default=800)
    args = parser.parse_args()
    data = load_training(args.data)
    detector = HaarDetector(min_size=60)
    pad, scale, boxes = 48, 2, []
    faces = np.nonzero(data.mask.all(axis=1))[0][: args.count]
    for i in faces:
        image = cv2.copyMakeBorder(data.images[i], pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found = detector(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR))
        if len(found) == 1:
            boxes.append(np.asarray(found[0], float) / scale - [pad, pad, 0, 0])
    x, y, w, h = np.median(np.array(boxes), axis=0)
    print(f"one face found in {len(boxes)} of {len(faces)} training crops")
    print(f"median Haar box in the 96-pixel crop: x {x:.2f}, y {y:.2f}, width {w:.2f}, height {h:.2f}")
    measured = Framing(*(round(float(v), 4) for v in (-x / w, -y / w, 96 / w)))  # the crop, in box widths
    print(f"measured: {measured}; it belongs in HaarDetector.framing (facekeypoints/photos/detectors.py), "
          f"which is now {HaarDetector.framing}")


if __name__ == "__main__":
    main()
