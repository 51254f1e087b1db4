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
from typing import Callable, Collection, Iterable, Iterator, TextIO

import cv2
import numpy as np

from .._fs import atomic_output, place, refuse_existing, write_bytes_atomic
from ..errors import FacekeypointsError
from ..keypoints import KEYPOINT_NAMES
from .align import ALIGNED_SIZE
from .detection import AUTO_FLOOR, AUTO_FRACTION
from .results import FileResult, drawing


@contextlib.contextmanager
def _naming(path) -> Iterator[None]:
    """An OSError while writing `path` (a full disk, no permission) as an error that names it: the OS's own
    often names only a temporary file, or nothing."""
    try:
        yield
    except BrokenPipeError:  # the reader of a pipe stopped (`| head`): no fault of this output, said by no one
        raise
    except OSError as exc:
        raise FacekeypointsError(f"{path}: cannot write ({exc.strerror or exc})") from None


def refuse_input(path: Path, protected: Collection[str] = (), source: Path | None = None) -> None:
    """An output never replaces an input of the batch (`protected`: their real paths) or the file it was made
    from (`source`), `--force` or not: a --save-dir that is the photos' own folder must not eat them."""
    real = os.path.realpath(path)
    if real in protected or (source is not None and os.path.exists(path) and os.path.exists(source)
                             and os.path.samefile(path, source)):
        raise FacekeypointsError(f"{path}: is an input of this batch: not overwritten, --force or not (write the "
                                 "outputs to another folder)")


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
        self.path, self.force = path, force
        self.partial = path.with_name(path.stem.encode()[:200].decode(errors="ignore") + ".part" + path.suffix)
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
            try:
                with _naming(self.path):
                    place(self.partial, self.path, self.force)  # another process's video is not replaced
            finally:
                self.partial.unlink(missing_ok=True)
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
    written). A result with an error is written as its error record ({"source", "frame", "error"}); a record
    holding NaN or infinity (not JSON) is replaced by one saying so. protected: real paths (the batch's inputs)
    the target may not be (`refuse_input`).
    """

    append = False  # JsonLinesWriter's: add to an existing file in place

    def __init__(self, target: str | os.PathLike | TextIO, force: bool = False, protected: Collection[str] = ()):
        self.target, self.force = target, force
        if isinstance(target, (str, os.PathLike)) and str(target) != "-":
            refuse_input(Path(target), protected)
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
        try:  # nothing that is not JSON (NaN, Infinity) is ever written: the record says what went wrong instead
            record = json.dumps(result.to_dict(), separators=(",", ":"), allow_nan=False)
        except ValueError:
            record = json.dumps({"source": str(result.source), "frame": result.frame,
                                 "error": "a value that is not a finite number in this record: not written"})
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

    def __init__(self, target: str | os.PathLike | TextIO, force: bool = False, protected: Collection[str] = (),
                 append: bool = False):
        super().__init__(target, force, protected)
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

    def __init__(self, target: str | os.PathLike, force: bool = False, protected: Collection[str] = (),
                 keypoints: tuple[str, ...] | None = None, group: int = 10_000):
        if not isinstance(target, (str, os.PathLike)) or str(target) == "-":
            raise FacekeypointsError("Parquet is written to a file, not to a stream: give a path ending in .parquet")
        refuse_input(Path(target), protected)
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


def records_writer(target: str | os.PathLike | TextIO, force: bool = False, protected: Collection[str] = ()
                   ) -> RecordsWriter | ParquetWriter:
    """The writer for records at `target`, by its suffix: `.jsonl` JSON Lines (`JsonLinesWriter`), `.parquet`
    Parquet, one row per face (`ParquetWriter`); anything else, and streams ("-": stdout), a JSON array of
    records (`RecordsWriter`)."""
    if isinstance(target, (str, os.PathLike)) and str(target) != "-":
        kind = RECORD_FORMATS.get(Path(target).suffix.lower(), RecordsWriter)
        return kind(target, force, protected)
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

    def __init__(self, folder: str | Path, labels: bool = False, every: int = 1, force: bool = False,
                 protected: Collection[str] = (), draw: str | Iterable[str] | None = None):
        self.folder, self.every, self.force = Path(folder), every, force
        self.draw = drawing(draw, labels)  # what of each face is drawn (`results.drawing`); checked here, once
        self.protected = protected  # real paths of the batch's inputs, never written over (`refuse_input`)
        if self.folder.exists() and not self.folder.is_dir():
            raise FacekeypointsError(f"{self.folder}: a file, not a folder for the pictures")
        with _naming(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
        self._video: VideoOutput | None = None
        self._source: Path | None = None  # the video being written (or that could not be)

    def _path(self, result: FileResult, suffix: str) -> Path:
        path = output_path(self.folder, result, suffix)
        refuse_input(path, self.protected, result.source)
        return path

    def write(self, result: FileResult) -> None:
        """Draw one result into its picture, or as the next frame of its video. An error (FacekeypointsError,
        naming the file) leaves the others to come unharmed; a video that cannot be written raises once."""
        if result.error is not None:
            if result.source == self._source:
                self._close(keep=False)
            return
        if result.frame is None:
            write_image(self._path(result, ".png"), result.annotated(what=self.draw), force=self.force)
            return
        if result.source != self._source:
            self._close()  # inputs come in order: the previous video is complete
            self._source = result.source  # first: the rest of a video that cannot be written is passed over
            drawn = result.annotated(what=self.draw)
            self._video = VideoOutput(self._path(result, ".mp4"), result.fps / self.every, drawn.shape[1::-1],
                                      self.force)
            self._video.write(drawn)
        elif self._video is not None:
            self._video.write(result.annotated(what=self.draw))

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


def output_path(folder: Path, result: FileResult, suffix: str) -> Path:
    """Where an output of a result goes in a folder: FOLDER/NAME + suffix, NAME being the result's `name` (from
    `detect_files`: the input's path relative to the folder holding all the inputs), else its source's stem."""
    name = result.name or Path(result.source.stem)
    return folder / name.with_name(name.name + suffix)


@dataclass
class Counts:
    """What `write_results` (or `write_aligned`) wrote."""

    records: int = 0  # images and video frames
    faces: int = 0
    failed: int = 0  # inputs (or the rest of videos) that could not be read, and pictures that could not be written
    seconds: float = 0.0  # from the first result asked for to the last written
    not_faces: int = 0  # detections dropped because the model saw no face there (`FileResult.not_faces`)
    skipped: int = 0  # files in the folders given that are neither images nor videos (not read; set by the caller)
    interrupted: bool = False  # stopped before the inputs ended (`stop`): what was done is written
    aligned: int | None = None  # `write_aligned`: the crops written
    size: int = 0  # `write_aligned`: their side, and their folder
    folder: str = ""
    too_small: int = 0  # `write_aligned`: faces too small for keypoints (or without them), not aligned
    smaller: int = 0  # faces seen under the smallest size looked for, left out (`FileResult.smaller`)
    empty: int = 0  # images and video frames in which no face was found

    def took(self, result: FileResult) -> None:
        """Count a result that was read: its record, its faces and the detections that were not faces."""
        self.records += 1
        self.faces += len(result.faces)
        self.not_faces += result.not_faces

    def fail(self, result: FileResult, on_error: Callable[[FileResult], object] | None,
             error: FacekeypointsError | None = None) -> None:
        """Count a failed input (or a picture or crop of it, `error`) and hand it to `on_error`."""
        self.failed += 1
        if on_error is not None:
            on_error(result if error is None else replace(result, error=str(error)))

    def summary(self) -> str:
        """One line: what was found, how fast."""
        rate = 1 / max(self.seconds, 1e-9)
        return ("interrupted: " if self.interrupted else "") + (
            f"{self.records} image(s)/frame(s), {self.faces} face(s) found"
            + (f", {self.not_faces} detection(s) dropped as not faces (heatmap spread above --max-spread)"
               if self.not_faces else "")
            + (f", {self.smaller} smaller face(s) seen but left out" if self.smaller else "")
            + (f", {self.empty} with no face" if self.empty else "")
            + (f" (faces under the smallest size looked for are not searched: --min-size, by default "
               f"1/{1 / AUTO_FRACTION:.0f} of an image's long side and at least {AUTO_FLOOR} px; a smaller "
               "--min-size finds them, more slowly)" if self.smaller or self.empty else "")
            + (f", {self.failed} input(s) or picture(s) failed" if self.failed else "")
            + (f", {self.skipped} other file(s) in the folders skipped (not images or videos)" if self.skipped else "")
            + f" in {self.seconds:.1f} s ({self.records * rate:.1f} images/s, {self.faces * rate:.1f} faces/s)"
            + ("" if self.aligned is None else
               f"; {self.aligned} aligned {self.size}x{self.size} crop(s) in {self.folder}")
            + (f"; {self.too_small} face(s) too small for keypoints (under --min-face) not aligned" if self.too_small
               else ""))


def write_results(results: Iterable[FileResult], records: str | os.PathLike | TextIO | None = None,
                  pictures: str | Path | None = None, *, labels: bool = False, every: int = 1,
                  force: bool = False, on_error: Callable[[FileResult], object] | None = None,
                  on_result: Callable[[FileResult], object] | None = None, protected: Collection[str] = (),
                  stop: Callable[[], bool] | None = None, draw: str | Iterable[str] | None = None) -> Counts:
    """Write a stream of results (from `detect_files`) as it comes; returns the counts.

    records: the records' path (JSON, JSON Lines or Parquet by its suffix: `records_writer`) or open text stream
    (a JSON array); None: no records. pictures: the
    folder for annotated copies (`AnnotationsWriter`: the results need their images, keep_images=True);
    None: no pictures. labels, every, force, draw: as those writers take them. A result with an error is counted,
    written as its error record ({"source", "error"}), given to `on_error`, and the batch goes on. So is a
    picture that cannot be written (it exists, the disk is full): its record is kept, `on_error` gets the result
    with the error set. `on_result` is called after each other result is written (e.g. to move a progress
    bar). protected: real paths (the batch's inputs) no output may replace, `force` or not. stop: asked before
    each result; once true, what was written is closed and kept, as at the end, and the counts say
    `interrupted`. On an exception or an interrupt (KeyboardInterrupt) the records file is left as it was and no
    half-written video is left.
    """
    counts, started = Counts(), time.perf_counter()
    with contextlib.ExitStack() as stack:
        # The records first: an existing file without `force` is refused before any work is done.
        writer = (stack.enter_context(records_writer(records, force, protected)) if records is not None
                  else None)
        drawer = (stack.enter_context(AnnotationsWriter(pictures, labels, every, force, protected, draw))
                  if pictures is not None else None)
        for result in _until(results, stop, counts):
            if writer is not None:
                writer.write(result)  # an error too: every input is accounted for
            if result.error is not None:
                counts.fail(result, on_error)
                if drawer is not None:
                    drawer.write(result)  # deletes the video that failed
                continue
            counts.took(result)
            counts.smaller += getattr(result, "smaller", 0)  # records read back (Ray's) do not carry it
            counts.empty += not result.faces
            if drawer is not None:
                try:
                    drawer.write(result)
                except FacekeypointsError as exc:  # the picture alone is lost, not the records nor the rest
                    counts.fail(result, on_error, exc)
            if on_result is not None:
                on_result(result)
    counts.seconds = time.perf_counter() - started
    return counts


def _until(results: Iterable[FileResult], stop: Callable[[], bool] | None, counts: Counts) -> Iterator[FileResult]:
    """The results until `stop()` says so (asked before each one); the stream is closed then (its workers end)."""
    iterator = iter(results)
    try:
        for result in iterator:
            yield result
            if stop is not None and stop():
                counts.interrupted = True
                return
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def write_aligned(results: Iterable[FileResult], folder: str | Path, size: int = ALIGNED_SIZE, *,
                  force: bool = False, on_error: Callable[[FileResult], object] | None = None,
                  on_result: Callable[[FileResult], object] | None = None, protected: Collection[str] = (),
                  stop: Callable[[], bool] | None = None) -> Counts:
    """Each face of a stream of results (with their images: keep_images=True) as an aligned `size` x `size`
    crop (`Face.aligned`), a PNG in `folder`: FOLDER/NAME_I.png for an image, FOLDER/NAME_fFRAME_I.png for a
    video frame (NAME as `AnnotationsWriter` names pictures, I the face's index in its JSON record). Faces
    without keypoints are counted (`Counts.too_small`), not cut. A result with an error, or a crop that cannot
    be written, is counted and given to `on_error`; the batch goes on. force, protected, stop, on_result: as
    `write_results` takes them. Returns the counts (`Counts.aligned`: the crops written)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FacekeypointsError(f"{folder}: a file, not a folder for the crops")
    counts, started = Counts(aligned=0, size=size, folder=str(folder)), time.perf_counter()
    for result in _until(results, stop, counts):
        if result.error is not None:
            counts.fail(result, on_error)
            continue
        counts.took(result)
        frame = "" if result.frame is None else f"_f{result.frame}"
        for index, face in enumerate(result.faces):  # the index of the face in predict's JSON record
            if face.keypoints is None:
                counts.too_small += 1
                continue
            try:
                path = output_path(folder, result, f"{frame}_{index}.png")
                refuse_input(path, protected, result.source)
                write_image(path, face.aligned(result.image, size), force=force)
                counts.aligned += 1
            except FacekeypointsError as exc:  # this crop alone is lost (it exists, the disk is full)
                counts.fail(result, on_error, exc)
        if on_result is not None:
            on_result(result)
    counts.seconds = time.perf_counter() - started
    return counts


def shown(results: Iterable[FileResult], stop: Callable[[], object] | None = None) -> Iterator[FileResult]:
    """The results, each frame shown with its faces in a `Window` on the way; closing it (q, Esc) calls `stop`
    (a live source then ends at its next frame) and ends the stream of files."""
    window = Window()
    try:
        for result in results:
            yield result
            if result.image is not None and not window.show(result.annotated()):
                if stop is not None:
                    stop()
                return
    finally:
        window.close()
