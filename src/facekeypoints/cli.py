"""The `facekeypoints` command line: it parses, then calls the library, which does the work. Choices and
defaults come from the library's registries and constants. A bad input is one line on stderr and exit status 1
(2 for a wrong command line); `--debug` shows the traceback instead."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from . import __version__, _progress
from ._signals import terminate_as_interrupt
from ._args import COUNT, FRACTION, indices, option
from .errors import INSTALL_HINT, FacekeypointsError
from .evaluation import SPLITS
from .inference.loading import BACKENDS
from .photos import ALIGNED_SIZE, DEFAULT_DETECTOR, DETECTORS
from .photos.flags import add_drawing_arguments, add_finding_arguments
from .ray_data import add_ray_argument, ray_batch_of
from .serve.flags import add_serve_parser, settings_from
from .shipped import DEFAULT_MODEL, SHIPPED
from .data.flags import add_data_parsers
from .training.flags import add_train_parser

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
    from .data.check import report

    return 1 if report(args.paths, args.errors_only, args.quiet, args.flip_pairs, args.category) else 0


def cmd_data_convert(args) -> int:
    from .data.annotations import convert

    _say(args, convert(args.input, args.output, args.to, args.force, args.flip_pairs, args.category))
    return 0


def cmd_train(args) -> int:
    from .training import config_from_flags, run

    if args.data is None and not args.resume:
        raise FacekeypointsError(f"give the training data with --data (or set ${DATA_ENV})")
    config, given = config_from_flags(vars(args), getattr(args, "model_options", ()))
    report = run(config, resume=args.resume, force=args.force, quiet=args.quiet, given=given)
    _say(args, f"best checkpoint {Path(args.out) / 'best.pt'}; validation {report.format()}" if report else
         f"trained on all faces (no validation split): {args.out}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate

    done = evaluate(args.model, args.data, args.split, args.val_fraction, args.seed, args.batch_size, args.backend,
                    show_progress=True, worst_out=args.worst_out, count=args.count, force=args.force)
    print(json.dumps({**done.report.as_dict(), "nme": done.nme, "points": list(done.points)}, indent=2) if args.json
          else f"{args.model} on {len(done.data)} faces ({args.split}): {done.format()}")
    if args.worst_out:
        _say(args, f"wrote {args.worst_out}")
    return 0


def _batch(args, given: list, desc: str, keep_images: bool, stop):
    """What predict and align share: the batch of the inputs (or of a --camera) as the options say, shown on
    the way with --show, and a progress bar over it."""
    from .api import FaceKeypoints
    from .photos import Tracking, shown

    fk = FaceKeypoints(args.model, detector=args.detector, min_crop=args.min_face, max_spread=args.max_spread,
                       backend=args.backend, max_pixels=args.max_pixels, min_size=args.min_size, exif=not args.no_exif)
    tracking = Tracking(args.redetect, args.smooth, args.min_cutoff, args.beta)
    batch = fk.batch(given, getattr(args, "camera", None), args.every, args.workers, keep_images, args.boxes,
                     None if args.no_track else tracking, stop)
    results = shown(batch.results, stop.request) if getattr(args, "show", False) else batch.results
    return batch, results, _progress.progress(total=batch.total, desc=desc, unit="frame")


def _reporting(bar) -> dict:
    return {"on_result": lambda r: bar.update(1),
            "on_error": lambda r: bar.write(f"facekeypoints: skipped {r.error}", file=sys.stderr)}


def _ended(args, counts, batch, saying: str) -> int:
    counts.skipped = len(batch.skipped)
    _say(args, counts.summary() + saying, file=sys.stderr)  # stdout may be the JSON
    if counts.interrupted and getattr(args, "camera", None) is None:
        return 130  # as Ctrl-C ends a program, though what was done is kept
    return 1 if counts.failed else 0


def cmd_predict(args) -> int:
    from ._signals import StopSignals
    from .photos import write_results
    from .shipped import sample_image

    # Ctrl-C or SIGTERM: the records so far are closed, valid JSON; a live source ends as its own end would
    with StopSignals() as stop:
        batch, results, bar = (ray_batch_of if args.ray else _batch)(args, args.inputs or (  # --ray: docs/ray.md
            [] if args.camera else [sample_image()]), "predicting", bool(args.save_dir or args.show), stop)
        # The records go to --json; else, unless the pictures are the output, to stdout (nowhere else to say it).
        records = args.json or (None if args.save_dir or args.show else sys.stdout)
        counts = write_results(results, records, args.save_dir, labels=args.labels, draw=args.draw, every=args.every,
                               force=args.force, protected=batch.protected, stop=stop, **_reporting(bar))
    bar.close()
    return _ended(args, counts, batch, (f"; records in {args.json}" if args.json not in (None, "-") else "")
                  + (f"; pictures in {args.save_dir}" if args.save_dir else ""))


def cmd_align(args) -> int:
    from ._signals import StopSignals
    from .photos import write_aligned

    with StopSignals() as stop:
        batch, results, bar = _batch(args, args.inputs, "aligning", True, stop)
        counts = write_aligned(results, args.out, args.size, force=args.force, protected=batch.protected,
                               stop=stop, **_reporting(bar))
    bar.close()
    return _ended(args, counts, batch, "")


def cmd_demo(args) -> int:
    from .api import FaceKeypoints
    from .photos import draw_faces, read_colour, write_image
    from .shipped import sample_image

    image = read_colour(sample_image())
    faces = FaceKeypoints(args.model, detector=args.detector, backend=args.backend).detect(image, channels="bgr")
    write_image(Path(args.out), draw_faces(image, faces, args.labels, args.draw), force=args.force)
    _say(args, *(face.describe() for face in faces), f"wrote {args.out}: {len(faces)} face(s) on {sample_image().name}")
    return 0


def cmd_export(args) -> int:
    from .inference.export import export_onnx

    model = export_onnx(args.model, args.out, flip=args.flip, force=args.force)
    _say(args, f"wrote {args.out}: {model.name}, flip averaging {'on' if model.resolve_flip(args.flip) else 'off'}, "
               f"{Path(args.out).stat().st_size / 1e6:.1f} MB")
    return 0


def cmd_serve(args) -> int:
    from .serve import serve

    serve(args.model or [DEFAULT_MODEL], args.host, args.port, args.workers, settings_from(args), args.detector,
          args.backend, args.quiet, min_crop=args.min_face, max_spread=args.max_spread)
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not the usage block that --help shows
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    argv = sys.argv[1:] if argv is None else argv
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="print only results and errors, no progress")
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser = _Parser(
        prog="facekeypoints", epilog="Run `facekeypoints COMMAND --help` for a command's options.",
        description="Find facial keypoints in photos and videos (Kaggle's 15 with the shipped models, or any set a "
        "model was trained on); read annotations, train, evaluate and serve models, write Kaggle submissions.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_help = f"a folder, training/test CSV or zip, or Kaggle's competition zip (default: ${DATA_ENV})"

    def command(name, func, help, description, force="overwrite existing outputs", **kwargs):
        p = sub.add_parser(name, parents=[common], help=help, description=description, **kwargs)
        p.set_defaults(func=func)
        if force:
            p.add_argument("-f", "--force", action="store_true", help=force)
        return p

    predict = p = command(
        "predict", cmd_predict, "keypoints of the faces in photos, folders and videos",
        "Find the faces in images (any format OpenCV reads), folders (recursively) and videos (mp4, avi, mov, mkv, "
        "webm), and their keypoints (the model's set) in the original pixels. An unreadable input is reported, gets "
        "an error record ({\"source\", \"frame\", \"error\"}) and is skipped; the exit status is then 1. Ctrl-C "
        "or SIGTERM stops after the input in progress, keeping what was done (exit status 130).",
        epilog="With no INPUT: the sample photo in the package. Limits per input: docs/limits.md.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image or video files, or folders")
    p.add_argument("--json", metavar="FILE", help="the records here, by the suffix: .jsonl JSON Lines (a record a "
                   "line), .parquet Parquet (a row per face), else a JSON array (-, or none: stdout)")
    p.add_argument("--save-dir", metavar="DIR", help="write annotated images (PNG) and videos (MP4) here")
    p.add_argument("--camera", metavar="SOURCE", help="follow the faces of a camera (its number: 0 is the first) or "
                   "of a stream OpenCV opens (a URL) as the frames come, until it ends or Ctrl-C")
    p.add_argument("--show", action="store_true", help="show each image or frame with its keypoints in a window as "
                   "it is done (q or Esc stops)")
    add_ray_argument(p)
    align = p = command(
        "align", cmd_align, "aligned face crops for face recognition, from photos, folders and videos",
        "Find the faces in images, folders and videos as predict does, and cut each one as a square crop aligned as "
        f"face recognition models take them (ArcFace/InsightFace's {ALIGNED_SIZE}x{ALIGNED_SIZE} crops): eye "
        "centres, nose tip and mouth corners on the template, upright, in the photo's colours. One PNG per face: "
        "DIR/NAME_I.png (a video frame: NAME_fFRAME_I.png), NAME the input's path as predict --save-dir names it, I "
        "the face's index in predict's record. Faces too small for keypoints are skipped and counted; an unreadable "
        "input, or a crop that cannot be written, is reported and skipped (exit status 1).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image or video files, or folders")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the crops")
    option(p, "--size", type=COUNT, default=ALIGNED_SIZE, metavar="PX", help="the crops' side; the template is "
           f"scaled by PX/{ALIGNED_SIZE}")
    for p in (predict, align):
        add_finding_arguments(p)
    p = command("demo", cmd_demo, "draw the keypoints on the sample photo shipped with the package",
                "Find the face in NASA's portrait of astronaut Eileen Collins (public domain, shipped with the "
                "package), draw its keypoints and print them.")
    option(p, "--out", default="astronaut-keypoints.png", help="the picture to write")
    demo = p
    for p in (predict, demo):
        add_drawing_arguments(p)
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
    p.add_argument("--indices", type=indices, help="comma-separated row indices (0-based) to draw instead")
    p.add_argument("--worst", action="store_true", help="draw the faces the model gets most wrong")
    p.add_argument("--heatmaps", action="store_true", help="draw the first chosen face's heatmaps (a heatmap --model)")
    option(p, "--seed", type=int, default=0, help="seed of the random sample")
    option(p, "--out", default="faces.png", help="PNG to write")

    add_data_parsers(sub, common, cmd_data_check, cmd_data_convert)

    add_train_parser(command, data_help, bool(argv) and argv[0] == "train", cmd_train, DATA_ENV)

    p = command("export", cmd_export, "write a model as ONNX, for ONNX Runtime or any ONNX runtime",
                "Export a model with its decoding to ONNX: inputs faces (uint8, N x 96 x 96) and four_point (bool, "
                "N), outputs keypoints (N x K x 2, pixel x, y) and spread (N x K, pixels), K the points of its "
                "keypoint set (in the file's metadata); dynamic batch. Needs torch and onnx.")
    option(p, "--model", default=DEFAULT_MODEL, help=f"a shipped model ({', '.join(SHIPPED)}), a checkpoint or a run "
           "folder")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction,
                   help="average with the mirrored faces inside the graph (twice the work; default: the model's own)")
    add_serve_parser(command, cmd_serve, DEFAULT_MODEL)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(map(str, argv))
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _progress.QUIET = args.quiet
    if getattr(args, "data", "") is None and args.command in ("show", "evaluate"):
        parser.error(f"{args.command}: give the data path (or set ${DATA_ENV})")
    try:
        with terminate_as_interrupt():  # kill: as Ctrl-C, no temporary file left behind
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
