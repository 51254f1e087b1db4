"""BlazeFace, MediaPipe's face detector, embedded: its networks (Apache-2.0, converted from the TFLite files in
the mediapipe 0.10.21 wheel by tools/blazeface_onnx.py) run by ONNX Runtime, decoded in NumPy as MediaPipe
decodes them: anchors, sigmoid scores, weighted non-maximum suppression.

The short-range network is fully convolutional: it runs on an input of any size (a multiple of 16 pixels) and
finds faces of about 28-128 pixels in it wherever they are. The image is scanned at the scale that makes the
smallest face asked for `FACE_PX` wide, then at coarser scales, each covering the sizes the last did not, down
to a `VIEW`-pixel view of the whole image: one pass per scale, no tiles, and no face size between two passes.
A face that looks turned, or that the scan is not sure of, is looked at again in small windows about it turned
to show it upright (`_upright`): faces at any angle in the image plane, upside down included, with points
good enough to cut their crop upright. (The full-range network, whose file is shipped too, is not used: it
found fewer faces at every size; see docs/detection.md.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..shipped import shipped_onnx
from .detection import Detection, Framing, ious, smallest_face

# The short-range net scores the shared photos' faces 0.57-0.94 where they are 28-110 px wide in its input (at
# 20 px 0.13-0.92; the full-range net 0.00-0.96 at 14-110 px, under 0.5 for some faces at every size):
# the image is scanned at the scale that makes the smallest face asked for FACE_PX wide, then at coarser scales,
# each FACE_PX / LARGEST_PX of the last, so that each face size is inside the reliable band of one pass, until
# the whole image fits one VIEW-pixel view (which takes faces up to the whole image).
FACE_PX = 28
LARGEST_PX = 128  # as in the VIEW itself, which takes faces up to its whole side
VIEW = 128  # the short-range net's own input: its coarsest pass shrinks the whole image to this long side
MAX_ZOOM = 2.0  # a small image is enlarged at most this much (small faces in it are not made up from nothing)
# Inputs stacked for one network run across a batch's images (`detect_batch`) hold at most this many floats (1 MB),
# or are one input: on CPUs larger stacks are slower, not faster (benchmarks/ray_batch.py).
RUN_VALUES = 1 << 18
BAND = 1024  # the scan goes in bands of at most this many rows (of the scaled image), to bound the memory
NMS_IOU = 0.3  # MediaPipe's weighted NMS: boxes overlapping the best by more are merged into it
# A face must score THRESHOLD seen upright. The scan takes what scores CANDIDATE (at 0.5, MediaPipe's own
# threshold, the scan of a 560-px image saw faces in folds of clothes and walls: 0.52-0.77); a candidate that
# scores under THRESHOLD or looks turned by more than UPRIGHT degrees (the net's points, and so the crop's angle,
# are good within about 45 degrees of upright) is looked at again in VIEW-pixel windows about it turned by its
# angle, and by a further 180, 90 and -90 degrees, until one shows it upright with SURE's score (the net sees an
# upside-down face as upright too, but scores it 0.44-0.77 where the shared photos' faces score 0.84-0.96 seen
# upright); one that scores THRESHOLD upright in the scan is looked at turned over only.
# At most REFINED candidates are looked at again, best first (each costs one to five VIEW-pixel runs, the fifth
# for a face seen better turned than upright in every window: `_upright`): false ones mostly stay
# under the threshold (a fold of the astronaut's suit scored 0.76 in a window: THRESHOLD is above it).
THRESHOLD = 0.8
CANDIDATE = 0.45
UPRIGHT = 20
REFINED = 8
SURE = 0.9
TURNED = 0.75  # the least score of a face seen turned in its window for one more window turned by its angle
WINDOW = 2.2  # the window's side, in face box sides: the face ~58 px in it, in the net's reliable band


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
    a face. threads: ONNX Runtime's intra-op threads (None: one per core).
    """

    def __init__(self, min_size: float | None = None, threshold: float = THRESHOLD, threads: int | None = 1):
        if min_size is not None and not min_size > 0:
            raise ValueError(f"min_size must be a positive number of pixels, got {min_size!r}")
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
        self.min_size, self.threshold, self.threads = min_size, threshold, threads
        self.sessions: dict = {}
        self.smaller = 0  # in the last image: faces seen under the smallest size asked for, left out
        self._session(SHORT)  # now, not at the first image: a missing onnxruntime or file says so at once

    def _session(self, net: Net):
        if net.name not in self.sessions:
            import onnxruntime as ort  # here, not at import: the package's other parts do not need it

            options = ort.SessionOptions()
            if self.threads:
                options.intra_op_num_threads, options.inter_op_num_threads = int(self.threads), 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the keypoint model's
            self.sessions[net.name] = ort.InferenceSession(str(shipped_onnx(net.name)), options,
                                                           providers=["CPUExecutionProvider"])
        return self.sessions[net.name]

    # Worker processes get a copy by pickling: ONNX Runtime's sessions cannot be pickled, so they are built again.
    def __getstate__(self) -> dict:
        return {"min_size": self.min_size, "threshold": self.threshold, "threads": self.threads}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def scales(self, shape: tuple[int, ...]) -> list[float]:
        """The scales the image is scanned at, finest first: the smallest face asked for at FACE_PX, then each
        FACE_PX / LARGEST_PX of the last, the last one the whole image in one VIEW-pixel view. Each face size
        from the smallest up to the whole image is within FACE_PX-LARGEST_PX pixels at one of them."""
        view = VIEW / max(shape[:2])
        scale, scales = min(MAX_ZOOM, FACE_PX / smallest_face(shape, self.min_size)), []
        while scale > view:
            scales.append(scale)
            if LARGEST_PX / scale >= FACE_PX / view:  # the view takes the faces too large for this pass
                break
            scale *= FACE_PX / LARGEST_PX
        return scales + [view]

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """The faces of each image, as calling the detector on each finds them, each network run stacked over
        the images' inputs of one shape (`_plan`: each image's search, step by step)."""
        plans = [self._plan(image) for image in images]
        found: list[list[Detection]] = [[] for _ in images]
        smaller = [0] * len(images)
        answers: dict[int, list[np.ndarray] | None] = dict.fromkeys(range(len(plans)))
        while answers:
            asked = {}
            for i, answer in answers.items():
                try:
                    asked[i] = plans[i].send(answer)
                except StopIteration as done:
                    found[i], smaller[i] = done.value
            answers = self._run_all(asked)
        self.smaller = smaller[-1] if smaller else 0
        return found

    def _run_all(self, asked: dict[int, list[np.ndarray]]) -> dict[int, list[np.ndarray]]:
        """Each plan's inputs (BGR, for the short-range net) -> their raw detections (CANDIDATE and up), inputs of
        one padded shape stacked in runs of at most RUN_VALUES values."""
        groups: dict[tuple[int, int], list[tuple[int, int, np.ndarray]]] = {}
        for i, inputs in asked.items():
            for k, bgr in enumerate(inputs):
                shape = (-(-bgr.shape[0] // SHORT.multiple) * SHORT.multiple,
                         -(-bgr.shape[1] // SHORT.multiple) * SHORT.multiple)
                groups.setdefault(shape, []).append((i, k, bgr))
        answers: dict[int, list] = {i: [None] * len(inputs) for i, inputs in asked.items()}
        for shape, members in groups.items():
            step = max(1, RUN_VALUES // (shape[0] * shape[1] * 3))
            for first in range(0, len(members), step):
                chunk = members[first:first + step]
                for (i, k, _), raw in zip(chunk, self._run_batch(SHORT, [bgr for _, _, bgr in chunk], CANDIDATE)):
                    answers[i][k] = raw
        return answers

    def _plan(self, image: np.ndarray):
        """One image's search as a generator: it yields the inputs it needs run (BGR), is sent their raw
        detections in that order, and returns (the faces, how many it saw under the smallest size asked)."""
        # BGR throughout: the shrunk copies become RGB as each is fed to the net (`_run`), not the full image
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        smallest = smallest_face(bgr.shape, self.min_size)
        pyramid = _Pyramid(bgr)
        levels = [(scale, pyramid.at(scale)) for scale in self.scales(bgr.shape)]
        bands = [_bands(SHORT, scaled) for _, scaled in levels[:-1]]
        # The whole-image view also turned over, in the same call (a camera upside down): a large upside-down face
        # may score under CANDIDATE upright. Its candidates are not merged with the upright ones (their points
        # would average with upside-down ones), only added where none is.
        view_scale, view = levels[-1]
        raws = yield [band for level in bands for _, band in level] + [view, np.ascontiguousarray(view[::-1, ::-1])]
        rows, start = [], 0
        for (scale, scaled), level in zip(levels, bands):
            rows.append(_joined(SHORT, raws[start:start + len(level)], [top for top, _ in level], scaled.shape[0],
                                scale))
            start += len(level)
        upright, over = raws[-2:]
        over[:, 1::2], over[:, 2::2] = view.shape[1] - over[:, 1::2], view.shape[0] - over[:, 2::2]
        over[:, 1:5] = over[:, [3, 4, 1, 2]]  # the corners swap as the box turns
        found = _merge(np.concatenate(rows + [_unscaled(upright, view_scale)]), SHORT)
        found += [face for face in _merge(_unscaled(over, view_scale), SHORT) if not _overlapping(face, found)]
        found.sort(key=lambda face: -face.score)
        # Faces much smaller than asked for are dropped: the scan is not made for them, and those it finds are
        # mostly false; a quarter less is kept, as boxes of small faces come out smaller (the sample photos
        # shrunk to 28 px faces: boxes of 23-26 px).
        # Those seen as surely as a face is taken are counted (`smaller`), so that a summary can say what to ask.
        smaller = sum(face.score >= self.threshold for face in found if face.box[2] < 0.75 * smallest)
        found = [face for face in found if face.box[2] >= 0.75 * smallest]
        # A face that looks turned, or scores under the threshold, is looked at again upright (`_upright`); the
        # upright and confident ones, nearly all faces of most photos, cost nothing more.
        # The windows are cut from the scan's images, the image's halvings or the image itself: one of them holds
        # a window at 3/4 to 1.5 times its pixels, which needs no shrinking by area first (`_window`).
        levels += pyramid.halved(VIEW) + [(1.0, bgr)]
        chosen, looked = [], 0
        for face in found:  # best first
            upright = abs(face.angle) <= UPRIGHT
            x, y, w, h = face.box
            if any(cx <= x + w / 2 <= cx + cw and cy <= y + h / 2 <= cy + ch for cx, cy, cw, ch in
                   (other.box for other in chosen)):
                continue  # a part of a face taken already, as another scale saw it (faces do not nest)
            if face.score >= SURE and upright:
                chosen.append(face)
            elif looked == REFINED:  # past the budget: taken as the scan saw it, or not at all
                if face.score >= self.threshold and upright:
                    chosen.append(face)
            elif face.score >= self.threshold and upright:  # an upside-down face may look upright: turned over
                looked += 1
                over = yield from self._upright(levels, face, ((180,),))
                chosen.append(over if over is not None and over.score > face.score else face)
            else:
                looked += 1
                seen = yield from self._upright(levels, face)
                if seen is not None:
                    chosen.append(seen)
        chosen = [face for face in chosen if face.box[2] >= 0.75 * smallest]
        chosen.sort(key=lambda face: -face.score)  # one face seen twice (two candidates, one window) once
        kept: list[Detection] = []
        for face in chosen:
            if not _overlapping(face, kept):
                kept.append(face)
        return kept, smaller

    def _upright(self, levels: list[tuple[float, np.ndarray]], face: Detection,
                 turns: tuple[tuple[int, ...], ...] = ((0,), (180, 90, -90))) -> Detection | None:
        """The face seen again in VIEW-pixel windows about it, turned by its angle and by a further 180, 90 and
        -90 degrees (`turns`: the further turns, in groups run together, until one scores SURE): the
        best-scoring detection at a window's centre, of about the face's size, that looks upright there (its
        points then hold), mapped back into the image, if it scores at least the threshold; else None. The net
        sees an upside-down face as upright too, with its points upside down, but scores it lower (0.44-0.77 for
        the shared photos' faces) than the window that shows it upright. A face seen better turned than upright
        in every window gets one more, turned by the angle it was seen at. `levels`: (scale, the image resized by
        it); the windows are cut from the smallest that shows the face at least 3/4 of their size, so that few
        are shrunk or enlarged much."""
        x, y, w, h = face.box
        side = WINDOW * max(w, h)
        fits = [level for level in levels if side * level[0] >= 0.75 * VIEW]
        scale, source = min(fits, key=lambda level: level[0]) if fits else max(levels, key=lambda level: level[0])
        full = levels[-1][1]  # the image: the level's own scale per axis, as its size was rounded
        per_axis = np.array([source.shape[1] / full.shape[1], source.shape[0] / full.shape[0]])
        centre = (x + w / 2) * per_axis[0], (y + h / 2) * per_axis[1]
        best = turned = None  # the best centred face upright in its window, and at any angle
        for extras in turns:  # by default the other three turns in one call, if the first is not sure
            windows = [_window(source, centre, side * scale, face.angle + extra) for extra in extras]
            runs = yield [pixels for pixels, _ in windows]
            for (_, back), raw in zip(windows, runs):
                seen, back = self._centred(raw, side, w), back / per_axis[:, None]  # into the image's own pixels
                best = _better(_upright_only(seen), best, back, side / VIEW)
                turned = _better(seen, turned, back, side / VIEW)
            if best is not None and best.score >= SURE:
                break
        # Seen better turned than upright in every window (a sideways face whose angle in the scan was off by
        # 45 degrees or more): once more, in a window turned by the angle it was seen at.
        if turned is not None and turned.score >= TURNED and (best is None or best.score < min(SURE, turned.score)):
            tx, ty, tw, th = turned.box
            window, back = _window(source, ((tx + tw / 2) * per_axis[0], (ty + th / 2) * per_axis[1]),
                                   side * scale, turned.angle)
            raw, = yield [window]
            best = _better(_upright_only(self._centred(raw, side, w)), best, back / per_axis[:, None], side / VIEW)
        return best if best is not None and best.score >= self.threshold else None

    @staticmethod
    def _centred(raw: np.ndarray, side: float, width: float) -> list[Detection]:
        """A window's detections at its centre and of about the face's size (`width` in the image; the window's
        side is `side` image pixels), at any angle."""
        return [f for f in _merge(raw, SHORT) if abs(f.box[0] + f.box[2] / 2 - VIEW / 2) < VIEW / 4
                and abs(f.box[1] + f.box[3] / 2 - VIEW / 2) < VIEW / 4 and 0.5 < f.box[2] * side / VIEW / width < 2]

    def _scan(self, net: Net, scaled: np.ndarray, scale: float, threshold: float | None = None) -> np.ndarray:
        """The net's raw detections on the image resized by `scale` (`scaled`), in bands: rows of (score, x0, y0,
        x1, y1, six points x, y) in the image's pixels. `scaled` is BGR."""
        bands = _bands(net, scaled)
        return _joined(net, [self._run(net, band, threshold) for _, band in bands], [top for top, _ in bands],
                       scaled.shape[0], scale)

    def _run(self, net: Net, bgr: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Raw detections (score, box corners, points) scoring at least `threshold` (default: the detector's) on
        one uint8 BGR input, fed as RGB, padded on the right and bottom to the net's multiple, in its pixels."""
        return self._run_batch(net, [bgr], threshold)[0]

    def _run_batch(self, net: Net, images: list[np.ndarray], threshold: float | None = None) -> list[np.ndarray]:
        """`_run` on several inputs of one size, in one call of the net."""
        height, width = max(i.shape[0] for i in images), max(i.shape[1] for i in images)
        # As MediaPipe feeds it: RGB in [-1, 1]; the padding is black (-1). Each input is turned to RGB by OpenCV
        # and scaled in place (a third of the time of NumPy's reversed-channel copy and a new array per step).
        padded = np.full((len(images), -(-height // net.multiple) * net.multiple,
                          -(-width // net.multiple) * net.multiple, 3), -1.0, np.float32)
        for one, bgr in zip(padded, images):  # inputs of one padded size, each at the top left
            inside = one[:bgr.shape[0], :bgr.shape[1]]
            inside[...] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.dtype == np.uint8 else bgr[..., 2::-1]
            inside *= 1 / 127.5
            inside -= 1
        regressors, logits = self._session(net).run(None, {"input": padded})
        anchors = net.anchors(*padded.shape[1:3])
        least = self.threshold if threshold is None else threshold
        with np.errstate(divide="ignore"):  # the score's threshold as a logit (-inf at 0, inf at 1): the sigmoid of
            least_logit = np.log(least) - np.log1p(-least)  # the few kept only
        found = []
        for values, logit in zip(regressors, logits[..., 0]):
            keep = logit >= least_logit
            scores = 1 / (1 + np.exp(-np.clip(logit[keep].astype(np.float64), -80, 80)))
            points = np.tile(anchors[keep], 7)  # the centre plus the six points
            values = values[keep]
            centres = values[:, :2] + points[:, :2]
            half = values[:, 2:4] / 2
            found.append(np.column_stack([scores, centres - half, centres + half, values[:, 4:] + points[:, 2:]]))
        return found


def _bands(net: Net, scaled: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The bands (top row, rows) a scaled image is scanned in: at most BAND rows each, overlapping so that a face
    is whole in one."""
    overlap = 2 * LARGEST_PX // net.multiple * net.multiple
    bands = []
    for top in range(0, scaled.shape[0], BAND - overlap):
        bands.append((top, scaled[top:top + BAND]))
        if top + BAND >= scaled.shape[0]:
            break
    return bands


def _joined(net: Net, raws: list[np.ndarray], tops: list[int], height: int, scale: float) -> np.ndarray:
    """The bands' raw detections as one image's, in its own pixels: each face kept in the band holding its
    centre, away from the cut (the last band keeps the rest)."""
    overlap = 2 * LARGEST_PX // net.multiple * net.multiple
    rows = []
    for top, found in zip(tops, raws):
        centre_y = (found[:, 2] + found[:, 4]) / 2
        last = top + BAND >= height
        keep = (centre_y >= (overlap / 2 if top else 0)) & (last | (centre_y < BAND - overlap / 2))
        found = found[keep].copy()
        found[:, 2::2] += top  # the y of the corners and points
        rows.append(found)
    found = np.concatenate(rows)
    found[:, 1:] /= scale
    return found


def _unscaled(rows: np.ndarray, scale: float) -> np.ndarray:
    """Raw detections in an image resized by `scale`, in the image's own pixels."""
    rows = rows.copy()
    rows[:, 1:] /= scale
    return rows


def _window(bgr: np.ndarray, centre: tuple[float, float], side: float, angle: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """The VIEW x VIEW window of side `side` (image pixels) about `centre`, turned by `angle` degrees (clockwise
    on screen) so that a face turned by as much is upright in it (edges replicated beyond the image); and the
    affine map (2, 3) from the window's pixels back to the image's. A large window is first shrunk by area, as
    a turn alone would alias it."""
    shrink = max(1.0, side / (2 * VIEW))
    source, offset = bgr, np.zeros(2)
    if shrink > 1:  # only the square that holds the turned window, shrunk
        reach = side * 0.75  # half the diagonal, with a margin
        x0, y0 = (max(0, int(c - reach)) for c in centre)
        x1, y1 = min(bgr.shape[1], int(centre[0] + reach) + 1), min(bgr.shape[0], int(centre[1] + reach) + 1)
        part = bgr[y0:y1, x0:x1]
        size = (max(1, round(part.shape[1] / shrink)), max(1, round(part.shape[0] / shrink)))
        source = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        offset = np.array([x0, y0], float)
        shrink_xy = np.array([part.shape[1] / size[0], part.shape[0] / size[1]])
    else:
        shrink_xy = np.ones(2)
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    turn = np.array([[cos, -sin], [sin, cos]]) * (side / VIEW)  # window pixel offsets -> image pixel offsets
    # window pixel (u, v) (edges) -> image pixel edges: centre + turn @ ((u, v) - VIEW / 2)
    back = np.column_stack([turn, np.asarray(centre) - turn @ np.full(2, VIEW / 2)])
    # into the source's pixel centres: (edge - offset) / shrink - 0.5, window pixel centres at u + 0.5
    matrix = back.copy()
    matrix[:, 2] = back[:, 2] + back[:, :2] @ np.full(2, 0.5)
    matrix = (matrix - np.column_stack([np.zeros((2, 2)), offset])) / shrink_xy[:, None]
    matrix[:, 2] -= 0.5
    window = cv2.warpAffine(source, matrix, (VIEW, VIEW), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    return window, back


def _upright_only(found: list[Detection]) -> list[Detection]:
    """The detections within 45 degrees of upright in their window: their points, and so their crops, hold."""
    return [f for f in found if abs(f.angle) <= 45]


def _better(found: list[Detection], than: Detection | None, back: np.ndarray, scale: float) -> Detection | None:
    """The best-scoring of a window's detections mapped into the image (`_mapped`), if it scores above `than`;
    else `than`."""
    if not found:
        return than
    top = max(found, key=lambda f: f.score)
    return _mapped(top, back, scale) if than is None or top.score > than.score else than


def _mapped(face: Detection, back: np.ndarray, scale: float) -> Detection:
    """A detection in a window mapped into the image by the window's affine map `back`: its points exactly, its
    box as the same size (x `scale`) about its mapped centre (the face's extent in its own frame)."""
    x, y, w, h = face.box
    centre = back[:, :2] @ (x + w / 2, y + h / 2) + back[:, 2]
    w, h = w * scale, h * scale
    return Detection((float(centre[0] - w / 2), float(centre[1] - h / 2), w, h), face.score,
                     face.points @ back[:, :2].T + back[:, 2], face.framing)


class _Pyramid:
    """An image at the scales asked for, each resized from the smallest exact halving of the image at least as
    large as asked: halving even sides by area is OpenCV's fast path, and the last shrink, by less than two, is
    bilinear (a 1920x1920 photo to 560x560 took 3.5 ms so, 11 ms in one area resize, whose non-integer factors
    are slow). A face's best score in the 560-pixel pass differs from that of one area resize by 0.029 at most and
    -0.0006 on average (the shared photos' faces at 24-56 px in it, in five backgrounds of 640-1920 px)."""

    def __init__(self, image: np.ndarray):
        self.image, self.halvings = image, [image]

    def at(self, scale: float) -> np.ndarray:
        height, width = self.image.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if scale >= 1:  # a small image, enlarged: from the original
            return self.image if size == (width, height) else cv2.resize(self.image, size,
                                                                          interpolation=cv2.INTER_LINEAR)
        while self.halvings[-1].shape[1] // 2 >= size[0] and self.halvings[-1].shape[0] // 2 >= size[1]:
            self._halve()
        source = next(image for image in reversed(self.halvings)
                      if image.shape[1] >= size[0] and image.shape[0] >= size[1])
        return source if source.shape[1::-1] == size else cv2.resize(source, size, interpolation=cv2.INTER_LINEAR)

    def halved(self, least: int) -> list[tuple[float, np.ndarray]]:
        """(scale, image) of the image's halvings, down to the first whose long side is at most `least`."""
        while max(self.halvings[-1].shape[:2]) > least and min(self.halvings[-1].shape[:2]) >= 2:
            self._halve()
        return [(0.5 ** k, image) for k, image in enumerate(self.halvings) if k]

    def _halve(self) -> None:
        last = self.halvings[-1]
        half = last.shape[0] // 2, last.shape[1] // 2  # an odd last row or column is left out
        self.halvings.append(cv2.resize(last[:2 * half[0], :2 * half[1]], half[::-1], interpolation=cv2.INTER_AREA))


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
