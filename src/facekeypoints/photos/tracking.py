"""Faces followed through a video: each frame's crop is placed from the face's keypoints in the frame before (as
MediaPipe's face mesh does), the detector runs only every few frames or when a face is in doubt, each face keeps
a track id, and its keypoints are smoothed by a One-Euro filter.

What is smoothed is the face's shape, not its motion: each frame's keypoints are split into where the face is
(the similarity that best maps the mean face onto them: `Crop.from_keypoints`) and its shape in that frame, and
only the shape is filtered. Smoothing the motion lags behind a moving head (`benchmarks/tracking.py`: any
low-pass on it made the keypoints of a slowly moving face worse, not better), while the shape of a face changes
only with its expression, and the filter's speed term follows that.

Why: the detector is most of the cost of a frame (about 10 ms of 13 at 640x480), and its boxes wobble from
frame to frame, which the crops, and so the keypoints, inherit. A crop fitted to the last keypoints is both free
and steadier, and it is upright whatever the detector thought the face's angle was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import FacekeypointsError
from ..keypoints import IMAGE_SIZE, KAGGLE_15, MEAN_SHAPE
from .crops import Crop, cut_faces
from .detection import Detection, FaceDetector, as_detection, detect, ious
from .pose import pose_of
from .results import MAX_SPREAD, Face, faces_from

# Chosen with `python benchmarks/tracking.py`, which measures jitter and lag on clips moving on known paths, and
# how far the filter trails a mouth opening.
MIN_CUTOFF = 0.05  # Hz: the One-Euro filter's cut-off for a shape that does not change
BETA = 3.0  # how fast the cut-off rises with the shape's speed, per (crop size per second)
D_CUTOFF = 10.0  # Hz: the cut-off of the speed estimate (1 Hz, the paper's, trailed a mouth opening by 2 frames)
REDETECT = 10  # frames: the detector looks for new faces at least this often
DOUBT = 10.0  # a face whose median heatmap spread passes this (faces: about 7) is re-detected in the next frame


def _alpha(cutoff, dt: float):
    """The smoothing factor of a first-order low-pass filter with this cut-off (Hz) sampled every dt seconds."""
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) on a set of points (K, 2): a low-pass filter whose
    cut-off rises with speed, so that a still face holds still and a moving one is followed with little lag.

    min_cutoff: the cut-off (Hz) at rest: lower is steadier. beta: how fast the cut-off grows with each point's
    speed, measured in units of `scale` (given with each call) per second. d_cutoff: the cut-off (Hz) of the speed
    estimate itself.
    """

    def __init__(self, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF):
        if not (min_cutoff > 0 and beta >= 0 and d_cutoff > 0):
            raise ValueError(f"the One-Euro filter needs min_cutoff > 0, beta >= 0 and d_cutoff > 0, got "
                             f"{min_cutoff}, {beta}, {d_cutoff}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self.time = 0.0

    def __call__(self, points: np.ndarray, time: float, scale: float = 1.0) -> np.ndarray:
        points = np.asarray(points, np.float64)
        if self.value is None or time <= self.time:  # the first sample (or time did not move): taken as it is
            if self.value is None:
                self.speed = np.zeros_like(points)
            self.value, self.time = points.copy(), time
            return self.value.copy()
        dt = time - self.time
        self.speed = self.speed + _alpha(self.d_cutoff, dt) * ((points - self.value) / dt - self.speed)
        speed = np.linalg.norm(self.speed, axis=-1, keepdims=True) / scale  # one speed per point, both axes
        self.value = self.value + _alpha(self.min_cutoff + self.beta * speed, dt) * (points - self.value)
        self.time = time
        return self.value.copy()


def steady(points: np.ndarray, time: float, filter: OneEuroFilter | None,
           mean_shape=MEAN_SHAPE) -> tuple[np.ndarray, Crop]:
    """A face's keypoints (K, 2) at `time` -> the same smoothed (the shape in the face's own frame, through
    `filter`; None: as they are), and the crop they put the face in (where the next frame is cut): the one that
    puts them on `mean_shape` (the keypoint set's, default Kaggle's)."""
    crop = Crop.from_keypoints(points, mean_shape)
    if filter is not None:
        points = crop.to_photo(filter(crop.to_crop(points), time, IMAGE_SIZE))
    return points, crop


@dataclass
class _Track:
    id: int
    crop: Crop  # where the next frame's crop is cut
    box: tuple[float, float, float, float]  # the detector's last box, relative to the crop: (dx, dy, w, h) / side
    score: float  # the detector's score when it last saw this face
    filter: OneEuroFilter | None
    doubtful: bool = False

    def detection(self) -> Detection:
        """A stand-in for a detection at the crop: the last box, moved and scaled with the face."""
        (cx, cy), side, turn = self.crop.centre, self.crop.side, math.radians(self.crop.angle)
        dx, dy, w, h = (v * side for v in self.box)
        x = cx + math.cos(turn) * dx - math.sin(turn) * dy
        y = cy + math.sin(turn) * dx + math.cos(turn) * dy
        return Detection((x - w / 2, y - h / 2, w, h), self.score)


def _relative_box(detection: Detection, crop: Crop) -> tuple[float, float, float, float]:
    x, y, w, h = detection.box
    turn = math.radians(crop.angle)
    ox, oy = x + w / 2 - crop.centre[0], y + h / 2 - crop.centre[1]
    dx, dy = math.cos(turn) * ox + math.sin(turn) * oy, -math.sin(turn) * ox + math.cos(turn) * oy
    return dx / crop.side, dy / crop.side, w / crop.side, h / crop.side


def _overlap(a: Crop, b: Crop) -> float:
    """Intersection over union of two crops' squares, taken upright (enough to tell one face from another)."""
    corners = [np.concatenate([np.subtract(c.centre, c.side / 2), np.add(c.centre, c.side / 2)]) for c in (a, b)]
    return float(ious(corners[0], corners[1][None])[0])


@dataclass(frozen=True)
class Tracking:
    """How videos are followed (`Tracker`): re-detect at least every `redetect` frames; `smooth` the faces' shapes
    with a One-Euro filter of these `min_cutoff`, `beta` and `d_cutoff` (`OneEuroFilter`)."""

    redetect: int = REDETECT
    smooth: bool = True
    min_cutoff: float = MIN_CUTOFF
    beta: float = BETA
    d_cutoff: float = D_CUTOFF

    def __post_init__(self):
        if not (isinstance(self.redetect, int) and self.redetect >= 1):
            raise ValueError(f"redetect must be a whole number of frames, 1 or more, got {self.redetect!r}")
        self.filter()  # checks the settings now, not at the first face

    def filter(self) -> OneEuroFilter | None:
        return OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff) if self.smooth else None


class Tracker:
    """Follows the faces of one video, a frame at a time: `tracker(image, time)` -> the frame's `Face`s, each with
    its `track` id, keypoints smoothed.

    model: anything with `predict_with_spread(crops)` (as the stream takes it) and, if it has one, an `uncertainty`
    calibration. detector, min_crop, max_spread: as `find_faces` and `faces_from` take them. settings: when to
    re-detect (the detector also runs on the first frame and when a face is lost or in doubt) and the smoothing.
    """

    def __init__(self, model, detector: FaceDetector, min_crop: int, max_spread: float = MAX_SPREAD,
                 settings: Tracking = Tracking()):
        self.predict, self.uncertainty = model.predict_with_spread, getattr(model, "uncertainty", None)
        self.keypoint_set = getattr(model, "keypoint_set", KAGGLE_15)
        # where the crops fitted to its keypoints put them: the set's mean shape (training gives every set one)
        self.mean_shape = self.keypoint_set.mean_shape
        if self.mean_shape is None:
            raise FacekeypointsError(f"the model's keypoint set {self.keypoint_set.name!r} has no mean shape, which "
                                     "following a face needs; predict with --no-track")
        self.detector, self.min_crop, self.max_spread, self.settings = detector, min_crop, max_spread, settings
        self.tracks: list[_Track] = []
        self.next_id = 0
        self.since_detection = settings.redetect  # so that the first frame is searched
        self.detections = 0  # how many frames the detector ran on (for benchmarks)
        self.not_faces = 0  # in the last frame: new detections dropped because the model saw no face there

    def __call__(self, image: np.ndarray, time: float, boxes: Sequence | None = None) -> list[Face]:
        """The faces in this frame (BGR or grey uint8) at `time` seconds. boxes: the faces, if known for this
        frame (as `find_faces` takes them): they replace the detector's."""
        due = (boxes is not None or not self.tracks or self.since_detection >= self.settings.redetect
               or any(t.doubtful for t in self.tracks))
        faces = self._faces(image, [(t.detection(), t.crop) for t in self.tracks])
        alive = [t for t in self.tracks if getattr(faces.get(id(t.crop)), "keypoints", None) is not None]
        new: list[tuple[Detection, Crop]] = []
        if due or len(alive) < len(self.tracks):  # a face slipped out of its crop: look for it now
            self.since_detection, self.detections = 0, self.detections + 1
            detections = detect(self.detector, image) if boxes is None else [as_detection(b) for b in boxes]
            for detection in detections:
                crop = Crop.from_detection(detection)
                match = max(alive, key=lambda t: _overlap(t.crop, crop), default=None)
                if match is not None and _overlap(match.crop, crop) > 0.3:  # followed already: keep its crop
                    match.box, match.score = _relative_box(detection, match.crop), detection.score
                else:
                    new.append((detection, crop))
            faces.update(self._faces(image, new))
        self.not_faces = sum(id(crop) not in faces for _, crop in new)  # detections the model saw no face at
        for detection, crop in new:
            face = faces.get(id(crop))
            if face is not None and face.keypoints is not None:
                alive.append(_Track(self.next_id, crop, _relative_box(detection, crop), detection.score,
                                    self.settings.filter()))
                self.next_id += 1
        out, kept = [], []
        for track in alive:
            face = faces.pop(id(track.crop))
            points, crop = steady(face.as_array(), time, track.filter, self.mean_shape)
            if any(_overlap(crop, other.crop) > 0.5 for other in kept):  # two tracks on one face: keep the older
                continue
            if track.filter is not None:  # the pose too, from the smoothed points
                face.keypoints = {name: (float(x), float(y)) for name, (x, y) in zip(self.keypoint_set.names, points)}
                face.pose = pose_of(points, self.keypoint_set, (image.shape[1], image.shape[0]))
            face.track = track.id
            track.crop, track.doubtful = crop, face.spread > DOUBT
            kept.append(track)
            out.append(face)
        self.tracks, self.since_detection = kept, self.since_detection + 1
        # and the faces too small for keypoints that the detector found in this frame (they are not followed)
        return out + [faces[id(crop)] for _, crop in new if id(crop) in faces and faces[id(crop)].keypoints is None]

    def _faces(self, image: np.ndarray, pairs: list[tuple[Detection, Crop]]) -> dict[int, Face]:
        """The model's faces for these (detection, crop) pairs, by id of their crop; not-faces left out."""
        if not pairs:
            return {}
        found = cut_faces(image, [d for d, _ in pairs], [c for _, c in pairs], self.min_crop)
        faces = faces_from(found, *self.predict(found.faces), self.max_spread, self.uncertainty, self.keypoint_set)
        return {id(face.crop): face for face in faces}
