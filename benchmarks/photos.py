"""The photo pipeline against issue 15's targets, Haar and BlazeFace side by side, in one run (~1-2 min, 2 cores):

    python benchmarks/photos.py [--photos ../shared/data/photos] [--repeats 20] [--mediapipe PYTHON]
                                [--only 1,2,...]

1. a 640x480 JPEG end to end, `FaceKeypoints(model, detector)(path)`: decode + detect + keypoints, 1 thread
   (OMP_NUM_THREADS=1, cv2.setNumThreads(1), the model and BlazeFace on 1 ONNX Runtime thread); median of
   --repeats after warm-up. The JPEG: the shipped sample portrait on a 640x480 canvas, its face ~100 px. Also
   with min_size=40 (the default looks for faces down to 1/25 of the long side).
2. gus.jpg (2000x1334) end to end, with decode alone beside it; gus.jpg is a progressive JPEG, so the same
   pixels re-saved as a baseline JPEG too.
3. Tilt: each shared photo turned by +-25 and +-40 degrees (canvas expanded, border replicated) and by +-90
   (cv2.rotate): faces found (k/N), extra faces, and for BlazeFace the keypoints turned back against the upright
   answer, mean distance / inter-ocular distance (max over photos), and how far `Face.angle` is from the upright
   face's angle plus the turn.
4. Small faces: each photo shrunk (INTER_AREA) until the upright BlazeFace box is ~24, 32, 40 px: faces found,
   faces with keypoints (not too_small), and their error / inter-ocular against the full-size answer; the 24 px
   faces again with min_size=16 (the default floor is 24 px).
5. False positives: detections per photo before and after the model's spread filter (`max_spread`).
6. Video: a 640x480 mp4v clip of the sample face moving (150 frames) through `detect_files`, frames/s; with the
   package's default threads (a child process without the 1-thread settings) and with 1 thread.
7. The detector alone per image, 640x480 and 2000x1334.
8. Ordinary photos: the shared photos at their own size and as baseline JPEGs of long side 320, 640, 1280 and
   1920 px, end to end from the file with `FaceKeypoints()`'s defaults (1 thread, as everything here) against
   MediaPipe's FaceMesh (0.10.21, its own short-range detector and 468-point mesh) in another Python given by
   --mediapipe (skipped, with a message, without one): median CPU ms per image (time.process_time: on a shared
   machine other processes lengthen the wall time, not the CPU time) and faces found, side by side; wall ms too.
   Beside them, `FaceKeypoints()` asked only for faces as large as MediaPipe's short-range net finds (28/128
   of the long side: the one whole-image pass); and, with the package's own threads, its wall and CPU time.
9. Where the time goes on those photos: decoding, each run of the detector's nets (the scan's passes; the
   windows or turned views), the rest of the detector (resizing, decoding the nets' outputs, suppression), the
   crops, the keypoints with flip averaging and without, and the faces' mapping back and head pose. It uses only
   what older versions of the package had too: run it on a checkout of another commit (PYTHONPATH=OLD/src)
   for the figures before a change. `--only 8,9` runs just these (for 9 alone, `--only 9`).

"found" means a returned face (after the spread filter) whose box centre, mapped back into the upright photo,
lies inside the upright BlazeFace box; any other returned face is "extra". The machine is shared: run twice.
"""

from __future__ import annotations

import os
import sys

if "--video-child" not in sys.argv:  # the 1-thread settings, before numpy, OpenCV or ONNX Runtime load
    os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from facekeypoints import FaceKeypoints  # noqa: E402
from facekeypoints.inference import load_model  # noqa: E402
from facekeypoints.keypoints import KEYPOINT_NAMES  # noqa: E402
from facekeypoints.photos import BlazeFaceDetector, create_detector, decode_image, detect  # noqa: E402
from facekeypoints.shipped import sample_image  # noqa: E402

DETECTORS = ("haar", "blazeface")
PHOTOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photos"
TILTS = (-40, -25, 25, 40)
TURNS = {90: cv2.ROTATE_90_CLOCKWISE, -90: cv2.ROTATE_90_COUNTERCLOCKWISE}
SMALL = (24, 32, 40)
FACE_PX = 100  # the 640x480 photo's face, BlazeFace box width
FAST_MIN_SIZE = 40  # a larger smallest face than the default, to show what it saves
COVERAGE = 28 / 128  # MediaPipe's short-range net on its 128-pixel view finds faces from about 28 pixels
SMALL_MIN_SIZE = 16  # a smaller one, to show whether the smallest faces are missed by the scan or the floor
ONE_THREAD = {"haar": {}, "blazeface": {"threads": 1}}
CLIP_FRAMES = 150
EYES = KEYPOINT_NAMES.index("left_eye_center"), KEYPOINT_NAMES.index("right_eye_center")
# Targets: (value, target) -> met
TARGETS = {"e2e_640": 15.0, "e2e_gus": 50.0, "iod": 0.05, "video_fps": 60.0}


def cpu() -> tuple[str, bool]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    return name, "amx_tile" in text.split()


def median_ms(call, repeats: int, warmup: int = 2, clock=time.perf_counter) -> float:
    """The median ms of `call` after `warmup` calls, by `clock` (time.process_time: CPU time, which other
    processes on a shared machine do not lengthen as they do the wall time)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        started = clock()
        call()
        times.append(clock() - started)
    return 1e3 * statistics.median(times)


def portrait(face_px: float) -> np.ndarray:
    """The sample portrait scaled so that its BlazeFace box is about `face_px` wide, cut as a square of three box
    widths about the face (edges replicated): it fits the 640x480 canvas with room to move."""
    image = cv2.imread(str(sample_image()))
    x, y, w, h = max(BlazeFaceDetector()(image), key=lambda d: d.box[2]).box
    scale, side = face_px / w, round(3 * face_px)
    shift = np.array([[scale, 0, side / 2 - scale * (x + w / 2)], [0, scale, side / 2 - scale * (y + h / 2)]])
    return cv2.warpAffine(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1
                          else image, shift if scale >= 1 else np.array([[1.0, 0, shift[0, 2]], [0, 1, shift[1, 2]]]),
                          (side, side), borderMode=cv2.BORDER_REPLICATE)


def canvas(rng: np.random.Generator) -> np.ndarray:
    """A 640x480 background: a grey gradient with mild noise, as a wall under uneven light."""
    ramp = np.linspace(70, 170, 640)[None, :, None] + np.linspace(0, 30, 480)[:, None, None]
    return np.clip(ramp + rng.normal(0, 6, (480, 640, 3)), 0, 255).astype(np.uint8)


def make_photo(path: Path, face: np.ndarray) -> None:
    image = canvas(np.random.default_rng(0))
    y, x = (480 - face.shape[0]) // 2, (640 - face.shape[1]) // 2
    image[y:y + face.shape[0], x:x + face.shape[1]] = face
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])


def make_clip(path: Path, face: np.ndarray, frames: int = CLIP_FRAMES) -> None:
    """The portrait moving over the canvas on a Lissajous path, mp4v at 30 frames/s."""
    background = canvas(np.random.default_rng(1))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    room_x, room_y = 640 - face.shape[1], 480 - face.shape[0]
    for i in range(frames):
        t = 2 * np.pi * i / frames
        x, y = round(room_x * (0.5 + 0.5 * np.sin(t))), round(room_y * (0.5 + 0.5 * np.sin(2 * t)))
        frame = background.copy()
        frame[y:y + face.shape[0], x:x + face.shape[1]] = face
        writer.write(frame)
    writer.release()


def turned(image: np.ndarray, angle: int) -> tuple[np.ndarray, np.ndarray]:
    """The image turned by `angle` degrees (clockwise on screen for positive) and the affine map (2, 3) from the
    upright image's pixels to the turned one's."""
    height, width = image.shape[:2]
    if angle in TURNS:  # exact quarter turns; clockwise: (x, y) -> (height - 1 - y, x)
        matrix = (np.array([[0, -1, height - 1], [1, 0, 0]], float) if angle > 0
                  else np.array([[0, 1, 0], [-1, 0, width - 1]], float))
        return cv2.rotate(image, TURNS[angle]), matrix
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), -angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    matrix[:, 2] += (np.array(size) - 1) / 2 - np.array([(width - 1) / 2, (height - 1) / 2])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), matrix


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.asarray(points, float) @ matrix[:, :2].T + matrix[:, 2]


def match(faces, reference_box, back: np.ndarray | None = None):
    """The returned face whose box centre (mapped by `back` into the reference's frame) lies in the reference
    box, nearest its centre, or None; and how many others were returned."""
    x, y, w, h = reference_box
    best, best_distance = None, np.inf
    for face in faces:
        fx, fy, fw, fh = face.box
        centre = np.array([fx + fw / 2, fy + fh / 2])
        if back is not None:
            centre = apply(back, centre[None])[0]
        distance = np.hypot(*(centre - (x + w / 2, y + h / 2)))
        if x <= centre[0] <= x + w and y <= centre[1] <= y + h and distance < best_distance:
            best, best_distance = face, distance
    return best, len(faces) - (best is not None)


def iod_error(points: np.ndarray, reference: np.ndarray) -> float:
    """Mean point distance over the reference's inter-ocular distance."""
    iod = np.hypot(*(reference[EYES[0]] - reference[EYES[1]]))
    return float(np.mean(np.hypot(*(points - reference).T)) / iod)


def video_fps(fk: FaceKeypoints, clip: Path) -> dict:
    fk.detect_files([clip], workers=0).__next__()  # warm-up: sessions, first frame
    started = time.perf_counter()
    count = faces = one = 0
    for result in fk.detect_files([clip]):
        if result.error:
            raise RuntimeError(result.error)
        count += 1
        faces += len(result.faces)
        one += len(result.faces) == 1
    seconds = time.perf_counter() - started
    return {"frames": count, "faces": faces, "one": one, "fps": count / seconds}


def video_child(clip: str, detector: str) -> None:
    """Video throughput with the package's defaults (run in a process without the 1-thread settings)."""
    fk = FaceKeypoints(detector=detector)
    out = video_fps(fk, Path(clip))
    out.update(cv2_threads=cv2.getNumThreads(), detector_threads=getattr(fk.detector, "threads", None))
    print(json.dumps(out))


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def met(value: float | None, target: float, higher: bool = False) -> str:
    if value is None or np.isnan(value):
        return "-"
    return "yes" if (value >= target if higher else value <= target) else "**no**"


def ordinary_photos(folder: Path, photos: list[Path]) -> list[Path]:
    """The photos as they are and as baseline JPEGs (quality 90) of long side 320, 640, 1280 and 1920 px."""
    made = list(photos)
    for photo in photos:
        image = decode_image(photo)
        for side in (320, 640, 1280, 1920):
            scale = side / max(image.shape[:2])
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            path = folder / f"{photo.stem}-{side}.jpg"
            cv2.imwrite(str(path), cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else
                                              cv2.INTER_LINEAR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            made.append(path)
    return made


def mediapipe_times(python: str | None, paths: list[Path], repeats: int) -> tuple[dict | None, str]:
    """MediaPipe FaceMesh's median ms and faces per file, from the other Python; None and why, where absent."""
    if not python or not Path(python).exists():
        return None, (f"MediaPipe skipped: no Python at {python}" if python else "MediaPipe skipped: give "
                      "--mediapipe PYTHON (python -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install "
                      "mediapipe==0.10.21 'numpy<2')")
    script = Path(__file__).with_name("mediapipe_facemesh.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([python, str(script), "--repeats", str(repeats), *map(str, paths)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        return None, f"MediaPipe failed: {done.stderr.strip().splitlines()[-1:]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def stage_times(fk: FaceKeypoints, unflipped, path: Path, repeats: int) -> dict[str, float]:
    """Median ms of each stage of `fk(path)`: decode; each net run of the detector (timed by wrapping its ONNX
    Runtime sessions, so it works on any version with `detector.sessions`); the rest of the detector; crops;
    keypoints with the model's flip averaging and with `unflipped` (the same model exported without it); the
    faces (mapped back, head pose). CPU time (time.process_time), as other processes do not lengthen it."""
    from facekeypoints.photos import faces_from, find_faces

    def cpu_ms(call) -> float:
        return median_ms(call, repeats, clock=time.process_time)

    image = decode_image(path)
    detector = fk.detector
    calls: list[tuple[str, float]] = []
    wrapped = {}
    for name, session in detector.sessions.items():
        def run(outputs, feeds, session=session, name=name):
            started = time.process_time()
            result = session.run(outputs, feeds)
            shape = feeds["input"].shape
            label = f"{name.split('_')[1]} {shape[2]}x{shape[1]}" + (f" x{shape[0]}" if shape[0] > 1 else "")
            calls.append((label, 1e3 * (time.process_time() - started)))
            return result
        wrapped[name] = type("Timed", (), {"run": staticmethod(run)})()
    per_run: list[list[tuple[str, float]]] = []
    totals = []
    original = detector.sessions
    detector.sessions = wrapped
    try:
        for _ in range(repeats + 2):
            calls.clear()
            started = time.process_time()
            detector(image)
            totals.append(1e3 * (time.process_time() - started))
            per_run.append(list(calls))
    finally:
        detector.sessions = original
    per_run, totals = per_run[2:], totals[2:]
    stages = {"decode": cpu_ms(lambda: decode_image(path))}
    if len({tuple(label for label, _ in run) for run in per_run}) == 1:  # the same runs each time: each its median
        runs = {}
        for i, (label, _) in enumerate(per_run[0]):
            key = label if label not in runs else f"{label} ({i})"
            runs[key] = statistics.median(run[i][1] for run in per_run)
    else:
        runs = {"net runs": statistics.median(sum(ms for _, ms in run) for run in per_run)}
    stages.update({f"net {k}": v for k, v in runs.items()})
    stages["detector, the rest"] = statistics.median(totals) - sum(runs.values())
    found = find_faces(image, detector, fk.min_crop)
    stages["crops"] = cpu_ms(lambda: find_faces(image, detector, fk.min_crop, found.detections))
    stages["keypoints (flip averaging)"] = cpu_ms(lambda: fk.model.predict_with_spread(found.faces))
    stages["keypoints without flip"] = cpu_ms(lambda: unflipped.predict_with_spread(found.faces))
    answer = fk.model.predict_with_spread(found.faces)
    stages["faces: mapped back, pose"] = cpu_ms(lambda: faces_from(found, *answer, fk.max_spread,
                                                                      fk.model.uncertainty))
    stages["end to end"] = cpu_ms(lambda: fk(path))
    return stages


def speed_sections(args, photos: list[Path], tmp: Path, only: set[int]) -> None:
    """Sections 8 and 9: ordinary photos against MediaPipe, and where the time goes."""
    paths = ordinary_photos(tmp, photos)
    fk = FaceKeypoints(load_model("keypointnet", "auto", threads=1), create_detector("blazeface", threads=1))
    shapes = {p: decode_image(p).shape for p in paths}
    if 8 in only:
        ours = {p: (median_ms(lambda p=p: fk(p), args.repeats, clock=time.process_time), len(fk(p)),
                    median_ms(lambda p=p: fk(p), args.repeats)) for p in paths}
        # MediaPipe's own coverage: its short-range net sees the whole image as 128 pixels, faces from about 28
        # of them; asked for faces as large, BlazeFace makes the one whole-image pass as MediaPipe does.
        alike = {}
        for p in paths:
            covering = FaceKeypoints(fk.model, create_detector("blazeface", threads=1,
                                                               min_size=max(shapes[p][:2]) * COVERAGE))
            alike[p] = (median_ms(lambda p=p: covering(p), args.repeats, clock=time.process_time), len(covering(p)))
        theirs, why = mediapipe_times(args.mediapipe, paths, args.repeats)
        print("\n8. Ordinary photos end to end from the file, median CPU ms per image (faces found; wall ms), 1 "
              "thread" + (f"; MediaPipe's CPU time / wall time {theirs['threads_cpu_ratio']:.2f}" if theirs else ""))
        print(f"(the defaults find faces down to 1/20 of the long side; the last columns ask for faces of at least "
              f"{COVERAGE:.3f} of it, as large as MediaPipe's short-range net finds)")
        print("| photo | size | FaceKeypoints() | MediaPipe FaceMesh | ratio | FaceKeypoints(min_size=long side x "
              f"{COVERAGE:.3f}) | ratio |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for p in paths:
            mp = theirs[str(p)] if theirs else {"cpu_ms": np.nan, "ms": np.nan, "faces": "-"}
            print(f"| {p.name} | {shapes[p][1]}x{shapes[p][0]} | {ours[p][0]:.1f} ({ours[p][1]}; {ours[p][2]:.1f}) | "
                  f"{fmt(mp['cpu_ms'])} ({mp['faces']}; {fmt(mp['ms'])}) | {fmt(ours[p][0] / mp['cpu_ms'], 2)} | "
                  f"{alike[p][0]:.1f} ({alike[p][1]}) | {fmt(alike[p][0] / mp['cpu_ms'], 2)} |")
        median_ours = statistics.median(v[0] for v in ours.values())
        median_alike = statistics.median(v[0] for v in alike.values())
        median_mp = statistics.median(theirs[str(p)]["cpu_ms"] for p in paths) if theirs else np.nan
        print(f"| **median** | | **{median_ours:.1f}** ({sum(v[1] for v in ours.values())} faces) | "
              f"**{fmt(median_mp)}** ({sum(theirs[str(p)]['faces'] for p in paths) if theirs else '-'} faces) | "
              f"{fmt(median_ours / median_mp, 2)} | **{median_alike:.1f}** ({sum(v[1] for v in alike.values())} "
              f"faces) | {fmt(median_alike / median_mp, 2)} |")
        if why:
            print(why)
        # As a user makes it: the keypoint model on ONNX Runtime's own threads (one per core), the detector on one.
        default = FaceKeypoints()
        walls, cpus = [], []
        for p in paths:
            walls.append(median_ms(lambda p=p: default(p), args.repeats))
            cpus.append(median_ms(lambda p=p: default(p), args.repeats, clock=time.process_time))
        print(f"FaceKeypoints() with the package's own threads: median wall {statistics.median(walls):.1f} ms, "
              f"median CPU {statistics.median(cpus):.1f} ms (CPU time / wall time {sum(cpus) / sum(walls):.2f})")
    if 9 in only:
        from facekeypoints.inference.export import onnx_bytes
        from facekeypoints.inference.onnx_backend import OnnxKeypointModel

        unflipped = OnnxKeypointModel(onnx_bytes(load_model("keypointnet", "torch"), flip=False), threads=1)
        print("\n9. Where the time goes, median ms per stage (net runs: net, input width x height, x batch)")
        for p in paths:
            if p.parent != tmp and p.suffix != ".png":  # originals: their shrunk copies stand for them
                continue
            stages = stage_times(fk, unflipped, p, args.repeats)
            print(f"{p.name} {shapes[p][1]}x{shapes[p][0]}: " + "; ".join(f"{k} {v:.1f}" for k, v in stages.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--video-child", nargs=2, metavar=("CLIP", "DETECTOR"), help=argparse.SUPPRESS)
    parser.add_argument("--mediapipe", metavar="PYTHON", help="a Python with mediapipe==0.10.21 (and numpy<2) "
                        "for section 8's MediaPipe row")
    parser.add_argument("--only", help="comma-separated section numbers to run (default: all)")
    args = parser.parse_args()
    if args.video_child:
        video_child(*args.video_child)
        return
    cv2.setNumThreads(1)
    started = time.perf_counter()
    name, amx = cpu()
    print(f"CPU: {name}; AMX (amx_tile): {'yes' if amx else 'no'}; {os.cpu_count()} logical CPUs")
    only = {int(n) for n in args.only.split(",")} if args.only else set(range(1, 10))
    if only <= {8, 9}:
        photos = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        with tempfile.TemporaryDirectory() as tmp:
            speed_sections(args, photos, Path(tmp), only)
        print(f"\n{time.perf_counter() - started:.0f} s in all")
        return
    model = load_model("keypointnet", "auto", threads=1)
    detectors = {d: create_detector(d, **ONE_THREAD[d]) for d in DETECTORS}
    fks = {d: FaceKeypoints(model, detectors[d]) for d in DETECTORS}
    photos = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    gus = args.photos / "gus.jpg"
    rows: list[list[str]] = []  # | # | measure | haar | blazeface | target | met (blazeface / haar) |

    def row(number, measure, values, target="", verdicts=("", "")):
        rows.append([str(number), measure, *values, target, " / ".join(v for v in verdicts[::-1] if v)])

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        face = portrait(FACE_PX)
        small_jpeg, clip = tmp / "photo640.jpg", tmp / "clip.mp4"
        make_photo(small_jpeg, face)
        make_clip(clip, face)
        def time_photo(number: int, label: str, path: Path, target: float, note: str = "",
                       detector_alone: bool = True) -> tuple[np.ndarray, dict]:
            """Rows for a photo's time end to end and its decoding alone; its decoded image and, if asked, each
            detector's time alone."""
            found = {d: len(fks[d](path)) for d in DETECTORS}
            e2e = {d: median_ms(lambda d=d: fks[d](path), args.repeats) for d in DETECTORS}
            image = decode_image(path)
            alone = {d: median_ms(lambda d=d: detect(detectors[d], image), args.repeats)
                     for d in DETECTORS} if detector_alone else {}
            decode = median_ms(lambda: decode_image(path), args.repeats)
            row(number, f"{label} end to end, ms (faces {found['haar']} / {found['blazeface']})",
                [fmt(e2e[d]) for d in DETECTORS], f"<= {target:g}", [met(e2e[d], target) for d in DETECTORS])
            row(str(number), f"{label} decode alone, ms{note}", [fmt(decode)] * 2)
            return image, alone

        # 1, 2 and 7: times
        _, det_640 = time_photo(1, "640x480 JPEG", small_jpeg, TARGETS["e2e_640"])
        # What the smallest face looked for costs: the default is 1/20 of the long side (32 px here)
        sized = {d: FaceKeypoints(model, create_detector(d, min_size=FAST_MIN_SIZE, **ONE_THREAD[d]))
                 for d in DETECTORS}
        e2e_sized = {d: median_ms(lambda d=d: sized[d](small_jpeg), args.repeats) for d in DETECTORS}
        row("1", f"640x480 end to end with min_size={FAST_MIN_SIZE}, ms", [fmt(e2e_sized[d]) for d in DETECTORS],
            f"<= {TARGETS['e2e_640']:g}", [met(e2e_sized[d], TARGETS["e2e_640"]) for d in DETECTORS])
        if gus.exists():
            image_gus, det_gus = time_photo(2, "gus.jpg 2000x1334", gus, TARGETS["e2e_gus"], " (a progressive JPEG)")
            # gus.jpg is progressive, slow to decode: the same pixels as a baseline JPEG show the format's share
            baseline = tmp / "gus-baseline.jpg"
            cv2.imwrite(str(baseline), image_gus, [cv2.IMWRITE_JPEG_QUALITY, 95])
            time_photo(2, "gus.jpg re-saved as baseline JPEG (quality 95)", baseline, TARGETS["e2e_gus"],
                       detector_alone=False)
        else:
            row(2, f"gus.jpg end to end: skipped, {gus} absent", ["-", "-"])

        # 3-5 need the upright BlazeFace answer on each photo as the reference
        images = {p.name: decode_image(p) for p in photos}
        reference = {}
        for photo, image in images.items():
            faces = fks["blazeface"].detect_image(image)
            reference[photo] = max(faces, key=lambda f: f.box[2]) if faces else None
        refs = {p: f for p, f in reference.items() if f is not None and not f.too_small}
        missing = sorted(set(images) - set(refs))

        # 3: tilt
        tilt_detail = []
        for group, angles in (("+-25", (-25, 25)), ("+-40", (-40, 40)), ("+-90", (-90, 90))):
            found = {d: 0 for d in DETECTORS}
            extra = {d: 0 for d in DETECTORS}
            errors, angle_errors = [], []
            for photo, ref in refs.items():
                for angle in angles:
                    image, matrix = turned(images[photo], angle)
                    back = cv2.invertAffineTransform(matrix)
                    for d in DETECTORS:
                        face, others = match(fks[d].detect_image(image), ref.box, back)
                        found[d] += face is not None
                        extra[d] += others
                        error = np.nan
                        if d == "blazeface" and face is not None and not face.too_small:
                            error = iod_error(apply(back, face.as_array()), ref.as_array())
                            errors.append(error)
                        if d == "blazeface":
                            expected = ref.angle + angle
                            got = face.angle if face is not None else np.nan
                            angle_errors.append(abs((got - expected + 180) % 360 - 180))
                            tilt_detail.append((photo, angle, face is not None, others, error, expected, got))
            total = len(refs) * len(angles)
            worst = max(errors) if errors else np.nan
            row(3, f"tilt {group}: faces found (extra)", [f"{found[d]}/{total} ({extra[d]})" for d in DETECTORS],
                "all", [("yes" if found[d] == total else "**no**") for d in DETECTORS])
            row(3, f"tilt {group}: BlazeFace keypoints vs upright, max mean dist / IOD", ["", fmt(worst, 3)],
                f"<= {TARGETS['iod']:g}", ("", met(worst, TARGETS["iod"])))
            row(3, f"tilt {group}: BlazeFace `Face.angle` vs upright angle + turn, max error, degrees",
                ["", fmt(np.nanmax(angle_errors))])

        # 4: small faces
        small_detail = []
        lowered = {d: FaceKeypoints(model, create_detector(d, min_size=SMALL_MIN_SIZE, **ONE_THREAD[d]))
                   for d in DETECTORS}
        for px, pipelines in [(px, fks) for px in SMALL] + [(SMALL[0], lowered)]:
            found = {d: 0 for d in DETECTORS}
            with_points = {d: 0 for d in DETECTORS}
            how = "" if pipelines is fks else f", min_size={SMALL_MIN_SIZE}"
            errors = {d: [] for d in DETECTORS}
            for photo, ref in refs.items():
                scale = px / ref.box[2]
                image = images[photo]
                size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
                shrunk = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                sx, sy = size[0] / image.shape[1], size[1] / image.shape[0]  # as rounded
                back = np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5]])  # pixel centres
                for d in DETECTORS:
                    face, _ = match(pipelines[d].detect_image(shrunk), ref.box, back)
                    found[d] += face is not None
                    has = face is not None and not face.too_small
                    with_points[d] += has
                    error = iod_error(apply(back, face.as_array()), ref.as_array()) if has else np.nan
                    if has:
                        errors[d].append(error)
                    small_detail.append((photo, f"{px}{how}", d, f"{size[0]}x{size[1]}", face is not None, has,
                                         error))
            n = len(refs)
            row(4, f"face ~{px} px{how}: found / with keypoints / max mean dist / IOD",
                [f"{found[d]}/{n} / {with_points[d]}/{n} / {fmt(max(errors[d]) if errors[d] else np.nan, 3)}"
                 for d in DETECTORS], "keypoints for all",
                [("yes" if with_points[d] == n else "**no**") for d in DETECTORS])

        # 5: false positives
        fp_detail = []
        for photo, image in images.items():
            for d in DETECTORS:
                raw = len(detect(detectors[d], image))
                kept = len(fks[d].detect_image(image))
                fp_detail.append((photo, d, raw, kept))
        exact = {d: sum(kept == 1 for photo, dd, raw, kept in fp_detail if dd == d) for d in DETECTORS}
        raw_total = {d: sum(raw for _, dd, raw, _ in fp_detail if dd == d) for d in DETECTORS}
        kept_total = {d: sum(kept for _, dd, _, kept in fp_detail if dd == d) for d in DETECTORS}
        row(5, "photos with exactly one face (detections before -> after spread filter)",
            [f"{exact[d]}/{len(images)} ({raw_total[d]} -> {kept_total[d]})" for d in DETECTORS], "all",
            [("yes" if exact[d] == len(images) else "**no**") for d in DETECTORS])

        # 6: video
        video = {}
        for d in DETECTORS:
            out = subprocess.run([sys.executable, __file__, "--video-child", str(clip), d], check=True,
                                 capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                                      if k != "OMP_NUM_THREADS"}).stdout
            video[d, "default"] = json.loads(out.strip().splitlines()[-1])
            video[d, "1"] = video_fps(fks[d], clip)
        for threads in ("default", "1"):
            r = {d: video[d, threads] for d in DETECTORS}
            what = ("defaults: cv2 {} threads, model ORT 1 per core, BlazeFace {}".format(
                r["blazeface"]["cv2_threads"], r["blazeface"]["detector_threads"])
                if threads == "default" else "1 thread")
            row(6, f"640x480 clip, frames/s ({what}; frames with one face {r['haar']['one']} / "
                   f"{r['blazeface']['one']} of {r['blazeface']['frames']})", [fmt(r[d]["fps"]) for d in DETECTORS],
                f">= {TARGETS['video_fps']:g}", [met(r[d]["fps"], TARGETS["video_fps"], True) for d in DETECTORS])

        # 7: detector alone
        row(7, "detector alone, 640x480, ms", [fmt(det_640[d]) for d in DETECTORS])
        if gus.exists():
            row(7, "detector alone, 2000x1334 (gus.jpg), ms", [fmt(det_gus[d]) for d in DETECTORS])

    print("\n| # | measure | Haar | BlazeFace | target | met (BlazeFace / Haar) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if missing:
        print(f"\nNo upright BlazeFace face with keypoints (left out of 3 and 4): {', '.join(missing)}")
    print("\nTilt, BlazeFace per photo: | photo | turn | found | extra | mean dist / IOD | expected angle | "
          "Face.angle |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for photo, angle, found, extra, error, expected, got in tilt_detail:
        print(f"| {photo} | {angle:+d} | {'yes' if found else 'no'} | {extra} | {fmt(error, 3)} | {fmt(expected)} | "
              f"{fmt(got)} |")
    print("\nSmall faces per photo: | photo | face px | detector | image | found | keypoints | mean dist / IOD |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for photo, px, d, size, found, has, error in small_detail:
        print(f"| {photo} | {px} | {d} | {size} | {'yes' if found else 'no'} | {'yes' if has else 'no'} | "
              f"{fmt(error, 3)} |")
    print("\nFalse positives per photo: | photo | detector | detections | after spread filter |")
    print("| --- | --- | --- | --- |")
    for photo, d, raw, kept in fp_detail:
        print(f"| {photo} | {d} | {raw} | {kept} |")
    with tempfile.TemporaryDirectory() as tmp:
        speed_sections(args, photos, Path(tmp), only & {8, 9})
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
