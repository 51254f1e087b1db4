"""Faces in photos and videos, from files to keypoints in the photo's pixels and back out to files.

The flow, one module per step (each imports only the ones before it):

    io         decode an image (any depth, EXIF orientation; too large refused from its header) or a video's
               frames; walk files and folders
    detection  what a detector gives (`Detection`: box, score, six points) and its `Framing`
    haar, blazeface   the two detectors (`HaarDetector`, `BlazeFaceDetector`); `detectors`: them by name
    crops      turn each detection into a 96x96 grey crop framed like Kaggle's, upright (`find_faces`)
    (model)    any model with `predict_with_spread(crops)`: keypoints and doubt per crop (not in here)
    pose       head pose (yaw, pitch, roll) from the 15 keypoints (`head_pose` -> `Pose`)
    results    map the crop keypoints back into the photo, drop non-faces (`faces_from` -> `Face`), draw
    tracking   videos: crops placed from the last frame's keypoints, track ids, One-Euro smoothing (`Tracker`)
    batch      a batch of images in memory (arrays, encoded bytes, PIL images) in one call (`detect_batch`)
    stream     many files at once: worker processes detect, batched model calls, `FileResult`s in order; videos
               and live sources followed by a `Tracker`
    writers    records (JSON, JSON Lines, Parquet), annotated PNGs and MP4s, written as results come
               (`write_results`)

and `align`, the crop that puts a face's keypoints on ArcFace's 5-point template (`aligned_crop`), for
`Face.aligned`: face crops as face recognition models take them.

`facekeypoints.api.FaceKeypoints` ties a loaded model to these.
"""

from .align import ALIGNED_SIZE, TEMPLATE_KEYPOINTS, aligned_crop, template
from .batch import detect_batch
from .blazeface import BlazeFaceDetector
from .crops import MIN_CROP, Crop, Found, cut_faces, find_faces, find_faces_batch, fit_similarity, to_bgr
from .detection import (
    DETECTION_POINTS,
    IDENTITY_FRAMING,
    Detection,
    FaceDetector,
    Framing,
    as_detection,
    detect,
    detect_images,
    framing_of,
    smallest_face,
)
from .detectors import DEFAULT_DETECTOR, DETECTORS, create_detector
from .haar import HaarDetector
from .io import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    VIDEO_SUFFIXES,
    Frame,
    ImageError,
    ImageTooLarge,
    count_frames,
    decode_bytes,
    decode_image,
    eight_bit,
    expand_inputs,
    frame_count,
    frames,
    is_video,
    live_frames,
    read_boxes,
    read_colour,
    read_image,
    Scan,
    scan_inputs,
    to_grey,
    to_image,
    to_uint8,
    walk_inputs,
)
from .pose import Pose, head_pose
from .results import DEFAULT_DRAW, DRAWABLE, MAX_SPREAD, Face, FileResult, draw_faces, drawing, faces_from
from .stream import SpreadModel, default_workers, detect_files, track_live
from .tracking import OneEuroFilter, Tracker, Tracking
from .writers import (
    AnnotationsWriter,
    Counts,
    JsonLinesWriter,
    ParquetWriter,
    RecordsWriter,
    VideoOutput,
    Window,
    face_rows,
    records_writer,
    shown,
    write_aligned,
    write_image,
    write_results,
)

__all__ = [
    "ALIGNED_SIZE",
    "AnnotationsWriter",
    "BlazeFaceDetector",
    "Counts",
    "Crop",
    "DEFAULT_DETECTOR",
    "DEFAULT_DRAW",
    "DETECTION_POINTS",
    "DETECTORS",
    "DRAWABLE",
    "Detection",
    "Face",
    "FaceDetector",
    "FileResult",
    "Found",
    "Frame",
    "Framing",
    "HaarDetector",
    "IDENTITY_FRAMING",
    "IMAGE_SUFFIXES",
    "JsonLinesWriter",
    "ImageError",
    "ImageTooLarge",
    "MAX_PIXELS",
    "MAX_SPREAD",
    "MIN_CROP",
    "OneEuroFilter",
    "ParquetWriter",
    "Pose",
    "Scan",
    "RecordsWriter",
    "SpreadModel",
    "TEMPLATE_KEYPOINTS",
    "Tracker",
    "Tracking",
    "VIDEO_SUFFIXES",
    "VideoOutput",
    "Window",
    "aligned_crop",
    "as_detection",
    "create_detector",
    "cut_faces",
    "count_frames",
    "decode_bytes",
    "decode_image",
    "eight_bit",
    "default_workers",
    "detect",
    "detect_batch",
    "detect_images",
    "detect_files",
    "draw_faces",
    "drawing",
    "expand_inputs",
    "face_rows",
    "faces_from",
    "find_faces",
    "find_faces_batch",
    "fit_similarity",
    "frame_count",
    "frames",
    "framing_of",
    "head_pose",
    "is_video",
    "live_frames",
    "read_boxes",
    "read_colour",
    "records_writer",
    "read_image",
    "scan_inputs",
    "shown",
    "smallest_face",
    "template",
    "to_bgr",
    "to_grey",
    "to_image",
    "to_uint8",
    "track_live",
    "walk_inputs",
    "write_aligned",
    "write_image",
    "write_results",
]
