"""Faces in photos and videos, from files to keypoints in the photo's pixels and back out to files.

The flow, one module per step (each imports only the ones before it):

    io         decode an image (any depth, EXIF orientation; too large refused from its header) or a video's
               frames; walk files and folders
    detectors  find face boxes (`HaarDetector`, or any callable), each detector with its `Framing`
    crops      turn each box into a 96x96 grey crop framed like Kaggle's (`find_faces`)
    (model)    any model with `predict_with_spread(crops)`: keypoints and doubt per crop (not in here)
    results    map the crop keypoints back into the photo, drop non-faces (`faces_from` -> `Face`), draw
    stream     many files at once: worker processes detect, batched model calls, `FileResult`s in order
    writers    JSON records, annotated PNGs and MP4s, written as results come (`write_results`)

`facekeypoints.api.FaceKeypoints` ties a loaded model to these.
"""

from .crops import DETECT_PIXELS, MIN_CROP, Crop, Found, find_faces
from .detectors import (
    DEFAULT_DETECTOR,
    DETECTORS,
    IDENTITY_FRAMING,
    FaceDetector,
    Framing,
    HaarDetector,
    create_detector,
    framing_of,
)
from .io import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    VIDEO_SUFFIXES,
    Frame,
    ImageError,
    decode_image,
    count_frames,
    expand_inputs,
    frame_count,
    frames,
    is_video,
    read_colour,
    read_image,
    to_grey,
    to_uint8,
    walk_inputs,
)
from .results import MAX_SPREAD, Face, FileResult, draw_faces, faces_from
from .stream import SpreadModel, default_workers, detect_files
from .writers import AnnotationsWriter, Counts, RecordsWriter, VideoOutput, write_image, write_results

__all__ = [
    "AnnotationsWriter",
    "Counts",
    "Crop",
    "DEFAULT_DETECTOR",
    "DETECT_PIXELS",
    "DETECTORS",
    "Face",
    "FaceDetector",
    "FileResult",
    "Found",
    "Frame",
    "Framing",
    "HaarDetector",
    "IDENTITY_FRAMING",
    "IMAGE_SUFFIXES",
    "ImageError",
    "MAX_PIXELS",
    "MAX_SPREAD",
    "MIN_CROP",
    "RecordsWriter",
    "SpreadModel",
    "VIDEO_SUFFIXES",
    "VideoOutput",
    "create_detector",
    "count_frames",
    "decode_image",
    "default_workers",
    "detect_files",
    "draw_faces",
    "expand_inputs",
    "faces_from",
    "find_faces",
    "frame_count",
    "frames",
    "framing_of",
    "is_video",
    "read_colour",
    "read_image",
    "to_grey",
    "to_uint8",
    "walk_inputs",
    "write_image",
    "write_results",
]
