"""The outputs of a batch, written as the results come (memory does not grow with the inputs) and so that
an error or an interrupt leaves no half-written file: records as a JSON array (`RecordsWriter`), JSON Lines
(`JsonLinesWriter`) or Parquet (`ParquetWriter`, one row per face), picked by the file's suffix
(`records_writer`); annotated pictures and videos (`AnnotationsWriter`), and `write_results`, the whole loop
that `facekeypoints predict` runs.

    >>> results = fk.detect_files(["holiday/"], keep_images=True)
    >>> counts = write_results(results, records="faces.json", pictures="annotated/")
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

import cv2
import numpy as np

from .._fs import atomic_output, refuse_existing, write_bytes_atomic
from ..errors import FacekeypointsError
from ..keypoints import KEYPOINT_NAMES
from .results import FileResult


@contextlib.contextmanager
def _naming(path) -> Iterator[None]:
    """An OSError while writing `path` (a full disk, no permission) as an error that names it: the OS's own
    often names only a temporary file, or nothing."""
    try:
        yield
    except OSError as exc:
        raise FacekeypointsError(f"{path}: cannot write ({exc.strerror or exc})") from None


def write_image(path: str | Path, image: np.ndarray, force: bool = False) -> None:
    """Write atomically, in the format the suffix names (PNG without one); refuse to replace an existing file
    unless `force`."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise FacekeypointsError(f"{path}: OpenCV cannot encode this image format")
    with _naming(path):
        write_bytes_atomic(path, encoded.tobytes(), force=force)


class VideoOutput:
    """A video (MP4), written beside as NAME.part.mp4 and renamed when complete.

    close() puts it in place, close(keep=False) deletes it; as a context manager it is kept only when the
    block ends without an error.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], force: bool = False):
        refuse_existing(path, force)
        self.path, self.partial = path, path.with_name(path.stem + ".part" + path.suffix)
        with _naming(path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise FacekeypointsError(f"{path}: OpenCV cannot write this video")
        self.closed = False

    def write(self, image: np.ndarray) -> None:
        self.writer.write(image)

    def close(self, keep: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        self.writer.release()
        if keep:
            with _naming(self.path):
                self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)

    def __enter__(self) -> VideoOutput:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is None)


class RecordsWriter:
    """A JSON list of records streamed as they come: `[`, each result's `to_dict()`, `]`.

    target: a path, written atomically (to a temporary file beside it, renamed when the writer closes without
    an error; an existing file is an error, raised on entering, unless `force`), or an open text stream such
    as sys.stdout (written to and left open); "-" means standard output. One record a line, so the file stays
    readable and greppable (`indent=1` made some 80 lines of a face). Use it as a context manager: the list is
    closed on leaving without an error; on an error the temporary file is removed (a stream keeps what was
    written).
    """

    append = False  # JsonLinesWriter's: add to an existing file in place

    def __init__(self, target: str | os.PathLike | TextIO, force: bool = False):
        self.target, self.force = target, force
        self._name = target if isinstance(target, (str, os.PathLike)) else getattr(target, "name", "the output")
        self.count = 0  # records written
        self._context: contextlib.AbstractContextManager | None = None
        self._out: TextIO | None = None

    @contextlib.contextmanager
    def _opened(self) -> Iterator[TextIO]:
        with contextlib.ExitStack() as stack:
            owned = isinstance(self.target, (str, os.PathLike)) and str(self.target) != "-"
            if owned and self.append:
                with _naming(self._name):
                    out = open(self.target, "a", encoding="utf-8")
                stack.callback(_close_quietly, out)
            elif owned:
                tmp = stack.enter_context(atomic_output(self.target, force=self.force))
                out = open(tmp, "w", encoding="utf-8")
                stack.callback(_close_quietly, out)  # after an error (said already) the buffer cannot be written
            else:
                out = sys.stdout if str(self.target) == "-" else self.target
            out.write(self._head)
            yield out
            with _naming(self._name):  # not reached on an error: atomic_output then drops the temporary file
                out.write(self._tail)
                if owned:
                    out.close()  # a full disk shows here, named
                else:
                    out.flush()

    def __enter__(self) -> RecordsWriter:
        self._context = self._opened()
        self._out = self._context.__enter__()
        return self

    def write(self, result: FileResult) -> None:
        if self._out is None:
            raise RuntimeError("RecordsWriter.write outside its `with` block")
        record = json.dumps(result.to_dict(), separators=(",", ":"))
        with _naming(self._name):
            self._out.write(self._entry(record))
            if self.append or not isinstance(self.target, (str, os.PathLike)) or str(self.target) == "-":
                self._out.flush()  # a stream's reader (a live camera's, a pipe's) gets each record as it comes
        self.count += 1

    _head, _tail = "[", "\n]\n"

    def _entry(self, record: str) -> str:
        return ("," if self.count else "") + "\n" + record

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        context, self._context, self._out = self._context, None, None
        return context.__exit__(exc_type, exc, tb)


class JsonLinesWriter(RecordsWriter):
    """JSON Lines: each result's `to_dict()` on a line of its own, nothing around them, so that the file is read
    line by line, and files (or runs) join by concatenation. As `RecordsWriter`, written atomically and never
    replacing a file without `force`; append=True adds to the end of the file instead (made if missing; each
    record flushed as a whole line as it comes), for a pipeline that keeps adding to one file."""

    _head, _tail = "", ""

    def __init__(self, target: str | os.PathLike | TextIO, force: bool = False, append: bool = False):
        super().__init__(target, force)
        self.append = append

    def _entry(self, record: str) -> str:
        return record + "\n"


# The columns of one face in `face_rows` (and a Parquet file), before the keypoints' `NAME_x`, `NAME_y`.
FACE_COLUMNS = ("source", "frame", "width", "height", "error", "face", "box_x", "box_y", "box_w", "box_h", "score",
                "angle", "too_small", "spread", "track", "yaw", "pitch", "roll")


def face_rows(record: dict, keypoints: tuple[str, ...] = KEYPOINT_NAMES) -> list[dict]:
    """One record (`FileResult.to_dict()`) as flat rows, one per face: its image's source, frame, width and height,
    the face's index in the record (`face`), box, score, angle, too_small, spread, track, pose (yaw, pitch, roll)
    and one column per coordinate of the `keypoints` named (the model's keypoint set's names: `NAME_x`, `NAME_y`,
    for Kaggle's set `left_eye_center_x`, ... as Kaggle names them). An image without faces is one row with
    `face` null, an error record one row with `error` set: every input keeps a row."""
    image = {"source": record["source"], "frame": record.get("frame"), "width": record.get("width"),
             "height": record.get("height"), "error": record.get("error")}
    rows = []
    for index, face in enumerate(record.get("faces") or []):
        x, y, w, h = face["box"]
        pose, points = face.get("pose") or {}, face.get("keypoints") or {}
        row = {**image, "face": index, "box_x": x, "box_y": y, "box_w": w, "box_h": h, "score": face["score"],
               "angle": face["angle"], "too_small": face["too_small"], "spread": face["spread"],
               "track": face.get("track"), **{k: pose.get(k) for k in ("yaw", "pitch", "roll")}}
        if not set(points) <= set(keypoints):
            raise FacekeypointsError(f"{record['source']}: keypoints {', '.join(sorted(set(points) - set(keypoints)))}"
                                     " have no columns here (the file's keypoints are another model's)")
        for name in keypoints:
            row[f"{name}_x"], row[f"{name}_y"] = points.get(name, (None, None))
        rows.append(row)
    if rows:
        return rows
    return [{column: image.get(column) for column in FACE_COLUMNS}
            | {f"{name}_{axis}": None for name in keypoints for axis in "xy"}]


class ParquetWriter:
    """Parquet (pyarrow: `pip install 'facekeypoints[parquet]'`), one row per face (`face_rows`), written in row
    groups of about `group` rows as the results come, into a temporary file renamed when the writer closes
    without an error; an existing file is an error unless `force`. keypoints: the names whose coordinates get
    columns; None: those of the first face with keypoints (the model's keypoint set), Kaggle's 15 if none has."""

    def __init__(self, target: str | os.PathLike, force: bool = False, keypoints: tuple[str, ...] | None = None,
                 group: int = 10_000):
        if not isinstance(target, (str, os.PathLike)) or str(target) == "-":
            raise FacekeypointsError("Parquet is written to a file, not to a stream: give a path ending in .parquet")
        import pyarrow  # noqa: F401 (here, so that a missing pyarrow is said before any work)

        self.target, self.force, self.group = Path(target), force, group
        self.keypoints = None if keypoints is None else tuple(keypoints)
        self.count = 0  # records written
        self._records: list[dict] = []
        self._rows = 0  # rows the waiting records make
        self._stack: contextlib.ExitStack | None = None
        self._writer = None  # opened at the first flush, when the keypoints' columns are known

    def __enter__(self) -> ParquetWriter:
        import pyarrow.parquet as pq

        with contextlib.ExitStack() as stack:
            self._tmp = stack.enter_context(atomic_output(self.target, force=self.force))
            stack.callback(lambda: self._writer is not None and self._writer.close())  # the footer, before the rename
            self._stack = stack.pop_all()
        self._pq = pq
        return self

    def write(self, result: FileResult) -> None:
        if self._stack is None:
            raise RuntimeError("ParquetWriter.write outside its `with` block")
        record = result.to_dict()
        self._records.append(record)
        self._rows += max(1, len(record.get("faces") or []))
        self.count += 1
        if self._rows >= self.group:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.keypoints is None:  # the first face with keypoints names the columns
            named = (face["keypoints"] for r in self._records for face in r.get("faces") or [] if face["keypoints"])
            self.keypoints = tuple(next(named, KEYPOINT_NAMES))
        if self._writer is None:
            number, whole = pa.float64(), pa.int32()
            types = {"source": pa.string(), "error": pa.string(), "too_small": pa.bool_(), "score": number,
                     "angle": number, "spread": number, "yaw": number, "pitch": number, "roll": number}
            self.schema = pa.schema([(name, types.get(name, whole)) for name in FACE_COLUMNS]
                                    + [(f"{name}_{axis}", number) for name in self.keypoints for axis in "xy"])
            with _naming(self.target):
                self._writer = self._pq.ParquetWriter(self._tmp, self.schema)
        rows = [row for record in self._records for row in face_rows(record, self.keypoints)]
        with _naming(self.target):
            self._writer.write_table(pa.Table.from_pylist(rows, self.schema))
        self._records, self._rows = [], 0

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        stack, self._stack = self._stack, None
        if exc_type is None:
            try:
                self._flush()  # also an empty file's schema
            except BaseException as error:
                stack.__exit__(type(error), error, error.__traceback__)
                raise
        with _naming(self.target):
            return stack.__exit__(exc_type, exc, tb)


RECORD_FORMATS = {".jsonl": JsonLinesWriter, ".parquet": ParquetWriter}  # by suffix; any other: a JSON array


def records_writer(target: str | os.PathLike | TextIO, force: bool = False) -> RecordsWriter | ParquetWriter:
    """The writer for records at `target`, by its suffix: `.jsonl` JSON Lines (`JsonLinesWriter`), `.parquet`
    Parquet, one row per face (`ParquetWriter`); anything else, and streams ("-": stdout), a JSON array of
    records (`RecordsWriter`)."""
    if isinstance(target, (str, os.PathLike)) and str(target) != "-":
        kind = RECORD_FORMATS.get(Path(target).suffix.lower(), RecordsWriter)
        return kind(target, force)
    return RecordsWriter(target, force)


class Window:
    """Shows frames as they come, in OpenCV's window where OpenCV has one (opencv-python), else in matplotlib's;
    `show(image)` returns False once the viewer is done (q or Esc pressed, or the window closed)."""

    def __init__(self, title: str = "facekeypoints"):
        self.title = title
        self._figure = None  # matplotlib's, once OpenCV turned out to have no windows

    def show(self, image: np.ndarray) -> bool:
        if self._figure is None:
            try:
                cv2.imshow(self.title, image)
                return cv2.waitKey(1) & 0xFF not in (27, ord("q"))
            except cv2.error:  # opencv-python-headless, this package's dependency, has no windows
                self._open_figure(image)
        import matplotlib.pyplot as plt

        if not plt.fignum_exists(self._figure.number):
            return False
        self._shown.set_data(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        plt.pause(0.001)
        return True

    def _open_figure(self, image: np.ndarray) -> None:
        import matplotlib
        import matplotlib.pyplot as plt

        if not matplotlib.get_backend().lower().startswith(("qt", "tk", "gtk", "wx", "macosx")):
            raise FacekeypointsError(
                f"no window to show the frames in: OpenCV here has none (opencv-python-headless) and matplotlib's "
                f"backend is {matplotlib.get_backend()}; write them with --json or --save-dir instead")
        plt.ion()
        self._figure, axes = plt.subplots(num=self.title)
        axes.axis("off")
        self._shown = axes.imshow(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)


def _close_quietly(out: TextIO) -> None:
    with contextlib.suppress(OSError):
        out.close()


class AnnotationsWriter:
    """Annotated copies of the results (`FileResult.annotated`; they need their images: `keep_images=True`)
    in a folder: FOLDER/NAME.png per still image, FOLDER/NAME.mp4 per video (one frame per result, at the
    source's frame rate divided by `every`, the step the frames were taken with). NAME is the result's `name`
    (from `detect_files`: the input's path relative to the folder holding all the inputs, so `a/x.jpg` and
    `b/x.jpg` keep apart), else its source's name without suffix. A folder that cannot be one is refused at once.

    Results come in input order, so a video is complete (closed and put in place) when the next video begins
    or the writer closes. A result with an error deletes its video in progress (the rest of it could not be
    read). Use it as a context manager: on leaving with an error the video in progress is deleted, so no
    half-written video is left; still images already written stay.
    """

    def __init__(self, folder: str | Path, labels: bool = False, every: int = 1, force: bool = False):
        self.folder, self.labels, self.every, self.force = Path(folder), labels, every, force
        if self.folder.exists() and not self.folder.is_dir():
            raise FacekeypointsError(f"{self.folder}: a file, not a folder for the pictures")
        with _naming(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
        self._video: VideoOutput | None = None
        self._source: Path | None = None  # the video being written (or that could not be)

    def _path(self, result: FileResult, suffix: str) -> Path:
        name = result.name or Path(result.source.stem)
        return self.folder / name.with_name(name.name + suffix)

    def write(self, result: FileResult) -> None:
        """Draw one result into its picture, or as the next frame of its video. An error (FacekeypointsError,
        naming the file) leaves the others to come unharmed; a video that cannot be written raises once."""
        if result.error is not None:
            if result.source == self._source:
                self._close(keep=False)
            return
        if result.frame is None:
            write_image(self._path(result, ".png"), result.annotated(self.labels), force=self.force)
            return
        if result.source != self._source:
            self._close()  # inputs come in order: the previous video is complete
            self._source = result.source  # first: the rest of a video that cannot be written is passed over
            drawn = result.annotated(self.labels)
            self._video = VideoOutput(self._path(result, ".mp4"), result.fps / self.every, drawn.shape[1::-1],
                                      self.force)
            self._video.write(drawn)
        elif self._video is not None:
            self._video.write(result.annotated(self.labels))

    def _close(self, keep: bool = True) -> None:
        if self._video is not None:
            self._video.close(keep)
        self._video = self._source = None

    def close(self) -> None:
        """Finish the video in progress."""
        self._close()

    def __enter__(self) -> AnnotationsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._close(keep=exc_type is None)


@dataclass
class Counts:
    """What `write_results` wrote."""

    records: int = 0  # images and video frames
    faces: int = 0
    failed: int = 0  # inputs (or the rest of videos) that could not be read, and pictures that could not be written
    seconds: float = 0.0  # from the first result asked for to the last written
    not_faces: int = 0  # detections dropped because the model saw no face there (`FileResult.not_faces`)

    def summary(self) -> str:
        """One line: what was found, how fast."""
        rate = 1 / max(self.seconds, 1e-9)
        return (f"{self.records} image(s)/frame(s), {self.faces} face(s) found"
                + (f", {self.not_faces} detection(s) dropped as not faces (heatmap spread above --max-spread)"
                   if self.not_faces else "")
                + (f", {self.failed} input(s) or picture(s) failed" if self.failed else "")
                + f" in {self.seconds:.1f} s ({self.records * rate:.1f} images/s, {self.faces * rate:.1f} faces/s)")


def write_results(results: Iterable[FileResult], records: str | os.PathLike | TextIO | None = None,
                  pictures: str | Path | None = None, *, labels: bool = False, every: int = 1,
                  force: bool = False, on_error: Callable[[FileResult], object] | None = None,
                  on_result: Callable[[FileResult], object] | None = None) -> Counts:
    """Write a stream of results (from `detect_files`) as it comes; returns the counts.

    records: the records' path (JSON, JSON Lines or Parquet by its suffix: `records_writer`) or open text stream
    (a JSON array); None: no records. Each input has its record, an unreadable one its error record. pictures: the
    folder for annotated copies (`AnnotationsWriter`: the results need their images, keep_images=True);
    None: no pictures. labels, every, force: as those writers take them. A result with an error is counted,
    given to `on_error` and written as its error record: one bad file does not stop the batch. So is a picture
    that cannot be written (it exists, the disk is full): its record is kept, `on_error` gets the result with the
    error set, the batch goes on. `on_result` is called after each other result is written (e.g. to move a progress bar). On an
    exception or an interrupt the records file is left as it was and no half-written video is left.
    """
    counts, started = Counts(), time.perf_counter()
    with contextlib.ExitStack() as stack:
        # The records first: an existing file without `force` is refused before any work is done.
        writer = stack.enter_context(records_writer(records, force)) if records is not None else None
        drawer = (stack.enter_context(AnnotationsWriter(pictures, labels, every, force)) if pictures is not None
                  else None)
        for result in results:
            if result.error is not None:
                counts.failed += 1
                if on_error is not None:
                    on_error(result)
                if writer is not None:
                    writer.write(result)
                if drawer is not None:
                    drawer.write(result)  # deletes the video that failed
                continue
            if writer is not None:
                writer.write(result)
            counts.records += 1
            counts.faces += len(result.faces)
            counts.not_faces += result.not_faces
            if drawer is not None:
                try:
                    drawer.write(result)
                except FacekeypointsError as exc:  # the picture alone is lost, not the records nor the rest
                    counts.failed += 1
                    if on_error is not None:
                        on_error(replace(result, error=str(exc)))
            if on_result is not None:
                on_result(result)
    counts.seconds = time.perf_counter() - started
    return counts
