"""MediaPipe's FaceMesh timed on image files, for `benchmarks/photos.py` (run by another Python: MediaPipe needs
numpy<2, which this project does not use). Not importable from the package; needs only mediapipe and OpenCV.

    /tmp/mpvenv/bin/python benchmarks/mediapipe_facemesh.py --repeats 20 photo.jpg ...

Each file end to end as the package's `FaceKeypoints()(path)` is timed: decoded from the file (cv2.imread),
turned to RGB, and given to FaceMesh (static_image_mode: its short-range BlazeFace on a 128-pixel view of the
image, then the 468-point mesh per face), up to 10 faces. Prints one JSON object: {path: {"ms": median wall ms
after a warm-up, "cpu_ms": median CPU ms (all its threads), "faces": faces found}, "threads_cpu_ratio": CPU time
/ wall time over all the runs}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import cv2
import mediapipe as mp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=10)

    def run(path: str):
        return mesh.process(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)).multi_face_landmarks or []

    out: dict = {}
    wall = cpu = 0.0
    for path in args.paths:
        faces = len(run(path))  # warm-up
        times, cpu_times = [], []
        for _ in range(args.repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            run(path)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - started_cpu)
        wall += sum(times)
        cpu += sum(cpu_times)
        out[path] = {"ms": 1000 * statistics.median(times), "cpu_ms": 1000 * statistics.median(cpu_times),
                     "faces": faces}
    out["threads_cpu_ratio"] = cpu / wall
    print(json.dumps(out))


if __name__ == "__main__":
    main()
