"""The `facekeypoints` command line: it parses, then calls the library, which does the work. Choices and
defaults come from the library's registries and constants. A bad input is one line on stderr and exit status 1
(2 for a wrong command line); `--debug` shows the traceback instead."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path

from . import __version__, _progress
from .errors import FacekeypointsError
from .evaluation import SPLITS
from .inference.loading import BACKENDS
from .photos import ALIGNED_SIZE, DEFAULT_DETECTOR, DETECTORS, MAX_PIXELS, MAX_SPREAD, MIN_CROP
from .photos.tracking import BETA, MIN_CUTOFF, REDETECT
from .shipped import DEFAULT_MODEL, SHIPPED
from .training.schedule import SCHEDULES

DATA_ENV = "FKD_DATA_DIR"


def _say(args, *lines: str, file=None) -> None:
    if not args.quiet:
        print(*lines, sep="\n", file=file)


def cmd_submit(args) -> int:
    from .evaluation import submit

    test_path, lookup_path = args.test or args.data, args.lookup or args.data
    if test_path is None or lookup_path is None:
        raise FacekeypointsError(f"say where the data is: --test and --lookup, or --data DIR (or ${DATA_ENV})")
    written = submit(test_path, lookup_path, args.out, args.model, args.backend, args.batch_size, args.force, True)
    _say(args, f"wrote {args.out}: {written}, model {args.model}")
    return 0


def cmd_score(args) -> int:
    from .submission import score_files

    report = score_files(args.submission, args.solution, args.lookup)
    print(json.dumps(report.as_dict(), indent=2) if args.json else f"{report.rmse:.5f}" if args.quiet else report)
    return 0


def cmd_show(args) -> int:
    from .gallery import show

    drawn = show(args.data, args.out, kind=args.set, predictions=args.predictions, truth=args.truth,
                 lookup=args.lookup, model=args.model, count=args.count, indices=args.indices, worst=args.worst,
                 heatmaps=args.heatmaps, seed=args.seed, force=args.force)
    _say(args, f"wrote {args.out}: {drawn}")
    return 0


def cmd_data_check(args) -> int:
    from .data.check import check_path

    failed = False
    for path in args.paths:  # each path is checked, whatever the one before it came to
        try:
            results = check_path(path, args.flip_pairs, args.category)
        except FacekeypointsError as error:
            print(f"facekeypoints: error: {error}", file=sys.stderr)
            failed = True
            continue
        for result in results:
            print("".join(line + "\n" for line in result.problem_lines(args.errors_only)), end="")
            _say(args, result.summary())
            failed |= bool(result.errors)
    return 1 if failed else 0


def cmd_data_convert(args) -> int:
    from .data.annotations import convert

    _say(args, convert(args.input, args.output, args.to, args.force, args.flip_pairs, args.category))
    return 0


def cmd_train(args) -> int:
    from .training import TrainConfig, run

    if args.data is None and not args.resume:
        raise FacekeypointsError(f"give the training data with --data (or set ${DATA_ENV})")
    options = {k: v for k, v in vars(args).items() if k in getattr(args, "model_options", ()) and v is not None}
    settings = {f.name for f in fields(TrainConfig)} - {"out", "options"}  # flags of their name; unset: None
    given = {name: value for name, value in vars(args).items() if name in settings and value is not None}
    config = TrainConfig(out=args.out, options=options, **given)
    report = run(config, resume=args.resume, force=args.force, quiet=args.quiet, given=set(given) | set(options))
    _say(args, f"best checkpoint {Path(args.out) / 'best.pt'}; validation {report.format()}" if report else
         f"trained on all faces (no validation split): {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate

    done = evaluate(args.model, args.data, args.split, args.val_fraction, args.seed, args.batch_size, args.backend,
                    show_progress=True)
    print(json.dumps({**done.report.as_dict(), "nme": done.nme, "points": list(done.points)}, indent=2) if args.json
          else f"{args.model} on {len(done.data)} faces ({args.split}): {done.format()}")
    if args.worst_out:
        from .gallery import worst_faces

        worst_faces(done.data, done.predicted, args.count, f"{args.split}, {args.model}", args.worst_out, args.force)
        _say(args, f"wrote {args.worst_out}")
    return 0


def _stream_faces(args, given: list, desc: str, keep_images: bool, stopped: list[bool]):
    """What predict and align share: the faces of the inputs (or of a --camera), streamed as the options say, and
    a progress bar over them. Anything put in `stopped` ends a live source."""
    from .api import FaceKeypoints
    from .photos import Tracking, count_frames, expand_inputs, read_boxes

    fk = FaceKeypoints(args.model, detector=args.detector, min_crop=args.min_face, max_spread=args.max_spread,
                       backend=args.backend, max_pixels=args.max_pixels, min_size=args.min_size)
    tracking = Tracking(args.redetect, args.smooth, args.min_cutoff, args.beta)
    if getattr(args, "camera", None) is not None:  # until the source ends, or until `stopped` says so
        if args.inputs:
            raise FacekeypointsError("give INPUTs or --camera, not both")
        source = int(args.camera) if args.camera.isdigit() else args.camera
        results, total = fk.track(source, args.every, keep_images, tracking, stop=lambda: bool(stopped)), None
    else:
        inputs = expand_inputs(given)
        if not inputs:
            raise FacekeypointsError(f"no images or videos found in {', '.join(map(str, given))}")
        boxes = read_boxes(args.boxes) if args.boxes else None
        results = fk.detect_files(given, every=args.every, workers=args.workers, keep_images=keep_images, boxes=boxes,
                                  tracking=None if args.no_track else tracking)
        total = count_frames(inputs, args.every)
    if getattr(args, "show", False):
        results = _shown(results, stopped)
    return results, _progress.progress(total=total, desc=desc, unit="frame")


def cmd_predict(args) -> int:
    from .photos import write_results
    from .shipped import sample_image

    stopped: list[bool] = []
    # Ctrl-C ends a live source as its own end would: the records are closed, valid JSON
    previous = signal.signal(signal.SIGINT, lambda *_: stopped.append(True)) if args.camera is not None else None
    try:
        results, bar = (_ray_faces(args, args.inputs or [sample_image()]) if args.ray else
                        _stream_faces(args, args.inputs or [sample_image()], "predicting",
                                      bool(args.save_dir or args.show), stopped))
        # The records go to --json; else, unless the pictures are the output, to stdout (nowhere else to say it).
        records = args.json or (None if args.save_dir or args.show else sys.stdout)
        counts = write_results(results, records, args.save_dir, labels=args.labels, every=args.every,
                               force=args.force, on_result=lambda r: bar.update(1),
                               on_error=lambda r: bar.write(f"facekeypoints: skipped {r.error}", file=sys.stderr))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    bar.close()
    _say(args, counts.summary() + (f"; records in {args.json}" if args.json not in (None, "-") else "")
         + (f"; pictures in {args.save_dir}" if args.save_dir else ""), file=sys.stderr)  # stdout may be the JSON
    return 1 if counts.failed else 0


def _ray_faces(args, given: list):
    """predict --ray: the records of the inputs from a Ray cluster, and a progress bar over them."""
    from .photos import expand_inputs
    from .ray_data import predict_files

    if args.camera is not None or args.show or args.save_dir or args.boxes:
        raise FacekeypointsError("--ray writes the records of image files: not with --camera, --show, --save-dir "
                                 "or --boxes")
    results = predict_files(given, args.ray, args.workers or None, model=args.model, backend=args.backend,
                            detector=args.detector, min_size=args.min_size, min_crop=args.min_face,
                            max_spread=args.max_spread, max_pixels=args.max_pixels)
    return results, _progress.progress(total=len(expand_inputs(given)), desc="predicting", unit="image")


def _shown(results, stopped: list[bool]):
    """The results, each frame shown with its faces in a window on the way; closing it stops a live source, and
    ends the stream of files."""
    from .photos import Window

    window = Window()
    try:
        for result in results:
            if result.image is not None and not window.show(result.annotated()):
                stopped.append(True)  # a live source stops at its next frame; files stop here
                yield result
                return
            yield result
    finally:
        window.close()


def cmd_align(args) -> int:
    from .photos import Counts, write_image

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise FacekeypointsError(f"{out}: a file, not a folder for the crops")
    results, bar = _stream_faces(args, args.inputs, "aligning", True, [])
    counts, written, small, started = Counts(), 0, 0, time.perf_counter()
    for result in results:
        bar.update(1)
        if result.error is not None:
            counts.failed += 1
            bar.write(f"facekeypoints: skipped {result.error}", file=sys.stderr)
            continue
        counts.records += 1
        counts.faces += len(result.faces)
        counts.not_faces += result.not_faces
        name = result.name or Path(result.source.stem)  # as predict --save-dir names its pictures
        frame = "" if result.frame is None else f"_f{result.frame}"
        for index, face in enumerate(result.faces):  # the index of the face in predict's JSON record
            if face.too_small:
                small += 1
                continue
            try:
                write_image(out / name.with_name(f"{name.name}{frame}_{index}.png"),
                            face.aligned(result.image, args.size), force=args.force)
                written += 1
            except FacekeypointsError as exc:  # this crop alone is lost (it exists, the disk is full)
                counts.failed += 1
                bar.write(f"facekeypoints: skipped {exc}", file=sys.stderr)
    bar.close()
    counts.seconds = time.perf_counter() - started
    _say(args, f"{counts.summary()}; {written} aligned {args.size}x{args.size} crop(s) in {out}"
         + (f"; {small} face(s) too small for keypoints (under --min-face) not aligned" if small else ""),
         file=sys.stderr)
    return 1 if counts.failed else 0


def cmd_demo(args) -> int:
    from .api import FaceKeypoints
    from .photos import draw_faces, read_colour, write_image
    from .shipped import sample_image

    image = read_colour(sample_image())
    faces = FaceKeypoints(args.model, detector=args.detector, backend=args.backend).detect(image, channels="bgr")
    write_image(Path(args.out), draw_faces(image, faces, labels=args.labels), force=args.force)
    _say(args, *(face.describe() for face in faces), f"wrote {args.out}: {len(faces)} face(s) on {sample_image().name}")
    return 0


def cmd_export(args) -> int:
    from .inference.export import export_onnx

    model = export_onnx(args.model, args.out, flip=args.flip, force=args.force)
    _say(args, f"wrote {args.out}: {model.name}, flip averaging {'on' if model.resolve_flip(args.flip) else 'off'}, "
               f"{Path(args.out).stat().st_size / 1e6:.1f} MB")
    return 0


def _number(kind: type, low: float, high: float | None = None, above: bool = False):
    """An argparse type refusing nonsense before any work: low <= value (low < value if above) < high."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if not (math.isfinite(value) and (value > low if above else value >= low) and (high is None or value < high)):
            bound = f"above {low}" if above else f"at least {low} and below {high}" if high else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value
    parse.__name__ = "count" if kind is int else "number"  # argparse names the type in its messages
    return parse


COUNT, NATURAL = _number(int, 1), _number(int, 0)  # e.g. --epochs, --every; --workers, --min-face
POSITIVE, FRACTION = _number(float, 0, above=True), _number(float, 0, 1)  # --lr; --val-fraction, --ema


def _indices(text: str) -> list[int]:
    try:
        return [NATURAL(i) for i in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"not comma-separated whole numbers of 0 or more: {text!r}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not the usage block that --help shows
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_train_parser(command, option, data_help: str, with_models: bool) -> None:
    """`train`, with each registered model's own options when the command is train (the registry needs torch,
    which no other command loads)."""
    p = command("train", cmd_train, "train a model on Kaggle's data or any keypoint annotations",
                "Train a model. RUN_DIR gets best.pt (best validation RMSE), last.pt (all needed to resume), log.csv "
                "and curve.png. Ctrl-C (or kill) saves last.pt; --resume continues exactly where it stopped.",
                force="start afresh over an existing run")
    specs = []
    if with_models:  # torch takes a second to import: only for `train` itself
        try:
            from .models import list_models, model_options, model_spec
            from .training import DEFAULT_TRAIN_MODEL
        except ModuleNotFoundError as error:  # no torch: `train` says so when it runs
            if error.name != "torch":
                raise
        else:
            specs = [model_spec(name) for name in list_models()]
    p.add_argument("--model", choices=[s.name for s in specs] or None,
                   help=f"which model (default: {DEFAULT_TRAIN_MODEL if specs else 'the best'})")
    p.add_argument("--data", default=os.environ.get(DATA_ENV), help="training data, any keypoints: Kaggle's (" + data_help
                   + "), COCO keypoints .json, a 300-W folder of images and .pts files, or dlib's .xml")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder for checkpoints and logs")
    for name, kind, text in (  # unset (None): the model's own default
            ("epochs", COUNT, "epochs to train, with --resume the new total"), ("batch-size", COUNT, "faces per step"),
            ("lr", POSITIVE, "the learning rate"),
            ("ema", FRACTION, "decay of a moving average of the weights, 0: none"),
            ("weight-decay", _number(float, 0), "AdamW with this decay, 0 for Adam"),
            ("schedule", SCHEDULES, "learning rate: constant, halved at half time, or warm-up then cosine"),
            ("augment", bool, "random flips, rotations, zoom, shifts, brightness and contrast"),
            ("reframe", _number(float, 0, 1), "with --augment, the share of faces framed widely, as an unusual "
             "photo crop would: zoom 0.55-1.5, turn up to 35 degrees, shift up to 22 px"),
            ("channels-last", bool, "NHWC memory layout, faster convolutions on CPUs"),
            ("bf16", bool, "bfloat16 autocast, float32 weights (default: on GPUs and on CPUs with AMX)")):
        kwargs = ({"action": argparse.BooleanOptionalAction} if kind is bool else {"choices": kind}
                  if isinstance(kind, tuple) else {"type": kind})
        p.add_argument(f"--{name}", help=text if "default" in text else f"{text} (default: the model's)", **kwargs)
    # no argparse defaults here: --resume tells a setting given (even at its default) from one left unset
    p.add_argument("--val-fraction", type=FRACTION, help="share of images held out for validation, 0: none "
                   "(default: 0.1)")
    p.add_argument("--seed", type=int, help="seed of the split and of training (default: 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="where to train (default: cpu)")
    p.add_argument("--threads", type=COUNT, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--limit", type=COUNT, help="use only the first N faces of the file (quick checks)")
    p.add_argument("--complete-only", action="store_true", default=None,
                   help="train only on faces with all 15 keypoints (dropna)")
    p.add_argument("--flip-pairs", metavar="PAIRS", help="mirror pairs of the data's keypoints, 'a:b,c:d' by index or "
                   "name, or 'none' (default: Kaggle's and iBUG 68's own, else from names saying left/right, else no "
                   "flipping)")
    p.add_argument("--init", metavar="MODEL", help="fine-tune: start from this model's weights (a shipped name such as "
                   "keypointnet, a run folder or checkpoint of the same architecture); new keypoints get new heads")
    p.add_argument("--teacher", metavar="MODEL", help="distil: this model's points (a run folder, checkpoint, .onnx "
                   "or shipped name, trained on the same split) train every head a face has no label for")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its last.pt, with its "
                   "settings: only --epochs (the new total), --threads and --data (the same data, moved) may change")
    defaults = {s.name: ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.train.items()) for s in specs}
    p.epilog = "Models: " + "; ".join(f"{s.name}: {s.summary}" + (f" (defaults: {defaults[s.name]})" if s.train else "")
                                      for s in specs) if specs else None
    options = model_options() if specs else {}
    for name, declared in options.items():  # an option several models have is one flag
        first = declared[0][1]
        flag = isinstance(first.default, bool)
        kind = {"action": argparse.BooleanOptionalAction} if flag else {
            "type": type(first.default) if first.low is None else _number(type(first.default), first.low)}
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=first.choices, **kind,
                       help="; ".join(f"{model}: {o.help} (default: {o.default})" for model, o in declared))
    p.set_defaults(model_options=tuple(options))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    argv = sys.argv[1:] if argv is None else argv
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="print only results and errors, no progress")
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser = _Parser(
        prog="facekeypoints", epilog="Run `facekeypoints COMMAND --help` for a command's options.",
        description="Find the 15 facial keypoints of Kaggle's Facial Keypoints Detection competition in photos and "
        "videos; read Kaggle's data, train and evaluate models, write and score submissions.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_help = f"a folder, training/test CSV or zip, or Kaggle's competition zip (default: ${DATA_ENV})"

    def command(name, func, help, description, force="overwrite existing outputs", **kwargs):
        p = sub.add_parser(name, parents=[common], help=help, description=description, **kwargs)
        p.set_defaults(func=func)
        if force:
            p.add_argument("-f", "--force", action="store_true", help=force)
        return p

    def option(p, *flags, **kwargs):  # states the default in the help, as every option here does
        if kwargs.get("default") is not None and kwargs.get("default") is not False:
            kwargs["help"] += " (default: %(default)s)"
        p.add_argument(*flags, **kwargs)

    predict = p = command(
        "predict", cmd_predict, "keypoints of the faces in photos, folders and videos",
        "Find the faces in images (jpg, png, bmp, webp, tiff), folders (recursively) and videos (mp4, avi, mov, mkv, "
        "webm), and their 15 keypoints in the original pixels. An unreadable input is reported and gets its error "
        "record; the rest goes on, and the exit status is then 1.", epilog="With no INPUT: the sample photo in the package.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image or video files, or folders")
    p.add_argument("--json", metavar="FILE", help="the faces found, a record per image and frame (an unreadable "
                   "input: its error record), here, by the suffix: .jsonl JSON Lines (a record a line), .parquet "
                   "Parquet (a row per face, a column per coordinate), else a JSON array (-, or none: stdout)")
    p.add_argument("--save-dir", metavar="DIR", help="write annotated images (PNG) and videos (MP4) here")
    p.add_argument("--camera", metavar="SOURCE", help="follow the faces of a camera (its number: 0 is the first) or "
                   "of a stream OpenCV opens (a URL) as the frames come, until it ends or Ctrl-C")
    p.add_argument("--show", action="store_true", help="show each image or frame with its keypoints in a window as "
                   "it is done (q or Esc stops)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster (pip install 'facekeypoints[ray]'): its "
                   "address, or local to start one here; --workers actors (default: one per CPU); records as without "
                   "Ray, in order (docs/ray.md)")
    align = p = command(
        "align", cmd_align, "aligned face crops for face recognition, from photos, folders and videos",
        "Find the faces in images, folders and videos as predict does, and cut each one as a square crop aligned as "
        f"face recognition models take them (ArcFace/InsightFace's {ALIGNED_SIZE}x{ALIGNED_SIZE} crops): eye "
        "centres, nose tip and mouth corners where the template has them, upright whatever the head's roll, in the "
        "photo's colours. One PNG per face: "
        "DIR/NAME_I.png for an image, DIR/NAME_fFRAME_I.png for a video frame, NAME being the input's path "
        "relative to the folder holding all the inputs, without suffix (as predict --save-dir names its pictures), "
        "and I the face's index in predict's JSON record. Faces too small for keypoints are skipped and counted. "
        "An unreadable input, or a crop that cannot be written, is reported and skipped; the exit status is then 1.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image or video files, or folders")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the crops")
    option(p, "--size", type=COUNT, default=ALIGNED_SIZE, metavar="PX", help="the crops' side; the template is "
           f"scaled by PX/{ALIGNED_SIZE}")
    for p in (predict, align):  # finding the faces
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
        option(video, "--beta", type=_number(float, 0), default=BETA, help="how fast the cut-off rises as the shape "
               "changes (per crop size per second): higher follows expressions more closely")
    p = command("demo", cmd_demo, "draw the keypoints on the sample photo shipped with the package",
                "Find the face in NASA's portrait of astronaut Eileen Collins (public domain, shipped with the "
                "package), draw its keypoints and print them.")
    option(p, "--out", default="astronaut-keypoints.png", help="the picture to write")
    demo = p
    for p in (predict, demo):
        p.add_argument("--labels", action="store_true", help="write keypoint names on the pictures")
    for p in (predict, align, demo):
        option(p, "--detector", choices=sorted(DETECTORS), default=DEFAULT_DETECTOR, help="the face detector")

    p = command("submit", cmd_submit, "predict the test faces and write a Kaggle submission",
                "Predict every face of test.csv and write RowId,Location for every row of IdLookupTable.csv, in its "
                "order, like Kaggle's SampleSubmission.csv.")
    p.add_argument("--test", help="test.csv, test.zip, a folder or Kaggle's zip (overrides --data)")
    p.add_argument("--lookup", help="IdLookupTable.csv, a folder or Kaggle's zip (overrides --data)")
    p.add_argument("--out", required=True, help="the submission CSV to write")
    model_commands = [predict, align, demo, p]

    p = command("evaluate", cmd_evaluate, "RMSE of a model on labelled faces, and its worst cases",
                "Kaggle's RMSE overall, per label pattern and per keypoint, on the validation split (as train makes "
                "it), the training split or all faces of DATA; optionally a picture of the worst faces.")
    option(p, "--split", choices=SPLITS, default=SPLITS[0], help="which faces")
    option(p, "--val-fraction", type=FRACTION, default=0.1, help="as given to train")
    option(p, "--seed", type=int, default=0, help="as given to train")
    p.add_argument("--worst-out", metavar="PNG", help="draw the worst faces, labels and predictions, here")
    option(p, "--count", type=COUNT, default=16, help="how many worst faces to draw")
    model_commands.append(p)
    for p in model_commands:
        option(p, "--model", default=DEFAULT_MODEL, help=f"a shipped model ({', '.join(SHIPPED)}), a checkpoint, "
               "a run folder or an .onnx file")
        option(p, "--backend", choices=BACKENDS, default=BACKENDS[0], help="auto: ONNX Runtime for shipped models "
               "and .onnx files when onnxruntime is installed, else PyTorch")
    for p in model_commands[3:]:  # submit and evaluate: Kaggle data in, many faces a batch
        p.add_argument("--data", default=os.environ.get(DATA_ENV), help="the data: " + data_help)
        option(p, "--batch-size", type=COUNT, default=256, help="faces per forward pass")

    p = command("score", cmd_score, "RMSE of a submission against a solution",
                "Kaggle's metric: RMSE in pixels over all rows; with the lookup table (--lookup, or IdLookupTable.csv "
                "beside SOLUTION) also per keypoint and per label pattern.", force=None)
    p.add_argument("submission", help="RowId,Location CSV to score")
    p.add_argument("solution", help="RowId,Location CSV with the true values")
    p.add_argument("--lookup", help="IdLookupTable.csv, for the breakdown")
    for p in (p, model_commands[-1]):  # score and evaluate
        p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = command("show", cmd_show, "draw a grid of faces with labels and/or predictions",
                "Draw faces with their labelled keypoints (green circles) and predicted ones (red crosses).")
    p.add_argument("data", nargs="?", default=os.environ.get(DATA_ENV), help=data_help)
    p.add_argument("--set", choices=("training", "test"), help="which file to draw (default: training if found)")
    p.add_argument("--predictions", help="a submission CSV to draw on the test faces (needs the lookup table)")
    p.add_argument("--truth", help="a solution CSV (RowId,Location) to draw as the test faces' labels")
    p.add_argument("--lookup", help="IdLookupTable.csv for --predictions/--truth (default: from DATA)")
    p.add_argument("--model", help="draw this model's predictions (name, checkpoint or run folder)")
    option(p, "--count", type=COUNT, default=16, help="how many faces")
    p.add_argument("--indices", type=_indices, help="comma-separated row indices (0-based) to draw instead")
    p.add_argument("--worst", action="store_true", help="draw the faces the model gets most wrong")
    p.add_argument("--heatmaps", action="store_true", help="draw the first chosen face's heatmaps (a heatmap --model)")
    option(p, "--seed", type=int, default=0, help="seed of the random sample")
    option(p, "--out", default="faces.png", help="PNG to write")

    data = sub.add_parser("data", help="check and convert data files").add_subparsers(
        dest="data_command", metavar="SUBCOMMAND", required=True)
    c = data.add_parser(
        "check", parents=[common], help="list every problem and suspicious row or face of data files",
        description="Report every problem (errors) and suspicious row (warnings: odd label patterns, swapped eyes, "
        "duplicate or blank images) of each Kaggle file, by line; for annotation files (COCO .json, dlib .xml, a "
        "300-W folder) what they hold (faces, keypoint set, points per face, flip pairs, unlabelled points) and "
        "their suspicious faces. Exit status 1 when any file has errors.")
    c.add_argument("paths", nargs="+", help="CSV files, zips, folders, .json or .xml files")
    c.add_argument("--errors-only", action="store_true", help="do not list warnings")
    c.set_defaults(func=cmd_data_check)
    v = data.add_parser(
        "convert", parents=[common], help="convert annotations: Kaggle, COCO, 300-W, dlib",
        description="Read annotations (Kaggle's training CSV or zip, COCO keypoints .json, dlib .xml, a 300-W "
        "folder) and write them as COCO, 300-W or dlib; images that are only pixels (Kaggle's) are written as PNG "
        "files. See docs/annotations.md.")
    v.add_argument("input", help="the annotations to read")
    v.add_argument("output", help="what to write: NAME.json (COCO), NAME.xml (dlib) or a folder (300-W)")
    v.add_argument("--to", choices=("coco", "300w", "dlib"), help="the output's format (default: from its suffix)")
    v.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    v.set_defaults(func=cmd_data_convert)
    for p in (c, v):
        p.add_argument("--flip-pairs", metavar="PAIRS", help="the points that swap when a face is mirrored: "
                       "'0:16,1:15' or 'left_eye:right_eye' (names), 'none' (default: from a known scheme or from "
                       "names that say left and right)")
        p.add_argument("--category", help="COCO: the keypoint category (name or id) of a file with several")

    _add_train_parser(command, option, data_help, with_models=bool(argv) and argv[0] == "train")

    p = command("export", cmd_export, "write a model as ONNX, for ONNX Runtime or any ONNX runtime",
                "Export a model with its decoding to ONNX: inputs faces (uint8, N x 96 x 96) and four_point (bool, "
                "N), outputs keypoints (N x 15 x 2, pixel x, y) and spread (N x 15, pixels); dynamic batch. Needs torch"
                " and onnx.")
    option(p, "--model", default=DEFAULT_MODEL, help=f"a shipped model ({', '.join(SHIPPED)}), a checkpoint or a run "
           "folder")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction,
                   help="average with the mirrored faces inside the graph (twice the work; default: the model's own)")
    return parser


INSTALL_HINT = {"torch": "pip install 'facekeypoints[train]'", "onnx": "pip install 'facekeypoints[train]'",
                "onnxruntime": "pip install onnxruntime", "ray": "pip install 'facekeypoints[ray]'",
                "pyarrow": "pip install 'facekeypoints[parquet]'"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(map(str, argv))
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _progress.QUIET = args.quiet
    if getattr(args, "data", "") is None and args.command in ("show", "evaluate"):
        parser.error(f"{args.command}: give the data path (or set ${DATA_ENV})")
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        if exc.name not in INSTALL_HINT:
            raise
        print(f"facekeypoints: error: {args.command} needs {exc.name}: {INSTALL_HINT[exc.name]}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing went wrong here
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (FacekeypointsError, OSError) as exc:  # OSError: e.g. an output folder that cannot be written
        if args.debug:
            traceback.print_exc()
        print(f"facekeypoints: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facekeypoints: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
