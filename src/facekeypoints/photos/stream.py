"""Keypoints for many files at once, streamed: worker processes decode images and detect faces while this
process runs the model on batches of faces gathered across images.

Memory stays bounded whatever the number of files: at most a few images per worker are in flight, and
results are yielded (in input order) as soon as their faces have keypoints. Face detection costs far more
than the keypoint model (tens of milliseconds against a fraction of one per face), so it is what the
workers take.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from ..errors import FacekeypointsError
from .crops import MIN_CROP, Found, find_faces
from .detection import FaceDetector
from .io import MAX_PIXELS, frames, is_video, live_frames, read_colour, walk_inputs
from .results import MAX_SPREAD, FileResult, answer
from .tracking import Tracker, Tracking


class SpreadModel(Protocol):
    """What the stream needs of a model (a loaded `Predictor` has it): keypoints (N, K, 2) and their
    heatmaps' spread (N, K) for uint8 crops (N, 96, 96). An `uncertainty` attribute, if it has one, is the
    calibration `faces_from` takes; a `keypoint_set` attribute names the K points (default: Kaggle's 15)."""

    def predict_with_spread(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


# ----------------------------------------------------------------------------------------- workers

_worker: dict = {}  # a worker process's detector, min_crop and max_pixels, set once when it starts


def _start_worker(detector: FaceDetector, min_crop: int, max_pixels: float) -> None:
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the main process stops them
    cv2.setNumThreads(1)  # the processes are the parallelism; OpenCV's own threads would only compete
    _worker.update(detector=detector, min_crop=min_crop, max_pixels=max_pixels)


def _find_in_worker(task: tuple):
    return _find(task, _worker["detector"], _worker["min_crop"], _worker["max_pixels"])


def _find(task: tuple, detector: FaceDetector, min_crop: int, max_pixels: float
          ) -> tuple[Found | None, tuple[int, int], np.ndarray | None, str | None]:
    """One job: an image file ("path", path, keep_image, exif, boxes) or a decoded frame ("image", BGR image, boxes) ->
    (detections, (width, height), the colour image if asked, error). boxes: the faces if known, else None."""
    boxes = task[-1]
    where = task[1] if task[0] == "path" else "a video frame"
    try:
        if task[0] == "path":
            image = read_colour(Path(task[1]), max_pixels, task[3])
            kept = image if task[2] else None
        else:
            image, kept = task[1], None
        found = find_faces(image, detector, min_crop, boxes)
    except Exception as exc:  # whatever one input does, it is its own error record, and the batch goes on
        return None, (0, 0), None, failure(where, exc)
    return found, (image.shape[1], image.shape[0]), kept, None


def failure(source, exc: Exception) -> str:
    """An input's error record text: a FacekeypointsError says it all (it names the file); anything else is
    named by its type too, as it is no input problem this code foresaw."""
    if isinstance(exc, FacekeypointsError):
        return str(exc)
    return f"{source}: {type(exc).__name__}: {exc}"


class _Done:
    """A finished job, for work done in this process (the Future interface the loop uses)."""

    def __init__(self, value):
        self.value = value

    def done(self) -> bool:
        return True

    def result(self):
        return self.value


# ------------------------------------------------------------------------------------------ stream


class _Video:
    """A video to follow with a `Tracker`, here, frame after frame: each frame's crops come from the last one's.
    live: a camera's index or a stream's URL, read as it comes (`io.live_frames`), else the file at `path`."""

    def __init__(self, path: Path, name: Path, live: int | str | None = None, stop: Callable[[], bool] | None = None):
        self.path, self.name, self.live, self.stop = path, name, live, stop

    def results(self, tracker: Tracker, every: int, keep_images: bool, max_pixels: float,
                boxes: dict[tuple[str, int | None], list]) -> Iterator[FileResult]:
        real = os.path.realpath(self.path)
        source = (frames(self.path, every, max_pixels) if self.live is None else
                  live_frames(self.live, every, self.stop))
        try:
            for frame in source:
                faces = tracker(frame.image, frame.time, boxes.get((real, frame.index)))
                height, width = frame.image.shape[:2]
                yield FileResult(self.path, frame.index, width, height, faces, frame.image if keep_images else None,
                                 frame.fps, not_faces=tracker.not_faces, name=self.name)
        except Exception as exc:  # the frames before it are kept; the rest of the video is its error record
            yield FileResult(self.path, None, error=failure(self.path, exc), name=self.name)


def _jobs(inputs: list[tuple[Path, Path]], every: int, keep_images: bool, max_pixels: float,
          boxes: dict[tuple[str, int | None], list], track: bool, exif: bool = True
          ) -> Iterator[tuple[FileResult | None, tuple | _Video | None]]:
    """(what is known of each image or frame so far, the worker's task for it); task None: an error; a `_Video`: a
    video to track here."""
    for path, name in inputs:
        real = os.path.realpath(path)
        if not is_video(path):
            yield FileResult(path, None, name=name), ("path", str(path), keep_images, exif, boxes.get((real, None)))
            continue
        if track:
            yield None, _Video(path, name)
            continue
        try:  # a video is decoded here, in order; its frames' faces are found by the workers
            for frame in frames(path, every, max_pixels):
                height, width = frame.image.shape[:2]
                result = FileResult(path, frame.index, width, height, fps=frame.fps,
                                    image=frame.image if keep_images else None, name=name)
                yield result, ("image", frame.image, boxes.get((real, frame.index)))
        except Exception as exc:
            yield FileResult(path, None, error=failure(path, exc), name=name), None


def default_workers() -> int:
    # On two cores one process is faster (benchmarks/stream.py: 12.3 images/s against 10.2 with two workers):
    # OpenCV's detector already uses both, and workers would only add their start-up and the model beside them.
    cpus = os.cpu_count() or 1
    return 0 if cpus <= 2 else min(cpus, 8)


def detect_files(inputs: str | os.PathLike | Iterable[str | os.PathLike], model: SpreadModel,
                 detector: FaceDetector, min_crop: int = MIN_CROP, max_spread: float = MAX_SPREAD, every: int = 1,
                 workers: int | None = None, batch_size: int = 64, keep_images: bool = False,
                 max_pixels: float = MAX_PIXELS, boxes: dict[tuple[str, int | None], list] | None = None,
                 tracking: Tracking | None = Tracking(), exif: bool = True) -> Iterator[FileResult]:
    """Faces in many image and video files, streamed: one `FileResult` per image and per video frame (every
    `every`-th), in input order, with bounded memory. Folders are searched recursively.

    inputs: files and folders; one path is one input. model: anything with `predict_with_spread(crops)`; it
    runs in this process, on batches of up to `batch_size` faces gathered across images. detector: finds the
    faces (`find_faces`), in `workers` processes (default `default_workers()`; 0: in this process; a detector
    that cannot be pickled always runs here). min_crop, max_spread: as `find_faces` and `faces_from` take them.
    keep_images: also keep each decoded image (BGR) on its result, for drawing. max_pixels: larger images are
    refused (`io.decode_image`). boxes: faces already known, as `io.read_boxes` gives them ({(real path, frame
    or None): [[x, y, w, h], ...]}): those images and frames are not given to the detector. A file that cannot be
    read yields a result with `.error` set; the stream goes on. tracking: how videos are followed (`Tracking`: each
    frame's crops placed from the last frame's keypoints, track ids, smoothing), in this process; None: every
    frame on its own, by the detector, like photos. exif: turn images as their EXIF orientation says (false:
    the pixels as stored).
    """
    if every < 1:
        raise ValueError("every must be 1 or more")
    named = walk_inputs(inputs)
    paths = [path for path, _ in named]
    workers = default_workers() if workers is None else workers
    images = sum(not is_video(path) for path in paths)
    if workers and (images == 1 and len(paths) == 1 or tracking is not None and not images):
        workers = 0  # one image, or only videos followed here: starting processes would cost more than it saves
    if workers:
        try:
            pickle.dumps(detector)
        except Exception:  # a detector that cannot be sent to another process runs in this one
            workers = 0
    pool = None
    if workers:
        # spawn, not fork: this process may hold threads (ONNX Runtime's, torch's) that fork would copy badly
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                   initargs=(detector, min_crop, max_pixels))
    ahead = 4 * max(workers, 1)  # images in flight: enough to keep every worker busy, few enough to bound memory
    jobs = _jobs(named, every, keep_images, max_pixels, boxes or {}, tracking is not None, exif)
    window: deque[tuple[FileResult, Future | _Done | None]] = deque()
    pending: list[tuple[FileResult, Found]] = []  # detected, waiting for the model's batch

    def refill() -> None:
        for result, task in jobs:
            if task is None or isinstance(task, _Video):
                job = task
            elif pool is not None:
                job = pool.submit(_find_in_worker, task)
            else:  # in this process, with OpenCV's own threads
                job = _Done(_find(task, detector, min_crop, max_pixels))
            window.append((result, job))
            if len(window) >= ahead:
                return

    def flush() -> Iterator[FileResult]:
        answer(pending, model, max_spread)
        done = [result for result, _ in pending]
        pending.clear()
        yield from done

    try:
        refill()
        while window:
            result, job = window.popleft()
            if isinstance(job, _Video):
                yield from flush()
                tracker = Tracker(model, detector, min_crop, max_spread, tracking)
                yield from job.results(tracker, every, keep_images, max_pixels, boxes or {})
            elif job is None:
                yield from flush()  # keep the order: what came before the error first
                yield result
            else:
                found, (width, height), colour, error = job.result()
                if error is not None:
                    yield from flush()
                    result.error = error
                    yield result
                else:
                    result.width, result.height = width, height
                    if colour is not None:
                        result.image = colour
                    pending.append((result, found))
            refill()
            waiting = sum(len(found.faces) for _, found in pending)
            # Run the model when the batch is full, when images pile up (faceless ones add no faces but hold
            # memory), or when the next image is not ready (do not sit on finished results).
            ahead_job = window[0][1] if window else None
            if (waiting >= batch_size or len(pending) >= ahead or not isinstance(ahead_job, (Future, _Done))
                    or not ahead_job.done()):
                yield from flush()
        yield from flush()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def track_live(source: int | str, model: SpreadModel, detector: FaceDetector, min_crop: int = MIN_CROP,
               max_spread: float = MAX_SPREAD, every: int = 1, keep_images: bool = False,
               tracking: Tracking = Tracking(), stop: Callable[[], bool] | None = None) -> Iterator[FileResult]:
    """The faces of a camera (its index) or a stream (a URL OpenCV opens), followed as `detect_files` follows a
    video's, one `FileResult` a frame as it comes, until the source ends or `stop()` says so."""
    name = Path(f"camera{source}" if isinstance(source, int) else Path(str(source).rstrip("/")).stem or "stream")
    tracker = Tracker(model, detector, min_crop, max_spread, tracking)
    yield from _Video(Path(str(source)), name, source, stop).results(tracker, every, keep_images, MAX_PIXELS, {})
