"""Agreement with an independent peer on real photos, and end-to-end time for one photo.

    pip install dlib-bin face_recognition_models      # the peer: dlib's 68-point shape predictor
    python benchmarks/agreement.py [PHOTO ...]        # default: ../shared/data/photos/*

For each photo: the largest face found by each tool (ours: OpenCV's Haar detector and the default model;
dlib: its HOG detector and 68-point predictor, mapped to our 15 points), and the mean distance between
the two sets of 15 points divided by the inter-ocular distance (dlib's eye centres). Then the time of
decode + detect + keypoints for a 640x480 photo with one face, median of 20 runs on 2 threads.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from facekeypoints import FaceKeypoints
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.photos import read_image
from facekeypoints.shipped import sample_image

from dlib68 import DLIB_68


def dlib_points(grey: np.ndarray) -> np.ndarray | None:
    import importlib.util

    import dlib

    # The package's own locator needs pkg_resources (setuptools); its folder is enough.
    package = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0])
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(package / "models" / "shape_predictor_68_face_landmarks.dat"))
    boxes = sorted(detector(grey, 1), key=lambda r: -r.area())
    if not boxes:
        return None
    shape = predictor(grey, boxes[0])
    points = np.array([(p.x, p.y) for p in shape.parts()], np.float64)
    return np.array([points[list(DLIB_68[name])].mean(axis=0) for name in KEYPOINT_NAMES])


def end_to_end_ms(fk: FaceKeypoints) -> float:
    colour = cv2.imread(str(sample_image()))
    photo = cv2.copyMakeBorder(cv2.resize(colour, (360, 360)), 60, 60, 140, 140, cv2.BORDER_CONSTANT)  # 640x480
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        cv2.imwrite(str(path), photo)
        assert len(fk(path)) == 1, "the timing photo should hold one face"
        times = []
        for _ in range(20):
            start = time.perf_counter()
            fk(path)
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    photos = args.photos or sorted(p for p in Path("../shared/data/photos").glob("*") if p.suffix != ".md")
    torch.set_num_threads(2)
    fk = FaceKeypoints()
    print(f"{'photo':<16}{'size':>12}{'faces':>7}{'vs dlib (IOD)':>15}")
    for photo in photos:
        grey = read_image(photo)
        faces = [f for f in fk(photo) if not f.too_small]
        peer = dlib_points(grey)
        agreement = "no face" if not faces or peer is None else ""
        if not agreement:
            ours = faces[0].as_array()
            iod = np.linalg.norm(peer[0] - peer[1])
            agreement = f"{np.linalg.norm(ours - peer, axis=1).mean() / iod:.3f}"
        print(f"{photo.name:<16}{grey.shape[1]:>6}x{grey.shape[0]:<5}{len(faces):>7}{agreement:>15}")
    print(f"end to end, 640x480 JPEG with one face (decode + detect + keypoints): {end_to_end_ms(fk):.1f} ms")


if __name__ == "__main__":
    main()
