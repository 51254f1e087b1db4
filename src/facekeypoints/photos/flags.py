"""The face finding's settings as command-line flags (for `predict` and `align`), their defaults and limits
from the library's own constants: the detector's smallest face, the crop and spread limits, the pixel limit,
and how videos are followed (`Tracking`)."""

from __future__ import annotations

import argparse

from .._args import COUNT, NATURAL, POSITIVE, number, option
from .crops import MIN_CROP
from .io import MAX_PIXELS
from .results import MAX_SPREAD
from .tracking import BETA, MIN_CUTOFF, REDETECT


def add_finding_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `FaceKeypoints` and `Tracking` that `predict` and `align` share."""
    option(p, "--every", type=COUNT, default=1, metavar="N", help="videos: every N-th frame")
    option(p, "--min-face", type=NATURAL, default=MIN_CROP, metavar="PX",
           help="smaller face crops get no keypoints")
    p.add_argument("--min-size", type=POSITIVE, metavar="PX", help="the smallest face the detector looks for "
                   "(default: 1/20 of each image's long side, at least 24 px); smaller finds smaller faces in "
                   "large photos, more slowly")
    p.add_argument("--boxes", metavar="FILE", help="faces you already have, JSON: {\"photo.jpg\": [[x, y, w, h], "
                   "...]} or the records of predict --json; their images are not given to the detector")
    p.add_argument("--workers", type=NATURAL, metavar="N", help="processes that decode and detect while the "
                   "model runs here; 0: none (default: one per CPU up to 8; none on 2 CPUs or fewer)")
    option(p, "--max-spread", type=POSITIVE, default=MAX_SPREAD, metavar="PX", help="drop detections whose "
           "keypoint heatmaps spread wider (median, pixels of the 96-px crop) as not faces; the summary counts "
           "them")
    option(p, "--max-pixels", type=POSITIVE, default=MAX_PIXELS, metavar="N", help="refuse larger images (read "
           "from their header, before decoding)")
    video = p.add_argument_group("videos", "Each face is followed from frame to frame: its crop is placed from "
                                 "its keypoints in the frame before, it keeps a track id, and its keypoints are "
                                 "smoothed.")
    video.add_argument("--no-track", action="store_true", help="find each frame's faces on its own, like a "
                       "photo's: slower, and the keypoints jitter more")
    option(video, "--redetect", type=COUNT, default=REDETECT, metavar="N", help="look for new faces at least "
           "every N frames (also when a face is lost or in doubt)")
    option(video, "--smooth", action=argparse.BooleanOptionalAction, default=True, help="smooth each face's "
           "shape (its keypoints in its own frame, not its motion) with a One-Euro filter")
    option(video, "--min-cutoff", type=POSITIVE, default=MIN_CUTOFF, metavar="HZ", help="the filter's cut-off "
           "for a still expression: lower is steadier")
    option(video, "--beta", type=number(float, 0), default=BETA, help="how fast the cut-off rises as the shape "
           "changes (per crop size per second): higher follows expressions more closely")
