"""BlazeFace, MediaPipe's face detector, embedded: its two networks (Apache-2.0, converted from the TFLite files
in the mediapipe 0.10.21 wheel by tools/blazeface_onnx.py) run by ONNX Runtime, decoded in NumPy as MediaPipe
decodes them: anchors, sigmoid scores, weighted non-maximum suppression.

Both networks are fully convolutional, so they run on an input of any size (a multiple of 16 or 32 pixels)
and find faces of about 14-100 pixels in it wherever they are (the full-range one), or of 15-100 % of a
128-pixel view of the whole image (the short-range one, which also finds faces turned by 90 degrees). The image
is scanned at the scale that makes the smallest face asked for `FACE_PX` pixels wide, then at coarser scales
until the short-range view takes over: one pass per scale, no tiles.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from dataclasses import dataclass

import cv2
import numpy as np

from ..shipped import shipped_onnx
from .detection import Detection, Framing, ious, smallest_face

FACE_PX = 20  # the smallest face is scanned at this size: found in all of the tests on the sample photos
LARGEST_PX = 100  # the full-range net's largest reliable face: each coarser scan is FACE_PX / LARGEST_PX finer
BAND = 1024  # the scan goes in bands of at most this many rows (of the scaled image), to bound the memory
# Inputs stacked for one network run hold at most this many floats (1 MB), or are one input. On CPUs larger stacks
# are slower, not faster (a batch's feature maps leave the cache): 32 photos of 512x512 took 58 ms a photo image by
# image, 58 with stacks of 2^18 floats, 70 with 2^20, 89 with 2^22 (Xeon, AVX-512, one thread).
# benchmarks/ray_batch.py measures the batched detector against image by image.
RUN_VALUES = 1 << 18
# The least score of a face, as in MediaPipe's graphs: 0.5 for the short-range net, 0.6 for the full-range one
# (at 0.5 it took the edges of a photo pasted on a plain background for a face: 0.53).
THRESHOLD = 0.5
FULL_THRESHOLD = 0.6
NMS_IOU = 0.3  # MediaPipe's weighted NMS: boxes overlapping the best by more are merged into it
# A face turned far from upright is taken from the turned view of the short-range net that scores it highest,
# if that beats both upright views by this much (their points are poor for such faces). 0.05: the sample photos
# turned by 90 degrees score 0.06-0.11 higher in the right turn; turned by 25 degrees at most 0.03 higher in a
# wrong one.
TURNED_MARGIN = 0.05
# degrees: the sample photos turned by 90 degrees look turned by 26-76 degrees to the upright views, or the two
# disagree by 64 (astronaut.png turned by -90: the full-range net saw it upright)
TURNED_CHECK = 20
# A face that only the short-range net sees must score this much in one of its views: at 0.5 it saw a face in a
# fold of the astronaut's suit (0.51); the sample photos' faces turned by 90 degrees, which the full-range net
# misses, score 0.72-0.96.
SHORT_ALONE = 0.7


@dataclass(frozen=True)
class Net:
    """One BlazeFace network: its file, anchor layout and framing.

    Each anchor layer has a grid of the input's size / stride and adds `per_layer` anchors per cell; layers of
    equal stride share one grid. Regressors are in input pixels: box centre offset and size, then the six points
    as offsets from the anchor's centre.
    """

    name: str
    strides: tuple[int, ...]
    per_layer: int
    multiple: int  # input sides must be multiples of this (the deepest stride-2 layer)
    view: int  # the whole-image view's long side, where used
    framing: Framing

    @functools.lru_cache(maxsize=64)  # noqa: B019 (a few nets, each a few input sizes: kept for the process)
    def anchors(self, height: int, width: int) -> np.ndarray:
        """Anchor centres (A, 2) x, y in input pixels, in the network's output order (read-only)."""
        centres = []
        for stride in dict.fromkeys(self.strides):
            per_cell = self.per_layer * self.strides.count(stride)
            ys, xs = np.mgrid[0:height // stride, 0:width // stride]
            grid = np.stack([xs + 0.5, ys + 0.5], -1).reshape(-1, 1, 2) * stride
            centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
        anchors = np.concatenate(centres).astype(np.float32)
        anchors.flags.writeable = False
        return anchors


# Framings measured with `python benchmarks/framing.py blazeface` (the Kaggle crop around each net's box).
SHORT = Net("blazeface_short_range", (8, 16, 16, 16), 2, 16, 128, Framing(-0.1452, -0.2679, 1.3359))
FULL = Net("blazeface_full_range", (4,), 1, 32, 192, Framing(-0.1803, -0.2536, 1.3705))


class BlazeFaceDetector:
    """MediaPipe's BlazeFace: faces turned any way in the image plane, with six points (eyes, nose tip, mouth,
    ear tragions) that give each face's angle, so that its crop can be cut upright.

    min_size: the smallest face (box width, pixels of the image) to look for; None: `detection.smallest_face`'s
    default for each image. The time grows with (image side / min_size) squared. threshold: the least score of
    a face for the short-range net; the full-range one asks 0.1 more. threads: ONNX Runtime's intra-op threads
    (None: one per core).
    """

    def __init__(self, min_size: float | None = None, threshold: float = THRESHOLD, threads: int | None = 1):
        if min_size is not None and not min_size > 0:
            raise ValueError(f"min_size must be a positive number of pixels, got {min_size!r}")
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
        import onnxruntime as ort  # here, not at import: the package's other parts do not need it

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads, options.inter_op_num_threads = int(threads), 1
        self.sessions = {net.name: ort.InferenceSession(str(shipped_onnx(net.name)), options,
                                                        providers=["CPUExecutionProvider"]) for net in (SHORT, FULL)}
        self.min_size, self.threshold, self.threads = min_size, threshold, threads

    # Worker processes get a copy by pickling: ONNX Runtime's sessions cannot be pickled, so they are built again.
    def __getstate__(self) -> dict:
        return {"min_size": self.min_size, "threshold": self.threshold, "threads": self.threads}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """The faces of each image, as calling the detector on each finds them, with each network run once per
        input shape over all the images' views (ONNX Runtime gives each input of a batch the same answer as
        alone): images of one size share every run, others share the runs of equal shapes."""
        plans = [self._plan(image) for image in images]
        found: list[list[Detection]] = [[] for _ in images]
        answers: dict[int, list[np.ndarray] | None] = dict.fromkeys(range(len(plans)))
        while answers:
            asked = {}
            for i, answer in answers.items():
                try:
                    asked[i] = plans[i].send(answer)
                except StopIteration as done:
                    found[i] = done.value
            answers = self._run_all(asked)
        return found

    def _run_all(self, asked: dict[int, list[tuple[Net, np.ndarray]]]) -> dict[int, list[np.ndarray]]:
        """Each plan's inputs (net, BGR view) -> its raw detections, inputs of one net and padded shape stacked in
        runs of at most RUN_VALUES values (each run's float copies made only for it, to bound the memory)."""
        groups: dict[tuple, list[tuple[int, int, np.ndarray]]] = {}
        for i, inputs in asked.items():
            for k, (net, bgr) in enumerate(inputs):
                groups.setdefault((net.name, _padded_size(net, bgr)), []).append((i, k, bgr))
        answers: dict[int, list] = {i: [None] * len(inputs) for i, inputs in asked.items()}
        for (name, shape), members in groups.items():
            net = SHORT if name == SHORT.name else FULL
            step = max(1, RUN_VALUES // (shape[0] * shape[1] * 3))
            for first in range(0, len(members), step):
                chunk = members[first:first + step]
                stack = np.stack([_padded(net, bgr) for _, _, bgr in chunk])
                regressors, logits = self.sessions[name].run(None, {"input": stack})
                for (i, k, _), values, scores in zip(chunk, regressors, logits):
                    answers[i][k] = self._decode(net, values, scores, shape)
        return answers

    def _plan(self, image: np.ndarray) -> Generator[list[tuple[Net, np.ndarray]], list[np.ndarray], list[Detection]]:
        """The search of one image, as a generator: it yields the views it needs the networks' raw detections on
        (net, BGR view), is sent them back in that order, and returns the faces; `detect_batch` runs many in step."""
        # BGR throughout: the shrunk copies become RGB as each is fed to a net (`_padded`), not the full image
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        long_side = max(bgr.shape[:2])
        smallest = smallest_face(bgr.shape, self.min_size)
        # The full-range net: the smallest face at FACE_PX, then coarser until the short-range view covers the
        # faces left (down to ~0.15 of the long side; LARGEST_PX at 0.2 of it leaves a margin).
        scans = []
        scale = min(2.0, FACE_PX / smallest)
        pyramid = _Pyramid(bgr)
        while True:
            scaled = pyramid.at(scale)
            scans.append((scale, scaled.shape[0], _band_tops(FULL, scaled.shape[0]), scaled))
            if LARGEST_PX / scale >= 0.2 * long_side:
                break
            scale *= FACE_PX / LARGEST_PX
        # The short-range net on the whole image, turned by 0, 90, 180 and 270 degrees. Upright, it finds the large
        # faces, even turned by 90 degrees, but its points (and so the face's angle) are good only within about 45
        # degrees of upright: beyond, the turned view that shows the face upright scores it higher, and its points
        # are taken. The turned views are run only where a face looks turned (by TURNED_CHECK degrees, to either
        # net, or the two disagree by as much): where none does, they would change nothing. (Faces seen only in a
        # turned view are not taken: on the sample photos they were false.)
        short_scale = SHORT.view / long_side
        view = pyramid.at(short_scale)
        bands = [(FULL, scaled[top:top + BAND]) for _, _, tops, scaled in scans for top in tops]
        raw = yield bands + [(SHORT, view)]
        full, at = [], 0
        for scale, height, tops, _ in scans:
            full.append(_joined(FULL, raw[at:at + len(tops)], tops, height, scale))
            at += len(tops)
        faces = _merge(np.concatenate(full), FULL)

        def seen(found: np.ndarray, turns: int) -> list[Detection]:
            return [_unturn(face, turns, view.shape, short_scale) for face in _merge(found, SHORT)]

        upright = seen(raw[-1], 0)
        # A face the full-range net missed needs a higher score: at 0.5 the short-range one sees faces in folds.
        confirmed = len(faces)
        faces += [face for face in upright if not _overlapping(face, faces)]
        looks_turned = any(abs(face.angle) > TURNED_CHECK for face in faces) or any(
            abs(face.angle - other.angle) > TURNED_CHECK for face in faces[:confirmed]
            for other in _overlapping(face, upright))  # the two nets disagree: one of them sees it turned
        turned = []
        if looks_turned:
            raw = yield [(SHORT, np.ascontiguousarray(np.rot90(view, turns))) for turns in (1, 2, 3)]
            turned = [seen(found, turns) for found, turns in zip(raw, (1, 2, 3))]
        chosen = []
        for i, face in enumerate(faces):
            score = max([face.score] + [other.score for other in _overlapping(face, upright)])
            best = max((other for view_faces in turned for other in _overlapping(face, view_faces)),
                       key=lambda other: other.score, default=face)
            if i >= confirmed and max(face.score, best.score) < SHORT_ALONE:
                continue
            chosen.append(best if best.score > score + TURNED_MARGIN else face)
        # Faces much smaller than asked for are dropped: the scan is not made for them, and those it finds are
        # mostly false (a 24 px "face" in the border of a turned photo); a quarter less is kept, as boxes of small
        # faces come out smaller (the sample photos shrunk to 28 px faces: boxes of 23-26 px).
        return [face for face in chosen if face.box[2] >= 0.75 * smallest]

    def _scan(self, net: Net, scaled: np.ndarray, scale: float) -> np.ndarray:
        """The net's raw detections on the image resized by `scale` (`scaled`, BGR), in the image's pixels."""
        tops = _band_tops(net, scaled.shape[0])
        raw = self._run_all({0: [(net, scaled[top:top + BAND]) for top in tops]})[0]
        return _joined(net, raw, tops, scaled.shape[0], scale)

    def _decode(self, net: Net, regressors: np.ndarray, logits: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """One input's raw detections (score, box corners, points) above the threshold, in the pixels of its padded
        input of `shape`, from the network's outputs for it."""
        scores = 1 / (1 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -80, 80)))
        keep = scores >= self.threshold + (FULL_THRESHOLD - THRESHOLD if net is FULL else 0)
        anchors = np.tile(net.anchors(*shape[:2])[keep], 7)  # the centre plus the six points
        values = regressors[keep]
        centres = values[:, :2] + anchors[:, :2]
        half = values[:, 2:4] / 2
        return np.column_stack([scores[keep], centres - half, centres + half, values[:, 4:] + anchors[:, 2:]])


def _padded_size(net: Net, bgr: np.ndarray) -> tuple[int, int]:
    """The height and width of a view padded on the right and bottom to the net's multiple."""
    return -(-bgr.shape[0] // net.multiple) * net.multiple, -(-bgr.shape[1] // net.multiple) * net.multiple


def _padded(net: Net, bgr: np.ndarray) -> np.ndarray:
    """A uint8 BGR view as the net takes it: RGB in [-1, 1] as MediaPipe feeds it, padded (black) on the right and
    bottom to the net's multiple."""
    height, width = bgr.shape[:2]
    padded = np.zeros((*_padded_size(net, bgr), 3), np.float32)
    padded[:height, :width] = bgr[..., ::-1]
    return padded / 127.5 - 1


def _band_tops(net: Net, height: int) -> list[int]:
    """Where the bands of a scan of `height` rows start: BAND rows each, overlapping so that a face is whole in one
    (the scan goes in bands to bound the memory)."""
    overlap = 2 * LARGEST_PX // net.multiple * net.multiple
    tops = []
    for top in range(0, height, BAND - overlap):
        tops.append(top)
        if top + BAND >= height:
            break
    return tops


def _joined(net: Net, raw: list[np.ndarray], tops: list[int], height: int, scale: float) -> np.ndarray:
    """A scan's raw detections from those of its bands (rows of score, x0, y0, x1, y1, six points x, y), in the
    image's pixels: each face kept from the band holding its centre, away from the cut (the last band keeps the
    rest); `scale`: the image was resized by it for the scan."""
    overlap = 2 * LARGEST_PX // net.multiple * net.multiple
    rows = []
    for top, found in zip(tops, raw):
        centre_y = (found[:, 2] + found[:, 4]) / 2
        last = top + BAND >= height
        keep = (centre_y >= (overlap / 2 if top else 0)) & (last | (centre_y < BAND - overlap / 2))
        found = found[keep]
        found[:, 2::2] += top  # the y of the corners and points
        rows.append(found)
    found = np.concatenate(rows)
    found[:, 1:] /= scale
    return found


class _Pyramid:
    """An image at the scales asked for, each smaller one shrunk from the last rather than from the full image
    (two area shrinks of a 2000x1334 photo took 11 ms; from the first, much smaller one, the second is cheap)."""

    def __init__(self, image: np.ndarray):
        self.image, self.scale, self.last = image, 1.0, image

    def at(self, scale: float) -> np.ndarray:
        height, width = self.image.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if scale > 1:  # a small image, enlarged: from the original
            return cv2.resize(self.image, size, interpolation=cv2.INTER_LINEAR)
        if scale < self.scale:
            self.last, self.scale = cv2.resize(self.last, size, interpolation=cv2.INTER_AREA), scale
            return self.last
        return self.last if scale == self.scale else cv2.resize(self.image, size, interpolation=cv2.INTER_AREA)


def _overlapping(face: Detection, others: list[Detection]) -> list[Detection]:
    """The detections among `others` whose boxes overlap `face`'s by more than NMS_IOU."""
    if not others:
        return []
    corners = np.array([[x, y, x + w, y + h] for x, y, w, h in (other.box for other in others)])
    x, y, w, h = face.box
    return [other for other, iou in zip(others, ious(np.array([x, y, x + w, y + h]), corners)) if iou > NMS_IOU]


def _merge(found: np.ndarray, net: Net) -> list[Detection]:
    """MediaPipe's weighted non-maximum suppression: the best-scoring detection and all that overlap it by more
    than NMS_IOU become one, their boxes and points averaged by score, with the best one's score."""
    found = found[np.argsort(-found[:, 0], kind="stable")]
    corners = found[:, 1:5]
    left = np.ones(len(found), bool)
    merged = []
    for best in range(len(found)):
        if not left[best]:
            continue
        group = left & (ious(corners[best], corners) > NMS_IOU)
        group[best] = True
        left &= ~group
        weights = found[group, :1]
        mean = (found[group, 1:] * weights).sum(0) / weights.sum()
        x0, y0, x1, y1 = mean[:4]
        merged.append(Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(found[best, 0]),
                                mean[4:].reshape(6, 2), net.framing))
    return merged


def _unturn(face: Detection, turns: int, shape: tuple[int, ...], scale: float) -> Detection:
    """A detection in `np.rot90(image, turns)` of an image of `shape`, resized by `scale`, mapped back into the
    image's own pixels."""
    corners = np.array([face.box[:2], np.add(face.box[:2], face.box[2:])])
    points = np.concatenate([corners, face.points])
    for undone in range(turns, 0, -1):  # rot90 turns counter-clockwise: (x, y) came from (width - y, x)
        width = shape[1] if (undone - 1) % 2 == 0 else shape[0]  # of rot90(image, undone - 1)
        points = np.column_stack([width - points[:, 1], points[:, 0]])
    points = points / scale
    low, high = points[:2].min(axis=0), points[:2].max(axis=0)
    return Detection((*low, *(high - low)), face.score, points[2:], face.framing)
