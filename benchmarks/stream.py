"""Throughput and memory of batch inference over a folder: `FaceKeypoints.detect_files` (over
`facekeypoints.photos.stream.detect_files`; what `facekeypoints predict FOLDER` runs) with 0, 1 and 2 worker
processes.

    python benchmarks/stream.py [--images 200] [--workers 0 1 2]

Writes a folder of 640x480 JPEG photos (the sample portrait scaled and placed at random on a plain
background, one face each) under a temporary directory, then for each worker count, in a fresh process:
images/s, faces/s, and the peak resident memory of the main process and of its largest worker. Run on an
idle machine. A second folder four times as large shows whether memory grows with the input.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_folder(folder: Path, count: int, seed: int = 0) -> None:
    """`count` 640x480 JPEGs: the shipped sample portrait at random sizes and places on a plain background."""
    from facekeypoints.shipped import sample_image

    rng = np.random.default_rng(seed)
    portrait = cv2.imread(str(sample_image()))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        canvas = np.full((480, 640, 3), rng.integers(60, 200, 3), np.uint8)
        side = int(rng.integers(220, 420))
        x, y = int(rng.integers(0, 640 - side + 1)), int(rng.integers(0, 480 - side + 1))
        canvas[y:y + side, x:x + side] = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"photo{i:05d}.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])


def one(folder: str, workers: int) -> dict:
    from facekeypoints import FaceKeypoints

    fk = FaceKeypoints()
    started = time.perf_counter()
    images = faces = 0
    for result in fk.detect_files([folder], workers=workers):
        images += 1
        faces += len(result.faces)
    seconds = time.perf_counter() - started
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {"images": images, "faces": faces, "seconds": seconds,
            "main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 1e6,
            "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'images':>7}{'workers':>8}{'seconds':>9}{'images/s':>10}{'faces/s':>9}{'main MB':>9}{'worker MB':>10}")
        for count in (args.images, 4 * args.images):
            folder = Path(tmp) / f"n{count}"
            make_folder(folder, count)
            for workers in args.workers:
                if count != args.images and workers != max(args.workers):
                    continue  # the larger folder only checks memory, with the most workers
                out = subprocess.run([sys.executable, __file__, "--one", str(folder), str(workers)],
                                     check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                worker_mb = f"{r['worker_mb']:.0f}" if workers else "-"
                print(f"{r['images']:>7}{workers:>8}{r['seconds']:>9.1f}{r['images'] / r['seconds']:>10.1f}"
                      f"{r['faces'] / r['seconds']:>9.1f}{r['main_mb']:>9.0f}{worker_mb:>10}", flush=True)


if __name__ == "__main__":
    main()
