"""The top-level API: keypoints of the faces in a photo.

    >>> from facekeypoints import FaceKeypoints
    >>> fk = FaceKeypoints()                      # the shipped default model and face detector (BlazeFace)
    >>> faces = fk("photo.jpg")                   # or an RGB/grey numpy array, or a PIL image
    >>> faces[0].box, faces[0].keypoints["nose_tip"]
    >>> fk("photo.jpg", boxes=[(120, 80, 200, 200)])   # faces you already have: no detector
    >>> results = fk.detect_batch([array, jpeg_bytes, pil_image])   # a batch in memory: one FileResult each

A thin layer over `facekeypoints.photos`, which does the work, holding a loaded model and a detector.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .errors import FacekeypointsError
from .inference import Predictor, load_model
from .photos import (
    ALIGNED_SIZE,
    DEFAULT_DETECTOR,
    MAX_PIXELS,
    MAX_SPREAD,
    MIN_CROP,
    Counts,
    Face,
    FaceDetector,
    FileResult,
    Found,
    Tracker,
    Tracking,
    count_frames,
    create_detector,
    decode_bytes,
    decode_image,
    detect_batch,
    eight_bit,
    detect_files,
    faces_from,
    find_faces,
    read_boxes,
    scan_inputs,
    to_image,
    to_uint8,
    track_live,
    write_aligned,
)
from .shipped import DEFAULT_MODEL

__all__ = ["Batch", "Face", "FaceKeypoints"]


@dataclass
class Batch:
    """A batch's results as they come (`FaceKeypoints.batch`), and what it reads."""

    results: Iterator[FileResult]
    total: int | None  # the results to expect (videos: as their containers state), for a progress bar; None: live
    inputs: list[Path] = field(default_factory=list)  # the files it reads (none for a live source)
    skipped: list[Path] = field(default_factory=list)  # files in its folders that are neither images nor videos

    @property
    def protected(self) -> set[str]:
        """The inputs' real paths: what no output may replace (`photos.write_results(protected=...)`)."""
        return {os.path.realpath(path) for path in self.inputs}


class FaceKeypoints:
    """Find faces in images and their keypoints: the model's keypoint set (`model.keypoint_set`; Kaggle's 15 for
    the shipped models), each face's `keypoints` named by it.

    model: a shipped model's name (default: the best shipped model) or a checkpoint file from
    `facekeypoints train` or an .onnx file from `facekeypoints export`, or a loaded model (`load_model`,
    `KeypointModel`). backend: "auto", "onnx" or "torch", as `load_model` takes it. detector: a name in
    `photos.DETECTORS` (default "blazeface": MediaPipe's BlazeFace; "haar": OpenCV's Haar cascade) or any
    callable from a BGR uint8 image to `photos.Detection`s or boxes (x, y, w, h); plain boxes are framed by its
    `framing` attribute if it has one, else taken as the crops themselves (`photos.framing_of`). min_size: the
    smallest face a detector named here looks for, in pixels (default: 1/20 of each image's long side, at least
    24 px; smaller is slower on large images). min_crop: faces whose crop would be smaller than this many pixels
    are returned without keypoints (`Face.too_small`). max_spread: detections on which the model's heatmaps
    spread wider than this (pixels of the 96-pixel crop) are dropped as not faces. max_pixels: image files
    with more pixels are refused (`photos.decode_image`: from the header, before decoding). exif: image files
    are turned as their EXIF orientation says (False: their pixels as stored).
    """

    def __init__(self, model: str | Path | Predictor = DEFAULT_MODEL,
                 detector: str | FaceDetector | None = DEFAULT_DETECTOR, min_crop: int = MIN_CROP,
                 max_spread: float = MAX_SPREAD, backend: str = "auto", max_pixels: float = MAX_PIXELS,
                 min_size: float | None = None, exif: bool = True):
        for name, value in (("max_spread", max_spread), ("max_pixels", max_pixels), ("min_crop", min_crop),
                            ("min_size", 1 if min_size is None else min_size)):
            if not isinstance(value, numbers.Real) or not value > 0:  # NaN too
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if detector is None or isinstance(detector, str):
            detector = create_detector(detector or DEFAULT_DETECTOR, min_size=min_size)
        elif min_size is not None:
            raise ValueError("min_size is for a detector named here; give your own detector its own smallest size")
        self.model = model if isinstance(model, Predictor) else load_model(model, backend)
        self.detector = detector
        self.min_crop, self.max_spread, self.max_pixels, self.exif = min_crop, max_spread, max_pixels, exif

    def __call__(self, image, channels: str = "rgb", boxes=None) -> list[Face]:
        return self.detect(image, channels, boxes)

    def detect(self, image, channels: str = "rgb", boxes=None) -> list[Face]:
        """The faces in `image`, largest first.

        image: a file path; a numpy array, grey (H, W) or colour (H, W, 3|4) in `channels` order ("rgb",
        as PIL, matplotlib and scikit-image give; "bgr" for OpenCV's cv2.imread); or a PIL image. An array's
        levels are uint8, uint16, bool, other integers in 0-255 or floats in [0, 1] or [0, 255]
        (`photos.to_uint8`); anything else is refused with a ValueError or TypeError.
        boxes: the faces, if you have them: boxes (x, y, w, h), each taken as the crop (a box that is not square:
        the square of its width about its centre), or `photos.Detection`s; the detector is not run.
        """
        if isinstance(image, (str, os.PathLike)):
            image, channels = decode_image(image, self.max_pixels, self.exif), "bgr"
        return self.detect_image(to_image(image, channels), boxes)

    def detect_image(self, image: np.ndarray, boxes=None) -> list[Face]:
        """As `detect`, for a uint8 BGR (H, W, 3) or grey (H, W) image."""
        found = find_faces(image, self.detector, self.min_crop, boxes)
        return self.faces(found, *self.model.predict_with_spread(found.faces))

    def detect_encoded(self, data: bytes, source: str = "upload") -> FileResult:
        """The faces in an image file's bytes (an upload), as the `photos.FileResult` that `detect_files` gives
        for that file: its `to_dict()` is the record `predict --json` writes, `source` in it. Images of more than
        `max_pixels` are refused from their header (`photos.ImageError`, as is anything not an image)."""
        image = eight_bit(decode_bytes(data, source, self.max_pixels))
        found = find_faces(image, self.detector, self.min_crop)
        faces = self.faces(found, *self.model.predict_with_spread(found.faces))
        return FileResult(Path(source), None, image.shape[1], image.shape[0], faces,
                          not_faces=len(found.detections) - len(faces))  # faces_from drops only those

    def faces(self, found: Found, keypoints: np.ndarray, spread: np.ndarray) -> list[Face]:
        """The `Face`s of one image from its detections and the model's answers (`photos.faces_from`)."""
        return faces_from(found, keypoints, spread, self.max_spread, self.model.uncertainty, self.model.keypoint_set)

    def detect_batch(self, images, channels: str = "rgb", sources=None) -> list[FileResult]:
        """Faces in a batch of images in memory, as a pipeline has them, in one call: one `photos.FileResult` per
        image, in order, whose `to_dict()` is the record `predict --json` writes for the same file.

        images: numpy arrays (as `detect` takes them, colours in `channels` order), encoded image files' bytes
        (JPEG, PNG, ...: decoded as files are, EXIF orientation applied), PIL images, or file paths. The detector
        runs once over the batch (BlazeFace stacks its networks' inputs of equal size) and the model once over
        all its faces. sources: each image's name in its result (default: a path's own, else `<image I>`). An
        image that cannot be decoded, or an item of another type, gets a result with `.error` set; the batch
        goes on.
        """
        return detect_batch(images, self.model, self.detector, sources, channels, self.min_crop, self.max_spread,
                            self.max_pixels)

    def detect_files(self, inputs, every: int = 1, workers: int | None = None, batch_size: int = 64,
                     keep_images: bool = False, boxes: dict | None = None, tracking: Tracking | None = Tracking()
                     ) -> Iterator[FileResult]:
        """Faces in many image and video files, streamed: yields one `photos.FileResult` per image and per
        video frame (every `every`-th), in input order, with bounded memory.

        inputs: files and folders (searched recursively for images and videos), or one of them (images in memory:
        `detect_batch`). workers: processes that
        decode images and detect faces (default: one per CPU, at most 8, or none on 2 CPUs or fewer; 0: all
        in this process); the model runs here, on batches of up to `batch_size` faces gathered across images.
        keep_images: also yield each decoded image (BGR), for drawing. A file that cannot be read yields a
        result with `.error` set; the stream goes on. To write the results: `photos.write_results`. boxes: faces
        you already have, by file (and frame), as `photos.read_boxes` reads them from a JSON file. tracking: how
        videos are followed (`photos.Tracking`: re-detection, smoothing); None: each frame found on its own.
        """
        return detect_files(inputs, self.model, self.detector, min_crop=self.min_crop, max_spread=self.max_spread,
                            every=every, workers=workers, batch_size=batch_size, keep_images=keep_images,
                            max_pixels=self.max_pixels, boxes=boxes, tracking=tracking, exif=self.exif)

    def batch(self, inputs=(), camera: int | str | None = None, every: int = 1, workers: int | None = None,
              keep_images: bool = False, boxes: str | os.PathLike | dict | None = None,
              tracking: Tracking | None = Tracking(), stop: Callable[[], bool] | None = None) -> Batch:
        """The results of files and folders (`detect_files`), or of a live `camera` (`track`: its index, or a
        stream's URL; "0" is camera 0) until it ends or `stop()` says so; one or the other. boxes: a JSON
        file of faces you already have (`photos.read_boxes`), or what it reads. A batch of files that holds no
        image or video, or a camera with files, is a FacekeypointsError."""
        if camera is not None:
            if inputs:
                raise FacekeypointsError("give INPUTs or --camera, not both")
            source = int(camera) if isinstance(camera, str) and camera.isdigit() else camera
            return Batch(self.track(source, every, keep_images, tracking or Tracking(), stop), None)
        scan = scan_inputs(inputs)
        if not scan.named:
            given = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs
            raise FacekeypointsError(f"no images or videos found in {', '.join(map(str, given))}"
                                     + (f" ({len(scan.skipped)} other file(s))" if scan.skipped else ""))
        if isinstance(boxes, (str, os.PathLike)):
            boxes = read_boxes(boxes)
        results = self.detect_files(inputs, every, workers, keep_images=keep_images, boxes=boxes, tracking=tracking)
        return Batch(results, count_frames(scan.paths, every), scan.paths, scan.skipped)

    def align(self, inputs, out: str | os.PathLike, size: int = ALIGNED_SIZE, force: bool = False, every: int = 1,
              workers: int | None = None, boxes=None, tracking: Tracking | None = Tracking()) -> Counts:
        """Every face of files and folders as an aligned crop for face recognition, a PNG in folder `out`
        (`photos.write_aligned`: OUT/NAME_I.png, OUT/NAME_fFRAME_I.png for video frames); the counts say what
        was written. Inputs are never overwritten; an unreadable input is counted, and the batch goes on."""
        batch = self.batch(inputs, every=every, workers=workers, keep_images=True, boxes=boxes, tracking=tracking)
        counts = write_aligned(batch.results, out, size, force=force, protected=batch.protected)
        counts.skipped = len(batch.skipped)
        return counts

    def track(self, source: int | str, every: int = 1, keep_images: bool = False, tracking: Tracking = Tracking(),
              stop=None) -> Iterator[FileResult]:
        """Faces in a live source, followed frame to frame: a camera's index (0: the first) or anything OpenCV's
        VideoCapture opens (a stream's URL). Yields a `photos.FileResult` per frame as it comes, each face with its
        `track` id, until the source ends or `stop()` returns true. (Video files: `detect_files` follows them.)"""
        return track_live(source, self.model, self.detector, self.min_crop, self.max_spread, every, keep_images,
                          tracking, stop)

    def tracker(self, tracking: Tracking = Tracking()) -> Tracker:
        """A `photos.Tracker` for your own frame loop: `tracker(frame, seconds)` -> the frame's faces, followed.
        Frames are BGR uint8 (as OpenCV reads them) or grey."""
        return Tracker(self.model, self.detector, self.min_crop, self.max_spread, tracking)

    def predict_crops(self, faces: np.ndarray, four_point: np.ndarray | None = None) -> np.ndarray:
        """Keypoints (N, K, 2) of ready 96x96 grey face crops (N, 96, 96), as `submit` predicts them (K: the
        model's keypoint set's, `model.keypoint_set`).

        faces: uint8 levels, or any other whose range says them without doubt (`photos.to_uint8`: floats in
        [0, 1] or [0, 255], integers in 0-255); others are refused (ValueError, TypeError), not wrapped around.
        four_point: bool (N,), crops to answer in the Kaggle data's 4-keypoint labelling convention.
        """
        return self.model.predict(to_uint8(faces), four_point=four_point)
