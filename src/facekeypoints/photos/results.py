"""What a photo's faces come to: the model's answers for its crops mapped back into the photo (`Face`),
false detections dropped, gathered per image or video frame (`FileResult`), and drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import numpy as np

from ..keypoints import KAGGLE_15, KeypointSet
from .align import ALIGNED_SIZE, TEMPLATE_KEYPOINTS, aligned_crop
from .crops import Crop, Found
from .pose import Pose, pose_of

# Detections whose keypoint heatmaps spread wider than this (median over the 15, pixels of the crop) are not
# faces. Measured with the shipped model: on the 600 public-test crops median 6.5, 99th percentile 8.9 (two
# above 14: a photo whose labels are on a small face in its corner, and a blurred face); on the sample
# photos' faces 6.1-6.4; on the Haar detector's five false positives in gus.jpg's background 19.6-33.
MAX_SPREAD = 14.0
# The pose axis drawn from the nose tip (BGR): the face's left (the image's right when frontal), up, forward.
AXIS_COLOURS = ((0, 0, 255), (0, 200, 0), (255, 80, 0))
# What a picture of faces can show (`Face.draw`, `--draw`): the box, the 15 points, their names, the head pose's
# axes, and a circle about each point as wide as the error to expect there (models with a calibration).
DRAWABLE = ("box", "points", "labels", "pose", "uncertainty")
DEFAULT_DRAW = ("box", "points", "pose")
_SHIFT = 4  # OpenCV's fractional bits: points drawn where they are to 1/16 px, not rounded to whole pixels


def drawing(what: str | Iterable[str] | None = None, labels: bool = False) -> tuple[str, ...]:
    """What to draw, checked: names from `DRAWABLE` as an iterable or one comma-separated string ("box,points");
    None: `DEFAULT_DRAW`. `labels` adds "labels" (the older switch for it). A name not in DRAWABLE is a
    ValueError that lists them."""
    if what is None:
        chosen = list(DEFAULT_DRAW)
    else:
        chosen = [w.strip() for w in what.split(",")] if isinstance(what, str) else list(what)
        chosen = [w for w in chosen if w]
    unknown = [w for w in chosen if w not in DRAWABLE]
    if unknown:
        raise ValueError(f"cannot draw {', '.join(map(repr, unknown))}: choose from {', '.join(DRAWABLE)}")
    return tuple(dict.fromkeys(chosen + (["labels"] if labels else [])))


@dataclass
class Face:
    """One face found in an image, in that image's pixel coordinates."""

    box: tuple[int, int, int, int]  # the detector's box: x, y, width, height
    keypoints: dict[str, tuple[float, float]] | None  # name -> (x, y); None for a face too small to trust
    crop: Crop = field(repr=False)  # where the model's crop was cut: its angle is the face's turn
    spread: float = float("nan")  # the model's doubt: median heatmap spread in crop pixels (faces: about 7)
    score: float = float("nan")  # the detector's confidence in [0, 1] (NaN: the detector gives none)
    track: int | None = None  # in a video, the same number for the same face in every frame; None in a photo
    # name -> the error to expect in this keypoint, photo pixels (from its spread); None: the model has no calibration
    uncertainty: dict[str, float] | None = None
    pose: Pose | None = None  # the head's yaw, pitch and roll (`photos.pose`); None without keypoints
    keypoint_set: KeypointSet = field(default=KAGGLE_15, repr=False)  # the model's: the names of `keypoints`
    # the model answered NaN or infinity for this face (a broken model file): no keypoints, and none written
    non_finite: bool = False

    @property
    def angle(self) -> float:
        """How far the face is turned in the image plane (degrees, clockwise on screen): the crop was cut turned
        by as much, so that the model saw it upright."""
        return self.crop.angle

    @property
    def too_small(self) -> bool:
        return self.keypoints is None and not self.non_finite

    def as_array(self) -> np.ndarray:
        """The keypoints as float (K, 2) x, y in the keypoint set's order (Kaggle's 15 for the shipped models; NaN
        for a face too small)."""
        if self.keypoints is None:
            return np.full((len(self.keypoint_set), 2), np.nan)
        return np.array([self.keypoints[name] for name in self.keypoint_set.names], np.float64)

    def point(self, name: str) -> tuple[float, float]:
        """One keypoint by name, or by a name the keypoint set gives as an alias (e.g. "nose_tip" of a 68-point
        model): the mean of its points. KeyError for a name the set lacks, ValueError without keypoints."""
        if self.keypoints is None:
            raise ValueError(f"the face at {list(self.box)} has no keypoints (too small for them)")
        if name in self.keypoints:
            return self.keypoints[name]
        x, y = self.keypoint_set.lookup(self.as_array(), [name])[0]
        return float(x), float(y)

    def aligned(self, image: np.ndarray, size: int = ALIGNED_SIZE) -> np.ndarray:
        """The face cut from `image` (the one it was found in: grey, BGR or RGB, uint8) as a `size` x `size`
        crop aligned as face recognition models take them: eye centres, nose tip and mouth corners on
        ArcFace/InsightFace's template (`photos.align`), upright whatever the head's roll; same channels."""
        if self.keypoints is None:
            why = "the model answered NaN or infinity" if self.non_finite else "too small for them"
            raise ValueError(f"the face at {list(self.box)} has no keypoints ({why}): it cannot be aligned")
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"expected a uint8 grey (H, W) or colour (H, W, C) image, got {image.dtype} "
                             f"{image.shape}")
        return aligned_crop({n: self.point(n) for n in self.keypoint_set.lookup_names(TEMPLATE_KEYPOINTS,
                                                                                        "an aligned crop")},
                            size).cut(image, size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"box": [x, y, w, h], "score", "angle", "keypoints": {name: [x, y]} or null, "too_small",
        "non_finite", "spread", "uncertainty": {name: px} or null, "pose": {"yaw", "pitch", "roll"} or null,
        "track"}; a number the detector or model does not give (or gives as NaN or infinity) is null."""
        points = None if self.keypoints is None else {k: [round(x, 2), round(y, 2)] for k, (x, y) in
                                                        self.keypoints.items()}

        def number(value: float, digits: int) -> float | None:
            return round(float(value), digits) if np.isfinite(value) else None

        return {"box": [int(v) for v in self.box], "score": number(self.score, 3), "angle": number(self.angle, 1),
                "keypoints": points, "too_small": self.too_small, "non_finite": self.non_finite,
                "spread": number(self.spread, 2),
                "uncertainty": None if self.uncertainty is None else {k: number(v, 2) for k, v in
                                                                      self.uncertainty.items()},
                "pose": None if self.pose is None else self.pose.to_dict(), "track": self.track}

    def describe(self) -> str:
        """One line for people: where the face is and its keypoints, rounded to pixels."""
        points = ", ".join(f"{name} ({x:.0f}, {y:.0f})" for name, (x, y) in (self.keypoints or {}).items())
        return f"face at {list(self.box)}: {points or 'too small for keypoints'}"

    def draw(self, image: np.ndarray, labels: bool = False, what: str | Iterable[str] | None = None) -> np.ndarray:
        """Draw this face on a BGR uint8 image, in place, and return it. `what` (`drawing`): any of the box
        (yellow; red when too small), the keypoints, their names ("labels", or `labels`), the pose axis
        (`AXIS_COLOURS`, from the nose tip) and each keypoint's expected error ("uncertainty": a circle that
        wide). Lines, dots, names and the axis are sized by the face, so that a 30-px face keeps its features
        visible and a 300-px one its marks legible; the axis goes under the dots, which it would hide."""
        what = drawing(what, labels)
        x, y, w, h = self.box
        unit = max(float(w), 1.0)
        thick = max(1, round(unit / 120))
        if "box" in what:
            colour = (0, 0, 255) if self.too_small else (0, 220, 255)
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, thick, cv2.LINE_AA)
        if self.keypoints is None:
            return image
        if "labels" in what:  # under the rest, so that no leader line covers a point
            scale = label_scale(image.shape, unit)
            weight = max(1, round(scale * 1.6))
            for label in label_layout(self.keypoints, self.box, image.shape, scale):
                cv2.line(image, label.point, label.anchor, (200, 200, 200), 1, cv2.LINE_AA)
                for colour, width in (((0, 0, 0), weight + 2), ((255, 255, 255), weight)):  # outlined: any photo
                    cv2.putText(image, label.text, label.origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width,
                                cv2.LINE_AA)
        if "pose" in what and self.pose is not None and self.keypoint_set.has("nose_tip"):  # half its width long
            nose = np.array(self.point("nose_tip"))
            width = max(1, round(unit / 100))
            outline = 2 if unit >= 80 else 0  # outlined as the dots, but on a small face it would cover it
            for axis, colour in zip(self.pose.axes(), AXIS_COLOURS):
                start, tip = _fixed(nose), _fixed(nose + axis * unit / 2)
                if outline:
                    cv2.line(image, start, tip, (0, 0, 0), width + outline, cv2.LINE_AA, _SHIFT)
                cv2.line(image, start, tip, colour, width, cv2.LINE_AA, _SHIFT)
        if "uncertainty" in what and self.uncertainty is not None:
            for name, (px, py) in self.keypoints.items():
                cv2.circle(image, _fixed((px, py)), round(self.uncertainty[name] * 2 ** _SHIFT), (255, 255, 0), 1,
                           cv2.LINE_AA, _SHIFT)
        if "points" in what:
            radius = max(0.8, unit / 75)  # a 33-px face: dots under 2 px wide, apart where its eye corners are
            outline = max(0.6, unit / 250)
            # every dark rim first, then every dot: a close neighbour's rim never covers a point
            for colour, size in (((0, 0, 0), radius + outline), ((60, 255, 60), radius)):
                for point in self.keypoints.values():
                    cv2.circle(image, _fixed(point), round(size * 2 ** _SHIFT), colour, -1, cv2.LINE_AA, _SHIFT)
        return image


def _fixed(point) -> tuple[int, int]:
    """A point (x, y; pixel centres at whole numbers) in OpenCV's fixed point of `_SHIFT` fractional bits."""
    return int(round(point[0] * 2 ** _SHIFT)), int(round(point[1] * 2 ** _SHIFT))


@dataclass(frozen=True)
class Label:
    """A keypoint's name placed for drawing: text from `origin` (its baseline's left end), a leader line from
    the keypoint (`point`) to `anchor`, and the text's bounding `rect` (x, y, width, height)."""

    text: str
    point: tuple[int, int]
    origin: tuple[int, int]
    anchor: tuple[int, int]
    rect: tuple[int, int, int, int]


def label_scale(shape: tuple[int, ...], face: float | None = None) -> float:
    """Font scale for keypoint names: legible at 100 % on a small face, growing with the face (its box width,
    pixels) or, without one, with the photo; never beyond what the photo holds."""
    by_photo = float(np.clip(min(shape[:2]) / 1200, 0.4, 1.5))
    return by_photo if face is None else float(np.clip(face / 400, 0.35, max(0.35, by_photo * 1.5)))


def label_layout(keypoints: dict[str, tuple[float, float]], box: tuple[int, int, int, int],
                 shape: tuple[int, ...], scale: float) -> list[Label]:
    """Keypoint names in columns beside the face box, each in its points' top-to-bottom order, a line apart,
    inside the image: 15 names never pile up on a face a few dozen pixels wide. The points in the box's left
    half get a column on its left and the others one on its right; where the image has no room for that,
    both columns go on one side, or all names in one column."""
    height, width = shape[:2]
    x, y, w, h = box
    gap = max(6, round(w / 10))
    sizes = {name: cv2.getTextSize(name.replace("_", " "), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0]
             for name in keypoints}
    step = max(th for _, th in sizes.values()) + max(6, round(10 * scale))
    left = [name for name, (px, _) in keypoints.items() if px < x + w / 2]
    right = [name for name in keypoints if name not in left]
    wl, wr = (max((sizes[n][0] for n in names), default=0) for names in (left, right))
    for columns in (((x - gap - wl, left), (x + w + gap, right)),  # text start of each column: either side,
                    ((x + w + 2 * gap + wr, left), (x + w + gap, right)),  # both on the right,
                    ((x - gap - wl, left), (x - 2 * gap - wl - wr, right))):  # both on the left
        if all(0 <= at and at + max(sizes[n][0] for n in names) < width for at, names in columns if names):
            break
    else:  # no room for two columns: one, on the roomier side
        widest = max(sizes[n][0] for n in keypoints)
        at = x + w + gap if width - x - w >= x else x - gap - widest
        columns = ((int(np.clip(at, 0, max(0, width - widest - 1))), list(keypoints)),)
    labels = []
    for at, names in columns:
        names = sorted(names, key=lambda n: keypoints[n][1])
        span = max(sizes[n][0] for n in names) if names else 0
        tops: list[float] = []
        for name in names:  # each name at its point's height, pushed down to clear the one above
            tops.append(max(keypoints[name][1] - step / 2, tops[-1] + step if tops else 0.0))
        lift = max(0.0, tops[-1] + step - height) if tops else 0.0  # then the column lifted into the image
        for name, top in zip(names, tops):
            tw, th = sizes[name]
            top = max(0, round(top - lift))
            before = at < x  # a column before the face ends its names next to it
            tx = int(at + span - tw) if before else int(at)
            baseline = top + (step + th) // 2
            px, py = keypoints[name]
            labels.append(Label(name.replace("_", " "), (int(round(px)), int(round(py))), (tx, baseline),
                                (tx + tw + 2 if before else tx - 2, baseline - th // 2), (tx, top, tw, step)))
    return labels


def draw_faces(image: np.ndarray, faces: list[Face], labels: bool = False,
               what: str | Iterable[str] | None = None) -> np.ndarray:
    """A copy of a BGR uint8 image with each face drawn (`Face.draw`: `what` says what of it)."""
    out = image.copy()
    what = drawing(what, labels)
    for face in faces:
        face.draw(out, what=what)
    return out


def faces_from(found: Found, keypoints: np.ndarray, spread: np.ndarray, max_spread: float = MAX_SPREAD,
               uncertainty: Callable[[np.ndarray], np.ndarray] | None = None,
               keypoint_set: KeypointSet = KAGGLE_15) -> list[Face]:
    """The `Face`s of one image from its detections and the model's answers for their usable crops
    (keypoints (N, K, 2) and each keypoint's spread (N, K), crop pixels; K: `keypoint_set`'s, the model's):
    mapped back into the photo, and detections on which the model sees no face (median spread above
    `max_spread`) dropped. Too small faces come without keypoints. uncertainty: spreads (N, K) -> expected
    errors (N, K) in crop pixels (a model's `uncertainty` calibration), scaled here into photo pixels; None:
    faces without `uncertainty`."""
    names = keypoint_set.names
    spread = np.asarray(spread, np.float64)
    if spread.shape != (len(found.usable), len(names)):
        raise ValueError(f"expected spreads ({len(found.usable)}, {len(names)}), one per keypoint of "
                         f"each usable crop, got shape {spread.shape}")
    errors = uncertainty(spread) if uncertainty is not None else [None] * len(spread)
    answers = dict(zip(found.usable, zip(keypoints, spread, errors)))
    faces = []
    for i, (detection, crop) in enumerate(zip(found.detections, found.crops)):
        box = tuple(int(round(v)) for v in detection.box)
        if i not in answers:
            faces.append(Face(box, None, crop, score=detection.score, keypoint_set=keypoint_set))
            continue
        points, spreads, error = answers[i]
        if not np.isfinite(points).all():  # a broken model: the face is kept, marked, with no keypoints
            faces.append(Face(box, None, crop, score=detection.score, keypoint_set=keypoint_set, non_finite=True))
            continue
        doubt = float(np.median(spreads))
        if doubt > max_spread:  # the model sees no face there: a false detection
            continue
        photo = crop.to_photo(points)
        named = {name: (float(x), float(y)) for name, (x, y) in zip(names, photo)}
        expected = None if error is None else dict(zip(names, (error / crop.scale).tolist()))
        faces.append(Face(box, named, crop, doubt, detection.score, uncertainty=expected,
                          pose=pose_of(photo, keypoint_set, found.size), keypoint_set=keypoint_set))
    return faces


@dataclass
class FileResult:
    """The faces of one image, or of one frame of a video."""

    source: Path
    frame: int | None  # the frame's number in a video; None for a still image
    width: int = 0
    height: int = 0
    faces: list[Face] = field(default_factory=list)
    image: np.ndarray | None = field(default=None, repr=False)  # BGR uint8, when asked for (keep_images)
    fps: float = 0.0  # a video's frame rate
    error: str | None = None  # why the file (or the rest of a video) could not be read; no faces then
    not_faces: int = 0  # detections dropped because the model saw no face there (spread above max_spread)
    smaller: int = 0  # faces seen under the smallest size the detector looked for, left out (`Found.smaller`)
    # Where its annotated copy goes in a folder of pictures, without suffix (`io.walk_inputs`): its path
    # relative to the folder holding all the inputs. None: the source's own name.
    name: Path | None = None

    def to_dict(self) -> dict:
        """The JSON record `facekeypoints predict --json` writes for it; for an input (or the rest of a video)
        that could not be read, {"source", "frame", "error"} (frame: null, or the video frame that failed)."""
        if self.error is not None:
            return {"source": str(self.source), "frame": self.frame, "error": self.error}
        return {"source": str(self.source), "frame": self.frame, "width": self.width, "height": self.height,
                "faces": [face.to_dict() for face in self.faces], "not_faces": self.not_faces}

    def annotated(self, labels: bool = False, what: str | Iterable[str] | None = None) -> np.ndarray:
        """A copy of the image with its faces drawn (`Face.draw`; needs the image: `detect_files(...,
        keep_images=True)`)."""
        if self.image is None:
            raise ValueError(f"{self.source}: no image kept to draw on (detect_files(..., keep_images=True))")
        return draw_faces(self.image, self.faces, labels, what)


def answer(pending: list[tuple[FileResult, Found]], model, max_spread: float = MAX_SPREAD) -> None:
    """Each result's faces from its image's detections, the model (`predict_with_spread(crops)`, and its
    `keypoint_set` and `uncertainty` calibration if it has them) run once over all of their crops."""
    if not pending:
        return
    keypoints, spread = model.predict_with_spread(np.concatenate([found.faces for _, found in pending]))
    start = 0
    for result, found in pending:
        end = start + len(found.faces)
        result.faces = faces_from(found, keypoints[start:end], spread[start:end], max_spread,
                                  getattr(model, "uncertainty", None), getattr(model, "keypoint_set", KAGGLE_15))
        result.not_faces = len(found.detections) - len(result.faces)  # faces_from drops only those
        result.smaller = found.smaller
        start = end
