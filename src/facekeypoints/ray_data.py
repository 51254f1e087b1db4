"""Keypoints over a Ray Data dataset: a photo archive on a cluster, with the records a run on one machine writes
(the extra `facekeypoints[ray]`: `pip install 'facekeypoints[ray]'`, from a clone `pip install '.[ray]'`).

    >>> import ray
    >>> from facekeypoints.ray_data import predict_dataset
    >>> photos = ray.data.read_binary_files("s3://bucket/photos/", include_paths=True)
    >>> records = predict_dataset(photos, concurrency=8, batch_size=32)
    >>> records.write_json("s3://bucket/faces/")     # rows: source, error, faces (a count), record (JSON text)
    >>> predict_dataset(photos, rows="faces").write_parquet("s3://bucket/faces/")  # a row per face (`face_rows`)

`predict_dataset` is `Dataset.map_batches` with `KeypointsActor`, a callable class: each actor, one worker
process, loads the model and the face detector once and answers a batch of rows with
`FaceKeypoints.detect_batch` (the detector's networks and the model each run once over the batch). Rows may hold
an encoded file's bytes (`bytes`, as `read_binary_files` gives them), a decoded image (`image`, as `read_images`
gives it: RGB), or only a file's `path` (read by the actor); `path`, where there is one, is the record's source.
A row that cannot be decoded gets its error record, and the job goes on. Ray restarts an actor that dies and
runs its batch again, so nothing is lost and, as only finished batches count, nothing is doubled.

`predict_files` is `facekeypoints predict INPUTS --ray ADDRESS`: the same files, records and order as a run
without Ray. docs/ray.md says how it scales.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _progress
from .api import Batch, FaceKeypoints
from .errors import FacekeypointsError
from .inference import load_model
from .photos import (
    DEFAULT_DETECTOR,
    MAX_PIXELS,
    MAX_SPREAD,
    MIN_CROP,
    create_detector,
    face_rows,
    is_video,
    scan_inputs,
    walk_inputs,
)
from .shipped import DEFAULT_MODEL

ROWS = ("records", "faces")  # what predict_dataset's rows are: one per image, or one per face


class KeypointsActor:
    """The callable class for `Dataset.map_batches`: the model and the detector are loaded once, in
    `__init__`, when Ray starts the actor; each call answers one batch (a dict of columns).

    model, backend, detector, min_size, min_crop, max_spread, max_pixels: as `FaceKeypoints` takes them. threads:
    the CPU threads the actor's model, detector and OpenCV use (give the actor as many CPUs: `num_cpus`).
    rows: "records" (one row per image: source, error, faces (how many), record (the JSON text of
    `predict --json`'s record)) or "faces" (one row per face, as `photos.face_rows` flattens a record).
    """

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "auto", detector: str = DEFAULT_DETECTOR,
                 min_size: float | None = None, min_crop: int = MIN_CROP, max_spread: float = MAX_SPREAD,
                 max_pixels: float = MAX_PIXELS, threads: int = 1, rows: str = "records"):
        import cv2

        if rows not in ROWS:
            raise ValueError(f"rows must be one of {', '.join(ROWS)}, got {rows!r}")
        cv2.setNumThreads(threads)  # the actors are the parallelism: one thread each unless given more CPUs
        options = {"threads": threads} if detector == "blazeface" else {}  # Haar's threads are OpenCV's
        self.fk = FaceKeypoints(load_model(model, backend, threads=threads),
                                create_detector(detector, min_size=min_size, **options), min_crop, max_spread,
                                max_pixels=max_pixels)
        self.rows = rows

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        column = next((name for name in ("bytes", "image", "path") if name in batch), None)
        if column is None:
            raise FacekeypointsError(f"rows need a column bytes, image or path; these have {', '.join(batch)}")
        items = list(batch[column])
        if column == "path":
            items = [Path(str(path)) for path in items]
        sources = [str(path) for path in batch["path"]] if "path" in batch else None
        results = self.fk.detect_batch(items, "rgb", sources)
        records = [result.to_dict() for result in results]
        if self.rows == "faces":  # every record gives at least a row
            rows = [row for record in records for row in face_rows(record, self.fk.model.keypoint_set.names)]
            return {name: [row[name] for row in rows] for name in rows[0]}
        return {"source": [record["source"] for record in records],
                "error": [record.get("error") for record in records],
                "faces": [len(record.get("faces") or []) for record in records],
                "record": [json.dumps(record, separators=(",", ":")) for record in records]}


def predict_dataset(dataset, concurrency: int | None = None, batch_size: int = 32, num_cpus: float = 1,
                    rows: str = "records", **options):
    """The dataset of keypoint records of a Ray dataset of images (see the module's docs for its columns), lazily,
    as Ray does. concurrency: how many actors (default: the cluster's CPUs / num_cpus, less one actor to leave a
    CPU for the read tasks: with every CPU held by an actor, a `read_*` dataset waits forever); batch_size: rows
    per call of an actor (images decoded at once in it); num_cpus: CPUs each actor asks for (its threads); rows:
    "records" or "faces" (`KeypointsActor`). options: `KeypointsActor`'s (model, detector, min_size, ...)."""
    import ray

    if concurrency is None:
        concurrency = max(1, int(ray.cluster_resources().get("CPU", 1) // num_cpus) - 1)
    options = {"threads": max(1, math.floor(num_cpus)), "rows": rows, **options}
    return dataset.map_batches(KeypointsActor, fn_constructor_kwargs=options, batch_size=batch_size,
                               num_cpus=num_cpus, batch_format="numpy",
                               compute=ray.data.ActorPoolStrategy(size=concurrency))


@dataclass
class Recorded:
    """A result as it came back from the cluster: its record (`FileResult.to_dict()`), with what
    `photos.write_results` reads of a result."""

    record: dict

    @property
    def error(self) -> str | None:
        return self.record.get("error")

    @property
    def faces(self) -> list:
        return self.record.get("faces") or []

    @property
    def not_faces(self) -> int:
        return self.record.get("not_faces", 0)

    @property
    def source(self) -> Path:
        return Path(self.record["source"])

    @property
    def frame(self) -> int | None:
        return self.record.get("frame")

    def to_dict(self) -> dict:
        return self.record


def ray_batch(inputs: Iterable[str | os.PathLike], address: str = "local", concurrency: int | None = None,
              model: str = DEFAULT_MODEL, backend: str = "auto", detector: str = DEFAULT_DETECTOR,
              min_size: float | None = None, min_crop: int = MIN_CROP, max_spread: float = MAX_SPREAD,
              max_pixels: float = MAX_PIXELS, refused: Iterable = (), batch_size: int = 32) -> Batch:
    """`predict_files` as an `api.Batch` (its results, how many, the files it reads and those it skips) for
    `predict --ray`, the inputs checked before any cluster starts: a batch with no image, with videos, or with
    any of `refused` set (predict's --camera, --show, --save-dir, --boxes) is a FacekeypointsError."""
    if any(refused):
        raise FacekeypointsError("--ray writes the records of image files: not with --camera, --show, --save-dir "
                                 "or --boxes")
    scan = scan_inputs(inputs)
    if not scan.named:
        raise FacekeypointsError(f"no images found in {', '.join(map(str, inputs))}"
                                 + (f" ({len(scan.skipped)} other file(s))" if scan.skipped else ""))
    _refuse_videos(scan.paths)
    options = {"model": model, "backend": backend, "detector": detector, "min_size": min_size, "min_crop": min_crop,
               "max_spread": max_spread, "max_pixels": max_pixels}
    return Batch(predict_files(inputs, address, concurrency, batch_size, **options), len(scan.paths), scan.paths,
                 scan.skipped)


def add_ray_argument(parser) -> None:
    """predict's --ray."""
    parser.add_argument("--ray", metavar="ADDRESS", help="on a Ray cluster (the [ray] extra): its address, or local "
                        "to start one here; --workers actors (default: one per CPU); the same records (docs/ray.md)")


def ray_batch_of(args, given: list, desc: str, keep_images: bool, stop) -> tuple[Batch, Iterator[Recorded], object]:
    """predict --ray: the batch of the parsed command line's inputs on a Ray cluster, its results and a progress
    bar over them (as the command line's own batch of files; keep_images and stop are not Ray's: pictures and
    --show are refused, and a stop ends the writing)."""
    batch = ray_batch(given, args.ray, args.workers or None, args.model, args.backend, args.detector, args.min_size,
                      args.min_face, args.max_spread, args.max_pixels, (args.camera, args.show, args.save_dir,
                                                                         args.boxes))
    return batch, batch.results, _progress.progress(total=batch.total, desc=desc, unit="image")


def _refuse_videos(paths: list[Path]) -> None:
    videos = [path for path in paths if is_video(path)]
    if videos:
        raise FacekeypointsError(f"{videos[0]}{f' and {len(videos) - 1} more' if len(videos) > 1 else ''}: videos "
                                 "are not run on Ray (each is followed frame to frame in one process); run them "
                                 "without --ray")


def predict_files(inputs: Iterable[str | os.PathLike], address: str = "local", concurrency: int | None = None,
                  batch_size: int = 32, **options) -> Iterator[Recorded]:
    """The records of image files and folders computed on a Ray cluster, streamed in input order: those a run
    without Ray gives, file for file (videos are refused: run them without Ray). address: a running cluster's
    ("auto", "ray://host:10001", "host:6379"), or "local" to start one on this machine for the run. The files
    are read by the actors, so they must see the same paths (a shared file system). concurrency, batch_size,
    options: as `predict_dataset` takes them."""
    import ray

    paths = [path for path, _ in walk_inputs(inputs)]
    _refuse_videos(paths)
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, logging_level=logging.ERROR,
                 include_dashboard=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the records in input order, as without Ray
        context.enable_progress_bars = False  # the caller shows its own
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        if not paths:
            return
        blocks = math.ceil(len(paths) / batch_size)  # a batch each: the actors take them as they come
        dataset = ray.data.from_items([{"path": str(path)} for path in paths], override_num_blocks=blocks)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        records = predict_dataset(dataset, min(concurrency or cpus, blocks), batch_size, **options)
        for batch in records.iter_batches(batch_size=None, batch_format="numpy"):
            for record in batch["record"]:
                yield Recorded(json.loads(record))
    finally:
        if started:
            ray.shutdown()
