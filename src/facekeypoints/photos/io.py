"""Images, folders and videos in: decoding to grey or 8-bit colour, and walking the inputs of a batch."""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np
from PIL import Image

from .._media import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from ..errors import FacekeypointsError

# Images with more pixels are refused before they are decoded. 150 MP takes the largest photos cameras make
# (150 MP medium format) while one decoded image stays near 0.5 GB (8-bit colour, twice at 16 bits), several of
# which are in flight at once; far below it OpenCV's own refusal (2^30 pixels) aborts, and OpenCV's face
# detector crashed the process on 400 MP (20000x20000). Pillow reads the size from the header; it refuses
# itself above 179 MP (2 * PIL.Image.MAX_IMAGE_PIXELS), where a larger limit is checked after decoding.
MAX_PIXELS = 150_000_000
# What one image file may cost to read: at most 8 bytes a pixel of `max_pixels` (16-bit RGBA stored raw), and
# where the header states the size, at most 8 bytes a stated pixel plus SLACK_BYTES (EXIF, thumbnails, the
# video a "motion photo" carries after its JPEG). The whole file is read into memory to be decoded, so
# without it a 2 GB file that begins with a small JPEG would be read whole.
SLACK_BYTES = 64 << 20

# frames() reports what it cannot decode; libav's own lines on stderr (e.g. "[mjpeg @ 0x...] overread 8") only
# add noise. Read by OpenCV when it first opens a video; a value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class ImageError(FacekeypointsError):
    """An image file that cannot be read or decoded."""


class ImageTooLarge(ImageError):
    """An image of more pixels than the limit (`max_pixels`): refused, from its header where it can be."""


def _read_error(path: Path, exc: OSError) -> ImageError:
    if path.is_symlink() and not path.exists():
        why = "a broken link"
    elif path.is_dir():  # a folder that expand_inputs could not list
        try:
            os.listdir(path)
            why = "a folder"
        except OSError as listing:
            why = f"a folder that cannot be listed: {listing.strerror}"
    else:
        why = exc.strerror or str(exc)
    return ImageError(f"{path}: cannot read ({why})")


def _declared_pixels(file) -> tuple[float, str] | None:
    """How many pixels an open image file declares in its header (read by Pillow, no pixel decoded), and how to
    say it; None where Pillow cannot tell (a format it does not read, a broken header: OpenCV will say)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow on broken or large headers: OpenCV and the limit say it
        try:
            with Image.open(file) as image:
                width, height = image.size
                return width * height, f"{width}x{height} pixels"
        except Image.DecompressionBombError:  # above Pillow's own limit: at least that many
            least = 2 * Image.MAX_IMAGE_PIXELS
            return least + 1, f"more than {least / 1e6:.0f} MP"
        except Exception:
            return None


def _refuse_large(source, pixels: float, described: str, max_pixels: float) -> None:
    if pixels > max_pixels:
        raise ImageTooLarge(f"{source}: {described}, over the limit of {max_pixels / 1e6:g} MP (max_pixels, "
                         "--max-pixels)")


def _kind(mode: int) -> str:
    return ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "not a regular file")


def open_regular(path: Path):
    """`path` opened for reading, if it is a regular file (checked before opening, which blocks on a FIFO and
    may never end on a device); else ImageError, saying what it is."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise OSError(None, None)  # said by _read_error: a folder, or one that cannot be listed
            raise ImageError(f"{path}: {_kind(mode)}, not an image or video file")
        # O_NONBLOCK: a FIFO put in its place since the check still does not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ImageError(f"{path}: not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except OSError as exc:
        raise _read_error(path, exc) from None


def decode_image(path: str | Path, max_pixels: float = MAX_PIXELS, exif: bool = True) -> np.ndarray:
    """Decode an image file to BGR (H, W, 3), 8 or 16 bits as stored (float files: 8 bits), EXIF orientation
    applied (unless `exif` is false: the pixels as stored); alpha dropped. An image of more than `max_pixels` is
    refused (ImageError), from its header before decoding where it can; so is what is not a regular file, and a
    file larger than its pixels can need (`SLACK_BYTES`), before it is read."""
    path = Path(path)
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        declared = _declared_pixels(file)
        limit = 8 * max_pixels
        if declared is not None:
            _refuse_large(path, *declared, max_pixels)
            limit = min(limit, 8 * declared[0] + SLACK_BYTES)
        if size > limit:
            raise ImageError(f"{path}: {size / 1e6:.0f} MB, more than an image of "
                             f"{declared[1] if declared else f'{max_pixels / 1e6:g} MP (max_pixels)'} can need: "
                             "refused unread")
        try:
            file.seek(0)
            encoded = np.fromfile(file, np.uint8, count=size)  # works for any file name, unlike cv2.imread
        except OSError as exc:
            raise _read_error(path, exc) from None
    return _decode(encoded, path, max_pixels, exif)


def decode_bytes(encoded: bytes | np.ndarray, source: str | Path = "the image", max_pixels: float = MAX_PIXELS
                 ) -> np.ndarray:
    """As `decode_image`, for an image file's bytes (an upload): the same pixel-count check, from the header
    before decoding; `source` names it in the errors."""
    encoded = np.frombuffer(encoded, np.uint8) if isinstance(encoded, (bytes, bytearray, memoryview)) else encoded
    declared = _declared_pixels(BytesIO(encoded))
    if declared is not None:
        _refuse_large(source, *declared, max_pixels)
    return _decode(encoded, source, max_pixels)


def _decode(encoded: np.ndarray, source, max_pixels: float, exif: bool = True) -> np.ndarray:
    """An image file's bytes, decoded as `decode_image` says; `source` names it in the errors."""
    image = None
    # IMREAD_COLOR applies the EXIF orientation (IMREAD_UNCHANGED would not); ANYDEPTH keeps 16 bits. Some
    # files (a one-channel float TIFF) decode only as they are stored.
    first = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH | (0 if exif else cv2.IMREAD_IGNORE_ORIENTATION)
    for flags in (first, cv2.IMREAD_UNCHANGED):
        try:
            with _quiet_opencv():  # why it fails is said here, once
                image = cv2.imdecode(encoded, flags) if len(encoded) else None
        except cv2.error as exc:  # e.g. over OpenCV's own pixel limit
            raise ImageError(f"{source}: OpenCV cannot decode it ({exc.err.strip()})") from None
        if image is not None:
            break
    if image is None:
        raise ImageError(f"{source}: not an image OpenCV can decode")
    height, width = image.shape[:2]
    _refuse_large(source, width * height, f"{width}x{height} pixels", max_pixels)  # where the header did not say
    if image.dtype not in (np.uint8, np.uint16):  # float TIFF, PFM, HDR; 32-bit integer TIFF
        try:
            image = to_uint8(image)
        except (ValueError, TypeError) as exc:
            raise ImageError(f"{source}: {image.dtype} pixels that are not 8-bit levels ({exc})") from None
    if image.ndim == 2 or image.shape[2] != 3:
        image = image[..., :3] if image.ndim == 3 and image.shape[2] >= 3 else cv2.cvtColor(
            image if image.ndim == 2 else image[..., 0], cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def read_image(path: str | Path, max_pixels: float = MAX_PIXELS) -> np.ndarray:
    """Decode an image file to uint8 grey (H, W), honouring EXIF orientation (what `decode_image` takes).

    Colour, grey, 16-bit and images with alpha are all accepted (alpha is dropped, 16-bit scaled to 8).
    """
    return to_grey(decode_image(path, max_pixels), "bgr")


def read_colour(path: str | Path, max_pixels: float = MAX_PIXELS, exif: bool = True) -> np.ndarray:
    """An image file as 8-bit BGR (H, W, 3) for drawing on, EXIF orientation applied (unless `exif` is false)."""
    return eight_bit(decode_image(path, max_pixels, exif))


def eight_bit(image: np.ndarray) -> np.ndarray:
    """A decoded BGR image (`decode_image`, `decode_bytes`) as 8-bit BGR: 16-bit images by way of grey, as the
    photo pipeline reads them (`read_colour`)."""
    if image.dtype != np.uint8:
        image = cv2.cvtColor(to_grey(image, "bgr"), cv2.COLOR_GRAY2BGR)
    return image


def to_uint8(levels) -> np.ndarray:
    """uint8 grey levels from an array of numbers, by what its type and range say without doubt: uint8 as it
    is; uint16 as 16 bits (/ 257); bool as 0 / 255; other integers in 0-255; floats in [0, 1] (x 255) or,
    where some exceed 1, in [0, 255]. Anything else is refused (ValueError, TypeError) rather than guessed:
    negative or larger levels, NaN, infinities."""
    levels = np.asarray(levels)
    dtype = levels.dtype
    if dtype == np.uint8:
        return levels
    if dtype.kind not in "biuf":
        raise TypeError(f"expected an array of grey levels (numbers), got dtype {dtype}")
    if not dtype.isnative:  # big-endian data: OpenCV and the models take native order
        levels = levels.astype(dtype.newbyteorder("="))
    if dtype.kind == "b":
        return levels.astype(np.uint8) * np.uint8(255)
    if levels.dtype == np.uint16:
        return (levels / 257).round().astype(np.uint8)
    if levels.size == 0:
        return levels.astype(np.uint8)
    low, high = levels.min(), levels.max()
    if dtype.kind in "iu":
        if low < 0 or high > 255:
            raise ValueError(f"expected grey levels in 0-255 (a uint16 array for 16 bits), got {dtype} values "
                             f"from {low} to {high}")
        return levels.astype(np.uint8)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
        raise ValueError(f"expected float grey levels in [0, 1] or [0, 255], got values from {low} to {high}")
    scale = 255 if high <= 1 else 1  # nothing above 1: a [0, 1] image (a 0-255 one would be black anyway)
    return np.rint(levels.astype(np.float32) * scale).astype(np.uint8)


def _pil_levels(image: Image.Image) -> np.ndarray:
    """A PIL image's pixels: 16-bit ("I;16"), integer ("I") and float ("F") greys as they are, so that
    `to_uint8` scales them by their type (converting them to RGB would clip them to 255); the rest as RGB."""
    return np.asarray(image if image.mode.startswith(("I", "F")) else image.convert("RGB"))


def to_image(image, channels: str = "rgb") -> np.ndarray:
    """uint8 grey (H, W) or BGR (H, W, 3) from a grey or colour array (H, W[, 1, 3 or 4]), or a PIL image.
    `channels` says the colour order of an array: "rgb" (PIL, matplotlib, scikit-image) or "bgr" (OpenCV). The
    levels are read as `to_uint8` says (uint8, uint16, bool, integers in 0-255, floats in [0, 1] or [0, 255]);
    anything else is refused with a ValueError or TypeError that says what was expected."""
    if channels not in ("rgb", "bgr"):
        raise ValueError(f'expected channels "rgb" or "bgr", got {channels!r}')
    if isinstance(image, Image.Image):
        image, channels = _pil_levels(image), "rgb"
    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise TypeError(f"expected an image: a file path, a PIL image or an array of numbers, got "
                        f"{type(image).__name__} of dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] in (1, 3, 4):
        image = image[..., 0] if image.shape[2] == 1 else image[..., :3]  # alpha is dropped
    elif image.ndim == 3:
        raise ValueError(f"expected 1, 3 or 4 channels, got an array of shape {image.shape}")
    elif image.ndim != 2:
        raise ValueError(f"expected an image (H, W) or (H, W, C), got an array of shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"expected an image, got an empty array of shape {image.shape}")
    image = np.ascontiguousarray(to_uint8(image))
    if image.ndim == 3 and channels == "rgb":
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return image


def to_grey(image, channels: str = "rgb") -> np.ndarray:
    """uint8 grey (H, W) from what `to_image` takes."""
    image = to_image(image, channels)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _listed(inputs) -> list:
    """The inputs as a list: one path (str, os.PathLike) is one input, not its characters."""
    if isinstance(inputs, (str, os.PathLike)):
        return [inputs]
    if isinstance(inputs, bytes):
        raise TypeError("expected a path (str or os.PathLike) or a list of them, got bytes")
    listed = list(inputs)
    for item in listed:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"expected paths of files and folders (str or os.PathLike), got {type(item).__name__}; "
                            "images in memory (arrays, encoded bytes, PIL images) go to FaceKeypoints.detect_batch")
    return listed


def _walk(folder: Path, skipped: list[Path]) -> list[Path]:
    """The images and videos under a folder, sorted (other files go to `skipped`). Links to folders inside it
    are not followed (as `find` and `os.walk` do not: a link to /usr or to `..` would pull in files nobody
    asked for); give such a folder itself. A folder that cannot be listed, a broken link and a special file (a
    FIFO named b.jpg) are kept, to be reported when read (not skipped without a word)."""
    found: list[Path] = []
    for root, _, files in os.walk(folder, onerror=lambda exc: found.append(Path(exc.filename))):
        for name in files:
            (found if Path(name).suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES else skipped).append(
                Path(root, name))
    return sorted(found)


@dataclass
class Scan:
    """The inputs of a batch: each file with its name for outputs (`walk_inputs`), and the files found in the
    folders given that are neither images nor videos (by suffix: `IMAGE_SUFFIXES`, `VIDEO_SUFFIXES`)."""

    named: list[tuple[Path, Path]]
    skipped: list[Path]

    @property
    def paths(self) -> list[Path]:
        return [path for path, _ in self.named]


def scan_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> Scan:
    """The files of `walk_inputs`, and what the folders hold besides (see `Scan`)."""
    items = [Path(item) for item in _listed(inputs)]
    paths: list[Path] = []
    skipped: list[Path] = []
    seen = set()
    for item in items:
        for path in _walk(item, skipped) if item.is_dir() else [item]:  # a missing file is reported when read
            if os.path.realpath(path) not in seen:  # each file once, however it was named (links too)
                seen.add(os.path.realpath(path))
                paths.append(path)
    if not paths:
        return Scan([], sorted(skipped))
    base = os.path.commonpath([os.path.abspath(i if i.is_dir() else i.parent) for i in items])
    relative = [Path(os.path.relpath(os.path.abspath(p), base)) for p in paths]
    # an image's pictures end in .png, a video's in .mp4: names clash only between files of the same kind
    stems = Counter((r.with_suffix(""), is_video(r)) for r in relative)
    return Scan([(p, r.with_suffix("") if stems[r.with_suffix(""), is_video(r)] == 1 else r)
                 for p, r in zip(paths, relative)], sorted(skipped))


def walk_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """Each file of `expand_inputs` with its name for outputs: its path relative to the folder that holds all the
    inputs, without suffix (e.g. `a/x` for `DIR/a/x.jpg` given `DIR`), so that files of one name in different
    folders keep apart; where two files of one folder differ only in suffix, with it (`x.jpg`, `x.png`)."""
    return scan_inputs(inputs).named


def expand_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, and the images and videos inside folders (recursively, sorted), each once. One path is
    one input. A folder that cannot be listed, or a broken link, is kept, to be reported when it is read."""
    return [path for path, _ in walk_inputs(inputs)]


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    index: int | None  # the frame number of a video, None for a still image
    fps: float = 0.0
    time: float = 0.0  # seconds from the video's start (a live source: as the clock ran)


def frames(path: Path, every: int = 1, max_pixels: float = MAX_PIXELS) -> Iterator[Frame]:
    """Every `every`-th frame of a video, or the one image of an image file. A video that ends before the frame
    count its container states (truncated, damaged) raises ImageError after the frames that could be decoded."""
    if not is_video(path):
        yield Frame(read_colour(path, max_pixels), None)
        return
    open_regular(path).close()  # OpenCV would not say why it cannot open it, and would block on a FIFO
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ImageError(f"{path}: not a video OpenCV can decode")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    stated = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    index = 0
    try:
        _refuse_large(path, width * height, f"frames of {width}x{height} pixels", max_pixels)
        while True:
            if index % every:  # a frame to skip is read but not decoded into an image
                if not capture.grab():
                    break
                index += 1
                continue
            ok, image = capture.read()
            if not ok:
                break
            yield Frame(image, index, fps, index / fps)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ImageError(f"{path}: no frame could be decoded")
    if index < stated:
        raise ImageError(f"{path}: only {index} of the {stated} frames it states could be decoded (truncated or "
                         "damaged)")


def live_frames(source: int | str, every: int = 1, stop: Callable[[], bool] | None = None) -> Iterator[Frame]:
    """Every `every`-th frame of a camera (its index, e.g. 0) or of any source OpenCV's VideoCapture opens (a
    stream's URL, a file), as it comes, until it ends or `stop()` says so. A camera's frames are timed by the
    clock, another source's by their number and its frame rate."""
    with _quiet_opencv():  # a missing camera is said below, once, not in OpenCV's [ WARN ] lines
        capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise ImageError(f"cannot open {'camera' if isinstance(source, int) else 'video source'} {source}")
    fps, started, index = capture.get(cv2.CAP_PROP_FPS) or 25.0, time.monotonic(), 0
    try:
        while stop is None or not stop():
            ok, image = capture.read()
            if not ok:
                break
            if index % every == 0:
                clock = time.monotonic() - started if isinstance(source, int) else index / fps
                yield Frame(image, index, fps, clock)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ImageError(f"no frame could be read from {source}")


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV's own log lines (its [ WARN:0 ] when a camera cannot be opened) off, for what this code says itself."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _is_box(box) -> bool:
    """[x, y, w, h] of finite numbers (JSON's NaN and Infinity, and true/false, are not), w and h positive."""
    return (isinstance(box, list) and len(box) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
            and box[2] > 0 and box[3] > 0)


def count_frames(paths: list[Path], every: int = 1) -> int:
    """How many results `detect_files` will give for these files (for a progress bar): one per image, one per
    `every`-th frame of a video as its container states the count."""
    return sum(frame_count(p) // every if is_video(p) else 1 for p in paths)


def frame_count(path: Path) -> int:
    """A video's frame count as its container states it (0 if unknown); 1 for a still image."""
    if not is_video(path):
        return 1
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # OpenCV would block on a FIFO; reading it says why
            return 0
    except OSError:
        return 0
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return max(count, 0)


def read_boxes(path: str | os.PathLike) -> dict[tuple[str, int | None], list[list[float]]]:
    """Faces the user already has, from a JSON file: either an object {"photo.jpg": [[x, y, w, h], ...], ...}, or
    the records `facekeypoints predict --json` writes (a list of {"source", "frame", "faces": [{"box": [x, y, w,
    h]}, ...]}, or one such record a line), so that its boxes can be corrected by hand and used again.

    Returns {(real path of the file, video frame number or None): boxes}. Relative paths are from the current
    folder. A malformed file raises ImageError naming it (and the line, for JSON that does not parse)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImageError(f"{path}: cannot read the boxes ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as first:
        try:  # JSON lines: one record a line
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise ImageError(f"{path}, line {first.lineno}: not JSON ({first.msg})") from None
    if isinstance(data, dict):
        entries = [(source, None, boxes) for source, boxes in data.items()]
    elif isinstance(data, list) and all(isinstance(r, dict) and "source" in r and ("faces" in r or "error" in r)
                                        for r in data):
        entries = [(r["source"], r.get("frame"), [face.get("box") if isinstance(face, dict) else face
                                                  for face in r["faces"] or []])
                   for r in data if "faces" in r]  # an error record ({"source", "error"}) has no boxes
    else:
        raise ImageError(f"{path}: expected {{\"photo.jpg\": [[x, y, w, h], ...]}} or the records predict --json "
                         "writes")
    found: dict[tuple[str, int | None], list[list[float]]] = {}
    for number, (source, frame, boxes) in enumerate(entries, 1):
        if not isinstance(source, str) or not source:
            raise ImageError(f"{path}: entry {number}: the source is not a file name: {source!r}")
        if not isinstance(boxes, list) or not all(_is_box(box) for box in boxes):
            raise ImageError(f"{path}: the boxes of {source} are not a list of [x, y, width, height] of finite "
                             f"numbers with a positive width and height: {boxes!r:.200}")
        if frame is not None and (not isinstance(frame, int) or isinstance(frame, bool) or frame < 0):
            raise ImageError(f"{path}: the frame of {source} is not a whole number of 0 or more: {frame!r}")
        found[(os.path.realpath(source), frame)] = boxes
    return found
