"""Measure how each face detector's box relates to the Kaggle crops' framing (the `Framing` of each detector).

    python benchmarks/framing.py [haar|blazeface] [--data DIR] [--count 800]

Runs the detector on the 15-keypoint training faces themselves (padded by replicating the edges, so that the face
is not at the border) and prints how often it finds exactly one face, and the median framing: where the Kaggle
crop lies in units of the detection's size, in the face's own frame (turned by the detection's angle). A photo's
detection (its box's centre, its size: `Detection.size`) is later mapped to a crop with the same framing: the
face then looks to the model as the training faces did. BlazeFace's two networks are measured apart (each has its
own framing), each at five sizes of the face.
"""

from __future__ import annotations

import argparse
import math
import os

import cv2
import numpy as np

from facekeypoints.data import load_training
from facekeypoints.photos import BlazeFaceDetector, Framing, HaarDetector
from facekeypoints.photos.blazeface import FULL, SHORT, _merge

PAD = 96  # the face, 96 px, in the middle of a 288 px canvas


def framing(detections: list, count: int) -> Framing:
    """The median framing of one detection per face (box in canvas pixels, angle) against the true crop."""
    rows = []
    for d in detections:
        x, y, _, h = d.box
        w = d.size  # the framing's unit; the box's width for a detection without points
        x, y = x + (d.box[2] - w) / 2, y + (h - w) / 2  # the square of that size about the box's centre
        h = w
        turn = math.radians(d.angle)
        # the true crop's centre from the box's centre, turned back into the face's frame, in box widths
        ox, oy = PAD + 48 - (x + w / 2), PAD + 48 - (y + h / 2)
        dx = (math.cos(turn) * ox + math.sin(turn) * oy) / w
        dy = (-math.sin(turn) * ox + math.cos(turn) * oy) / w
        side = 96 / w
        rows.append((dx - side / 2 + 0.5, dy - side / 2 + 0.5, side))
    left, top, side = np.median(np.array(rows), axis=0)
    spread = np.percentile(np.array(rows), [25, 75], axis=0)
    print(f"  one face in {len(detections)} of {count}; median framing left {left:.4f} top {top:.4f} side "
          f"{side:.4f} (quartiles of side {spread[0, 2]:.3f}-{spread[1, 2]:.3f}, of top {spread[0, 1]:.3f}-"
          f"{spread[1, 1]:.3f})")
    return Framing(*(round(float(v), 4) for v in (left, top, side)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("detector", nargs="?", default="blazeface", choices=["blazeface", "haar"])
    parser.add_argument("--data", default=os.environ.get("FKD_DATA_DIR", "../shared/data/facial-keypoints-detection"))
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--turn", type=float, default=0.0, help="turn the faces by this many degrees first (a "
                        "check: the framing in the face's frame should not change)")
    args = parser.parse_args()
    data = load_training(args.data)
    faces = np.nonzero(data.mask.all(axis=1))[0][: args.count]
    canvases = [cv2.cvtColor(cv2.copyMakeBorder(data.images[i], PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE),
                             cv2.COLOR_GRAY2BGR) for i in faces]
    if args.turn:  # about the canvas's centre, which stays the crop's centre
        turn = cv2.getRotationMatrix2D(((2 * PAD + 96) / 2 - 0.5,) * 2, -args.turn, 1)
        canvases = [cv2.warpAffine(c, turn, c.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                    for c in canvases]
    if args.detector == "haar":
        detector = HaarDetector(min_size=48)
        print("Haar:")
        found = [detector(c) for c in canvases]
        measured = framing([f[0] for f in found if len(f) == 1], len(faces))
        print(f"measured: {measured}; HaarDetector.framing (photos/haar.py) is {HaarDetector.framing}")
        return
    detector = BlazeFaceDetector(min_size=48)
    found = [detector(c) for c in canvases]
    print(f"BlazeFace as the pipeline runs it: one face in {sum(len(f) == 1 for f in found)} of {len(faces)}, "
          f"none in {sum(not f for f in found)}; their framing (SHORT's is used for them):")
    framing([f[0] for f in found if len(f) == 1], len(faces))
    # Each net at the sizes its scan sees faces (the short-range one at 28-128 px, photos/blazeface.py): its framing
    # is the median over them.
    for net, sizes in ((SHORT, [30, 45, 60, 90, 120]), (FULL, [30, 40, 50, 60, 80])):
        pooled = []
        for size in sizes:
            print(f"{net.name}, the face at {size:.0f} px:")
            scaled = [cv2.resize(c, None, fx=size / 96, fy=size / 96, interpolation=cv2.INTER_AREA) for c in canvases]
            one = [d[0] for d in (_merge(detector._scan(net, image, size / 96), net) for image in scaled)
                   if len(d) == 1]
            framing(one, len(faces))
            pooled += one
        print(f"{net.name}, all sizes:")
        measured = framing(pooled, len(pooled))
        print(f"measured: {measured}; {net.name}'s framing (photos/blazeface.py) is {net.framing}")


if __name__ == "__main__":
    main()
