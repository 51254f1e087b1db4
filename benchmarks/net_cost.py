"""What BlazeFace's short-range network costs per input size, in the runtimes at hand, beside what MediaPipe's
whole FaceMesh costs on a photo: why `FaceKeypoints()`, which looks for faces down to 1/20 of the long side, is
slower than FaceMesh, which looks at one 128-px view (~1 min, 1 thread):

    python benchmarks/net_cost.py [--repeats 30] [--mediapipe PYTHON] [--litert PYTHON]

1. The shipped short-range network on ONNX Runtime, 1 intra-op thread: min and median ms per run at 128x128 (the
   whole-image view, each window), 384x560 and 560x560 (the finest pass of a 3:2 and a square photo, the
   smallest face at 28 px of them). Its per-pixel cost is the same at every size, so the finest pass of any photo
   larger than 560 px costs what these two do.
2. The same network quantized to int8 (ONNX Runtime's static QDQ quantization, per-channel weights, calibrated on
   the shared photos; needs the `onnx` package): is the fp32 network the limit?
3. With --litert PYTHON (a Python with `ai-edge-litert`, `numpy<2`) and --mediapipe PYTHON (one with
   mediapipe==0.10.21, whose wheel holds the .tflite original): the original on LiteRT with XNNPACK, MediaPipe's
   own runtime, 1 thread, at the same sizes.
4. With --mediapipe: MediaPipe on the shipped sample photo (the 512x512 astronaut portrait), median CPU ms of
   decoding (cv2.imread), its face detector alone (short range) and its FaceMesh (detector + 468-point mesh).

The time a photo's finest pass takes (1) against FaceMesh's whole time on the same photo (4) is the gap: the
short-range network scores faces under 28 px of its input low (benchmarks/face_size.py's first table), so
smaller inputs lose faces (benchmarks/face_size.py, benchmarks/photos.py sections 8 and 9).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from facekeypoints.shipped import sample_image, shipped_onnx  # noqa: E402

SIZES = ((128, 128), (384, 560), (560, 560))  # height, width
PHOTOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photos"

LITERT = """
import json, statistics, sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter
path, repeats, sizes = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
out = {}
for height, width in sizes:
    net = Interpreter(model_path=path, num_threads=1)
    index = net.get_input_details()[0]["index"]
    net.resize_tensor_input(index, (1, height, width, 3))
    net.allocate_tensors()
    x = np.random.default_rng(0).uniform(-1, 1, (1, height, width, 3)).astype(np.float32)
    times = []
    for i in range(repeats + 3):
        started = time.process_time()
        net.set_tensor(index, x)
        net.invoke()
        if i >= 3:
            times.append(1e3 * (time.process_time() - started))
    out[f"{height}x{width}"] = [min(times), statistics.median(times)]
print(json.dumps(out))
"""

MEDIAPIPE = """
import json, statistics, sys, time
import cv2, mediapipe as mp
path, repeats = sys.argv[1], int(sys.argv[2])
detector = mp.solutions.face_detection.FaceDetection(model_selection=0)
mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=10)
rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
def cpu_ms(call):
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        started = time.process_time()
        call()
        times.append(1e3 * (time.process_time() - started))
    return statistics.median(times)
print(json.dumps({"decode": cpu_ms(lambda: cv2.imread(path)), "detector": cpu_ms(lambda: detector.process(rgb)),
                  "facemesh": cpu_ms(lambda: mesh.process(rgb)),
                  "tflite": mp.__file__.rsplit("/", 1)[0]
                            + "/modules/face_detection/face_detection_short_range.tflite"}))
"""


def session(path: str | Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def times(net: ort.InferenceSession, repeats: int) -> dict[str, tuple[float, float]]:
    """{"HxW": (min, median CPU ms)} of one run at each size."""
    out = {}
    for height, width in SIZES:
        x = np.random.default_rng(0).uniform(-1, 1, (1, height, width, 3)).astype(np.float32)
        for _ in range(3):
            net.run(None, {"input": x})
        runs = []
        for _ in range(repeats):
            started = time.process_time()
            net.run(None, {"input": x})
            runs.append(1e3 * (time.process_time() - started))
        out[f"{height}x{width}"] = (min(runs), statistics.median(runs))
    return out


def quantized(folder: Path) -> Path | str:
    """The short-range network quantized to int8, calibrated on the shared photos at several scales; or why not."""
    try:
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_static)
    except ImportError as exc:
        return f"int8 skipped: {exc} (pip install onnx)"
    # The weights are fp16 behind Casts: folded first (ONNX Runtime's basic optimizations), as the quantizer
    # wants plain initializers.
    folded = folder / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(shipped_onnx("blazeface_short_range")), options, providers=["CPUExecutionProvider"])
    photos = [cv2.imread(str(p)) for p in sorted(PHOTOS.glob("*")) if p.suffix in (".jpg", ".png")]
    photos = [p for p in photos if p is not None] or [cv2.imread(str(sample_image()))]

    def inputs():
        for photo in photos:
            for side in (128, 256, 384, 560):
                scale = side / max(photo.shape[:2])
                image = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                padded = np.full((1, -(-image.shape[0] // 16) * 16, -(-image.shape[1] // 16) * 16, 3), -1.0,
                                 np.float32)
                padded[0, :image.shape[0], :image.shape[1]] = image[..., ::-1] / 127.5 - 1
                yield {"input": padded}

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = inputs()

        def get_next(self):
            return next(self.feeds, None)

    out = folder / "int8.onnx"
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice to pre-process: shapes are dynamic here
    quantize_static(str(folded), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    return out


def child(python: str, script: str, *args: str) -> dict | str:
    if not Path(python).exists():
        return f"skipped: no Python at {python}"
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True, env=env)
    if done.returncode:
        return f"failed: {done.stderr.strip().splitlines()[-1:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(label: str, figures: dict | str) -> str:
    if isinstance(figures, str):
        return f"| {label} | {figures} | | |"
    return f"| {label} | " + " | ".join(f"{figures[f'{h}x{w}'][0]:.2f} / {figures[f'{h}x{w}'][1]:.2f}"
                                        for h, w in SIZES) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--mediapipe", metavar="PYTHON", help="a Python with mediapipe==0.10.21 (and numpy<2)")
    parser.add_argument("--litert", metavar="PYTHON", help="a Python with ai-edge-litert (and numpy<2)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?") if Path("/proc/cpuinfo").exists() else "?"
    print(f"CPU: {cpu}; {os.cpu_count()} logical CPUs; ONNX Runtime {ort.__version__}; 1 thread\n")
    print("BlazeFace short-range network, one run, min / median CPU ms by input (height x width)\n")
    print("| runtime | " + " | ".join(f"{h}x{w}" for h, w in SIZES) + " |")
    print("| --- | --- | --- | --- |")
    print(row("ONNX Runtime, fp32 (shipped)", times(session(shipped_onnx("blazeface_short_range")), args.repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        int8 = quantized(Path(tmp))
        print(row("ONNX Runtime, int8 (static QDQ)", int8 if isinstance(int8, str) else
                  times(session(int8), args.repeats)))
    mediapipe = child(args.mediapipe, MEDIAPIPE, str(sample_image()), str(args.repeats)) if args.mediapipe else \
        "skipped: give --mediapipe PYTHON"
    if args.litert and isinstance(mediapipe, dict):
        litert = child(args.litert, LITERT, mediapipe["tflite"], str(args.repeats), json.dumps(SIZES))
    else:
        litert = "skipped: give --litert PYTHON and --mediapipe PYTHON (the .tflite file is in its wheel)"
    print(row("LiteRT + XNNPACK (MediaPipe's .tflite)", litert))
    if isinstance(mediapipe, dict):
        height, width = cv2.imread(str(sample_image())).shape[:2]
        print(f"\nMediaPipe 0.10.21 on {sample_image().name} ({width}x{height}), median CPU ms: decode "
              f"{mediapipe['decode']:.2f}, face detector alone {mediapipe['detector']:.2f}, FaceMesh (detector + "
              f"mesh) {mediapipe['facemesh']:.2f}")
    else:
        print(f"\nMediaPipe {mediapipe}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
