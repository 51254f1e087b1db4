"""The `facekeypoints` command line.

Every subcommand reports a bad input as one line on stderr and exits with status 1 (2 for a wrong
command line); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from . import _progress, __version__
from .errors import FacekeypointsError
from .shipped import DEFAULT_MODEL, SHIPPED

DATA_ENV = "FKD_DATA_DIR"


def _data_default() -> str | None:
    return os.environ.get(DATA_ENV)


def _say(args, *lines: str) -> None:
    if not args.quiet:
        print(*lines, sep="\n")


# ------------------------------------------------------------------------------------------- commands


def cmd_submit(args) -> int:
    from .data import load_lookup, load_test
    from .keypoints import four_point_faces
    from .submission import submission_locations, write_submission

    test_path, lookup_path = args.test or args.data, args.lookup or args.data
    if test_path is None or lookup_path is None:
        raise FacekeypointsError(f"say where the data is: --test PATH and --lookup PATH, or --data DIR (or ${DATA_ENV})")
    out = Path(args.out)
    if out.exists() and not args.force:  # fail before the work, not after
        raise FacekeypointsError(f"{out} already exists (use --force to overwrite)")
    test = load_test(test_path)
    lookup = load_lookup(lookup_path)
    from .inference import load_model  # the backend loads only once the data is known to be good

    model = load_model(args.model, args.backend)
    # A face for which the table asks only the 4-keypoint convention's points is of that collection.
    four_point = four_point_faces(lookup.requested(test.image_ids))
    predicted = model.predict(test.images, batch_size=args.batch_size, show_progress=True, four_point=four_point)
    locations = submission_locations(predicted, test, lookup)
    write_submission(out, lookup.row_ids, locations, force=args.force)
    _say(args, f"wrote {out}: {len(lookup)} rows for {len(test)} faces, model {args.model}")
    return 0


def cmd_score(args) -> int:
    from .data import load_lookup, read_submission
    from .submission import score_submission

    row_ids, locations = read_submission(args.submission)
    solution_ids, solution = read_submission(args.solution)
    lookup_path = args.lookup
    if lookup_path is None and (Path(args.solution).parent / "IdLookupTable.csv").is_file():
        lookup_path = Path(args.solution).parent / "IdLookupTable.csv"
    lookup = load_lookup(lookup_path) if lookup_path else None
    report = score_submission(row_ids, locations, solution_ids, solution, lookup,
                              names=(args.submission, args.solution))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif args.quiet:
        print(f"{report.rmse:.5f}")
    else:
        print(report.format())
    return 0


def cmd_show(args) -> int:
    import numpy as np

    from .data import load_lookup, load_test, load_training, read_submission
    from .data.sources import resolve
    from .errors import DataError
    from .keypoints import four_point_faces
    from .metrics import face_rmse
    from .viz import face_grid, save_figure

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FacekeypointsError(f"{out} already exists (use --force to overwrite)")
    kind = args.set
    if kind is None:  # a training file if there is one, else a test file
        try:
            resolve(args.data, "training")
            kind = "training"
        except DataError:
            kind = "test"
    labels = mask = predictions = None
    if kind == "training":
        data = load_training(args.data)
        images, labels, mask = data.images, data.keypoints, data.mask
        names = [f"line {n}" for n in data.lines]
    else:
        data = load_test(args.data)
        images = data.images
        names = [f"ImageId {i}" for i in data.image_ids]
    if args.predictions or args.truth:
        if kind != "test":
            raise FacekeypointsError("--predictions and --truth take submission files, drawn on a test set (--set test)")
        lookup = load_lookup(args.lookup or args.data)
        if args.truth:
            labels = _points_from_rows(read_submission(args.truth), lookup, data.image_ids)
            mask = ~np.isnan(labels).any(axis=2)
        if args.predictions:
            predictions = _points_from_rows(read_submission(args.predictions), lookup, data.image_ids)
    model = None
    if args.model and predictions is None:
        from .predictor import KeypointModel

        model = KeypointModel.load(args.model)
        # Faces with labels are predicted in the labelling convention those labels follow.
        four_point = four_point_faces(mask) if mask is not None else np.zeros(len(images), bool)
        if args.worst:  # ranking needs every face's prediction
            predictions = model.predict(images, show_progress=True, four_point=four_point)
    index = _choose(len(images), args, labels, mask, predictions)
    if model is not None and predictions is None:  # only the faces drawn
        predictions = np.full((len(images), 15, 2), np.nan, np.float32)
        predictions[index] = model.predict(images[index], four_point=four_point[index])
    if args.heatmaps:
        return _show_heatmaps(args, model, images, labels, mask, names, int(index[0]), out)
    titles = [names[i] for i in index]
    if labels is not None and predictions is not None:
        errors = face_rmse(predictions[index], labels[index], mask[index])
        titles = [f"{t}  {e:.2f}px" for t, e in zip(titles, errors)]
    fig = face_grid(
        images[index],
        labels=None if labels is None else labels[index],
        label_mask=None if mask is None else mask[index],
        predictions=None if predictions is None else predictions[index],
        titles=titles,
        title=f"{Path(data.source).name} ({len(index)} of {len(images)} faces)",
    )
    save_figure(fig, out, force=args.force)
    _say(args, f"wrote {out}: {len(index)} faces")
    return 0


def _show_heatmaps(args, model, images, labels, mask, names, i: int, out: Path) -> int:
    """Target and predicted heatmaps of face i, each keypoint over the image (as the original project drew them)."""
    import torch

    from .keypoints import KEYPOINT_NAMES, four_point_faces
    from .viz import heatmap_overlay, save_figure

    if model is None:
        raise FacekeypointsError("--heatmaps needs a heatmap model: --model RUN_DIR/best.pt")
    rows, titles = [], []
    if labels is not None and hasattr(model.codec, "encode"):  # keypointnet has no target heatmaps
        target = model.codec.encode(torch.from_numpy(labels[i : i + 1]), torch.from_numpy(mask[i : i + 1]))
        rows.append(target[0].numpy())
        titles.append("target")
    four_point = four_point_faces(mask[i : i + 1]) if mask is not None else None
    rows.append(model.heatmaps(images[i : i + 1], four_point)[0])
    titles.append("predicted")
    fig = heatmap_overlay(images[i], rows, list(KEYPOINT_NAMES), titles)
    fig.suptitle(f"{names[i]}: heatmaps", fontsize=8)
    save_figure(fig, out, force=args.force)
    _say(args, f"wrote {out}: heatmaps of {names[i]}")
    return 0


def _points_from_rows(rows, lookup, image_ids):
    """(N, 15, 2) points, NaN where absent, from a RowId,Location file and the lookup table."""
    import numpy as np

    given = dict(zip(rows[0].tolist(), rows[1].tolist()))
    position = {int(i): n for n, i in enumerate(image_ids)}
    points = np.full((len(image_ids), 15, 2), np.nan, np.float32)
    for row_id, image_id, k, a in zip(lookup.row_ids.tolist(), lookup.image_ids.tolist(),
                                      lookup.keypoint.tolist(), lookup.axis.tolist()):
        if row_id in given and image_id in position:
            points[position[image_id], k, a] = given[row_id]
    return points


def _choose(n: int, args, labels, mask, predictions):
    import numpy as np

    from .metrics import face_rmse

    if args.indices:
        index = np.array([int(i) for i in args.indices.split(",")])
        if ((index < 0) | (index >= n)).any():
            raise FacekeypointsError(f"--indices must lie in 0..{n - 1}")
        return index
    count = min(args.count, n)
    if args.worst:
        if labels is None or predictions is None:
            raise FacekeypointsError("--worst needs labels and predictions (training data or --truth, and a model)")
        return np.argsort(-face_rmse(predictions, labels, mask), kind="stable")[:count]
    return np.sort(np.random.default_rng(args.seed).choice(n, size=count, replace=False))


def cmd_data_check(args) -> int:
    from .data.check import check_path

    failed = False
    for path in args.paths:
        for result in check_path(path):
            failed |= result.errors > 0
            problems = [p for p in result.problems if p.severity == "error" or not args.errors_only]
            for p in problems:
                where = f"line {p.line}" if p.line is not None else "file"
                print(f"{result.source}: {where}: {p.severity}: {p.message}")
            if not args.quiet:
                print(f"{result.source}: {result.kind} file, {result.rows} good rows, "
                      f"{result.errors} errors, {result.warnings} warnings")
    return 1 if failed else 0


def cmd_train(args) -> int:
    from .train import TrainConfig, fit_mean, run

    if args.data is None and not args.resume:
        raise FacekeypointsError(f"give the training data with --data (or set ${DATA_ENV})")
    config = TrainConfig(
        model=args.model, data=args.data or "", out=args.out, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, stacks=args.stacks, sigma=args.sigma, decoder=args.decoder, in_channels=args.in_channels,
        complete_only=args.complete_only, val_fraction=args.val_fraction, seed=args.seed, device=args.device,
        threads=args.threads, limit=args.limit, width=args.width, augment=args.augment, ema=args.ema,
        weight_decay=args.weight_decay, bf16=args.bf16, channels_last=args.channels_last,
    )
    if args.model == "mean" and not args.resume:
        report = fit_mean(config, force=args.force)
    else:
        report = run(config, resume=args.resume, force=args.force, quiet=args.quiet)
    if report is None:
        _say(args, f"trained on all faces (no validation split): {args.out}")
    else:
        _say(args, f"best checkpoint {Path(args.out) / 'best.pt'}; validation {report.format()}")
    return 0


def cmd_evaluate(args) -> int:
    import numpy as np

    from .data import load_training, train_val_split
    from .keypoints import four_point_faces
    from .inference import load_model
    from .metrics import face_rmse, keypoint_rmse
    from .viz import face_grid, save_figure

    data = load_training(args.data)
    if args.split != "all":
        train_index, val_index = train_val_split(data, args.val_fraction, args.seed)
        data = data.subset(val_index if args.split == "val" else train_index)
    model = load_model(args.model, args.backend)
    # Each face is predicted in the labelling convention its labels follow.
    predicted = model.predict(data.images, batch_size=args.batch_size, show_progress=True,
                              four_point=four_point_faces(data.mask))
    report = keypoint_rmse(predicted, data.keypoints, data.mask)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"{args.model} on {len(data)} faces ({args.split}): {report.format()}")
    if args.worst_out:
        errors = face_rmse(predicted, data.keypoints, data.mask)
        worst = np.argsort(-errors, kind="stable")[: args.count]
        titles = [f"line {data.lines[i]}  {errors[i]:.2f}px" for i in worst]
        fig = face_grid(data.images[worst], data.keypoints[worst], data.mask[worst], predicted[worst],
                        titles=titles, title=f"worst {len(worst)} of {len(data)} faces ({args.split}), {args.model}")
        save_figure(fig, args.worst_out, force=args.force)
        _say(args, f"wrote {args.worst_out}")
    return 0


def cmd_predict(args) -> int:
    from ._fs import atomic_output
    from .api import FaceKeypoints
    from .shipped import sample_image
    from .media import VideoOutput, annotate, expand_inputs, frame_count, is_video, write_image

    inputs = expand_inputs(args.inputs) if args.inputs else [sample_image()]
    if not inputs:
        raise FacekeypointsError("no images or videos found in the inputs given")
    if args.every < 1:
        raise FacekeypointsError("--every must be 1 or more")
    save_dir = Path(args.save_dir) if args.save_dir else None
    fk = FaceKeypoints(args.model, min_crop=args.min_face, backend=args.backend)
    total = sum(frame_count(p) // args.every if is_video(p) else 1 for p in inputs)
    bar = _progress.progress(total=total, desc="predicting", unit="frame")
    counts = {"records": 0, "faces": 0, "failed": 0}
    started = time.perf_counter()

    def run(out) -> None:  # records are written as they come: memory does not grow with the inputs
        videos: dict[Path, VideoOutput] = {}
        out.write("[")
        try:
            for result in fk.detect_files(inputs, every=args.every, workers=args.workers, keep_images=bool(save_dir)):
                if result.error is not None:  # one bad file does not stop the batch
                    counts["failed"] += 1
                    bar.write(f"facekeypoints: skipped {result.error}", file=sys.stderr)
                    if result.source in videos:
                        videos.pop(result.source).close(keep=False)
                    continue
                out.write(("," if counts["records"] else "") + "\n" + json.dumps(result.to_dict(), indent=1))
                counts["records"] += 1
                counts["faces"] += len(result.faces)
                if save_dir is not None:
                    drawn = annotate(result.image, result.faces, labels=args.labels)
                    if result.frame is None:
                        write_image(save_dir / (result.source.stem + ".png"), drawn, force=args.force)
                    else:
                        if result.source not in videos:
                            for done in [p for p in videos if p != result.source]:  # inputs come in order
                                videos.pop(done).close()
                            videos[result.source] = VideoOutput(save_dir / (result.source.stem + ".mp4"),
                                                                result.fps / args.every, drawn.shape[1::-1], args.force)
                        videos[result.source].write(drawn)
                bar.update(1)
            for video in videos.values():
                video.close()
            videos.clear()
        finally:
            for video in videos.values():  # interrupted: no half-written video is left
                video.close(keep=False)
        out.write("\n]\n")

    if args.json:
        with atomic_output(args.json, force=args.force) as tmp, open(tmp, "w", encoding="utf-8") as out:
            run(out)
    elif save_dir:
        with open(os.devnull, "w") as out:  # the pictures are the output; records are not kept
            run(out)
    else:  # nowhere else to say it: the records go to stdout
        run(sys.stdout)
    bar.close()
    seconds = time.perf_counter() - started
    n, faces, failed = counts["records"], counts["faces"], counts["failed"]
    _say(args, f"{n} image(s)/frame(s), {faces} face(s) found"
         + (f", {failed} input(s) failed" if failed else "")
         + f" in {seconds:.1f} s ({n / max(seconds, 1e-9):.1f} images/s, {faces / max(seconds, 1e-9):.1f} faces/s)"
         + (f"; records in {args.json}" if args.json else "") + (f"; pictures in {save_dir}" if save_dir else ""))
    return 1 if failed else 0


def cmd_demo(args) -> int:
    from .api import FaceKeypoints
    from .shipped import sample_image
    from .media import annotate, read_colour, write_image

    image = read_colour(sample_image())
    faces = FaceKeypoints(args.model, backend=args.backend).detect(image, channels="bgr")
    write_image(Path(args.out), annotate(image, faces, labels=args.labels), force=args.force)
    for face in faces:
        points = ", ".join(f"{name} ({x:.0f}, {y:.0f})" for name, (x, y) in (face.keypoints or {}).items())
        _say(args, f"face at {list(face.box)}: {points or 'too small for keypoints'}")
    _say(args, f"wrote {args.out}: {len(faces)} face(s) on {sample_image().name}")
    return 0


def cmd_export(args) -> int:
    from .export import export_onnx
    from .predictor import KeypointModel

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FacekeypointsError(f"{out} already exists (use --force to overwrite)")
    model = KeypointModel.load(args.model, precision="fp32")
    export_onnx(model, out, flip=args.flip, force=args.force)
    _say(args, f"wrote {out}: {model.name}, flip averaging {'on' if model.resolve_flip(args.flip) else 'off'}, "
               f"{out.stat().st_size / 1e6:.1f} MB")
    return 0


# ------------------------------------------------------------------------------------------- parser


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"a shipped model ({', '.join(SHIPPED)}), a checkpoint or an .onnx file (default: {DEFAULT_MODEL})")
    p.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                   help="run the model on ONNX Runtime or PyTorch (default: auto: ONNX Runtime for shipped models "
                   "and .onnx files when onnxruntime is installed, else PyTorch)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="print only results and errors, no progress")
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")

    parser = argparse.ArgumentParser(
        prog="facekeypoints",
        description="Find the 15 facial keypoints of Kaggle's Facial Keypoints Detection competition: "
        "read Kaggle's data, train and evaluate models, write and score submissions, draw faces.",
        epilog="Run `facekeypoints COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_help = f"a folder, training/test CSV or zip, or Kaggle's competition zip (default: ${DATA_ENV})"

    p = sub.add_parser("submit", parents=[common], help="predict the test faces and write a Kaggle submission",
                       description="Predict every face of test.csv and write RowId,Location for every row of "
                       "IdLookupTable.csv, in its order, like Kaggle's SampleSubmission.csv.")
    p.add_argument("--data", default=_data_default(), help="where test and lookup files are, " + data_help)
    p.add_argument("--test", help="test.csv, test.zip, a folder or Kaggle's zip (overrides --data)")
    p.add_argument("--lookup", help="IdLookupTable.csv, a folder or Kaggle's zip (overrides --data)")
    p.add_argument("--out", required=True, help="the submission CSV to write")
    _model_options(p)
    p.add_argument("--batch-size", type=int, default=256, help="faces per forward pass (default: 256)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("score", parents=[common], help="RMSE of a submission against a solution",
                       description="Kaggle's metric: RMSE in pixels over all rows. With the lookup table "
                       "(--lookup, or IdLookupTable.csv beside SOLUTION) also per keypoint and per label pattern.")
    p.add_argument("submission", help="RowId,Location CSV to score")
    p.add_argument("solution", help="RowId,Location CSV with the true values")
    p.add_argument("--lookup", help="IdLookupTable.csv, for the breakdown")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("show", parents=[common], help="draw a grid of faces with labels and/or predictions",
                       description="Draw faces with their labelled keypoints (green circles) and predicted "
                       "ones (red crosses). Unlabelled keypoints are not drawn.")
    p.add_argument("data", nargs="?", default=_data_default(), help=data_help)
    p.add_argument("--set", choices=("training", "test"), help="which file to draw (default: training if found)")
    p.add_argument("--predictions", help="a submission CSV to draw on the test faces (needs the lookup table)")
    p.add_argument("--truth", help="a solution CSV (RowId,Location) to draw as the test faces' labels")
    p.add_argument("--lookup", help="IdLookupTable.csv for --predictions/--truth (default: from DATA)")
    p.add_argument("--model", help="draw this model's predictions (name or checkpoint)")
    p.add_argument("--count", type=int, default=16, help="how many faces (default: 16)")
    p.add_argument("--indices", help="comma-separated row indices (0-based) to draw instead of a random sample")
    p.add_argument("--worst", action="store_true", help="draw the faces the model gets most wrong")
    p.add_argument("--heatmaps", action="store_true",
                   help="draw the target and predicted heatmaps of the first chosen face (a heatmap --model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random sample (default: 0)")
    p.add_argument("--out", default="faces.png", help="PNG to write (default: faces.png)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("data", help="inspect data files")
    data_sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    c = data_sub.add_parser("check", parents=[common], help="list every problem and suspicious row of Kaggle files",
                            description="Read each file and report every problem (errors) and every suspicious "
                            "row (warnings: odd label patterns, swapped eyes, duplicate or blank images), each "
                            "with its line number. Exit status 1 when any file has errors.")
    c.add_argument("paths", nargs="+", help="CSV files, zips or folders")
    c.add_argument("--errors-only", action="store_true", help="do not list warnings")
    c.set_defaults(func=cmd_data_check)

    p = sub.add_parser(
        "train", parents=[common], help="train a model on Kaggle's training data",
        description="Train a model. RUN_DIR gets best.pt (best validation RMSE), last.pt (everything needed to "
        "resume), log.csv and curve.png. Ctrl-C (or kill) saves last.pt; --resume continues exactly where it "
        "stopped.",
        epilog="Models: hourglass (stacked hourglass, Gaussian heatmaps, defaults: 4 epochs, batch 16, Adam 1e-3 "
        "halved at half time), resnet18 (ResNet-18 coordinate regression, defaults: 60 epochs, batch 256, "
        "Adam 1e-3), keypointnet (the project's own: stride-4 heatmaps read by soft-argmax, two labelling "
        "conventions, learned flip offset; defaults: 60 epochs, batch 64, AdamW 2e-3 with cosine decay, "
        "augmentation, weight EMA, bf16), mean (Kaggle's mean-shape benchmark, fitted in closed form).")
    p.add_argument("--model", default="hourglass", choices=("hourglass", "resnet18", "keypointnet", "mean"),
                   help="which model (default: hourglass)")
    p.add_argument("--data", default=_data_default(), help="training data: " + data_help)
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder for checkpoints and logs")
    p.add_argument("--epochs", type=int, help="epochs to train (with --resume: the new total)")
    p.add_argument("--batch-size", type=int, help="faces per step")
    p.add_argument("--lr", type=float, help="Adam's learning rate")
    p.add_argument("--stacks", type=int, default=1, help="hourglass: hourglasses stacked (default: 1)")
    p.add_argument("--sigma", type=float, default=2.0, help="hourglass: Gaussian std of targets, px (default: 2)")
    p.add_argument("--decoder", choices=("argmax", "subpixel"), default="argmax",
                   help="hourglass: heatmap decoding (default: argmax, as the original)")
    p.add_argument("--in-channels", type=int, choices=(1, 3), default=3,
                   help="resnet18: grey face replicated to 3 channels, or 1 (default: 3)")
    p.add_argument("--width", type=int, help="keypointnet: channels at the finest level (default: 32)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random flips, rotations, zoom, shifts, brightness and contrast (default: keypointnet only)")
    p.add_argument("--ema", type=float, help="decay of a moving average of the weights, 0 for none "
                   "(default: 0.998 for keypointnet, else 0)")
    p.add_argument("--weight-decay", type=float, help="use AdamW with this decay (default: 1e-4 for keypointnet)")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                   help="bfloat16 autocast with float32 weights (default: on GPUs and on CPUs with AMX)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                   help="NHWC memory layout, faster convolutions on CPUs (default: hourglass and resnet18)")
    p.add_argument("--complete-only", action="store_true",
                   help="train only on faces with all 15 keypoints (the tutorial's dropna)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of images held out for validation, 0 to train on all (default: 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of training (default: 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(default: cpu)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--limit", type=int, help="use only the first N faces of the file (quick checks)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its last.pt")
    p.add_argument("-f", "--force", action="store_true", help="start afresh over an existing run")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", parents=[common], help="RMSE of a model on labelled faces, and its worst cases",
                       description="Kaggle's RMSE overall, per label pattern and per keypoint, on the validation "
                       "split (as train makes it) or on all faces of DATA; optionally a picture of the worst faces.")
    _model_options(p)
    p.add_argument("--data", default=_data_default(), help="labelled data: " + data_help)
    p.add_argument("--split", choices=("val", "train", "all"), default="val",
                   help="which faces: the validation split (default), the training split, or all")
    p.add_argument("--val-fraction", type=float, default=0.1, help="as given to train (default: 0.1)")
    p.add_argument("--seed", type=int, default=0, help="as given to train (default: 0)")
    p.add_argument("--batch-size", type=int, default=256, help="faces per forward pass (default: 256)")
    p.add_argument("--worst-out", metavar="PNG", help="draw the worst faces, labels and predictions, here")
    p.add_argument("--count", type=int, default=16, help="how many worst faces to draw (default: 16)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-f", "--force", action="store_true", help="overwrite the PNG if it exists")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", parents=[common], help="keypoints of the faces in photos, folders and videos",
                       description="Find the faces in images (jpg, png, bmp, webp, tiff), folders of them "
                       "(recursively) and videos (mp4, avi, mov, mkv, webm), and their 15 keypoints in the "
                       "original pixels. Writes JSON records (--json, else to stdout) and annotated copies "
                       "(--save-dir). An unreadable input is reported and skipped; the exit status is 1 if any was.",
                       epilog="With no INPUT: the sample photo shipped with the package.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image or video files, or folders")
    p.add_argument("--json", metavar="OUT.json", help="write the faces found, per image and frame, here")
    p.add_argument("--save-dir", metavar="DIR", help="write annotated images (PNG) and videos (MP4) here")
    p.add_argument("--labels", action="store_true", help="write keypoint names on the annotated copies")
    _model_options(p)
    p.add_argument("--every", type=int, default=1, metavar="N", help="videos: every N-th frame (default: 1)")
    p.add_argument("--min-face", type=int, default=40, metavar="PX",
                   help="faces whose crop is smaller than this many pixels get no keypoints (default: 40)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes that decode images and find faces while the model runs here "
                   "(default: one per CPU, at most 8, none on 2 CPUs or fewer; 0: none)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("demo", parents=[common], help="draw the keypoints on the sample photo shipped with the package",
                       description="Find the face in NASA's portrait of astronaut Eileen Collins (public domain, "
                       "shipped with the package), draw its keypoints and print them.")
    p.add_argument("--out", default="astronaut-keypoints.png", help="the picture to write (default: %(default)s)")
    p.add_argument("--labels", action="store_true", help="write keypoint names on the picture")
    _model_options(p)
    p.add_argument("-f", "--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export", parents=[common], help="write a model as ONNX, for ONNX Runtime or any ONNX runtime",
                       description="Export a model with its decoding to ONNX: inputs faces (uint8, N x 96 x 96) and "
                       "four_point (bool, N: answer in the 4-keypoint labelling convention), outputs keypoints "
                       "(float, N x 15 x 2, pixel x, y) and spread (N x 15, heatmap spread in pixels). The batch "
                       "axis is dynamic. Needs torch and onnx.")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"a shipped model ({', '.join(SHIPPED)}) or a checkpoint (default: {DEFAULT_MODEL})")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction,
                   help="average with the mirrored faces inside the graph (twice the work; default: the model's own "
                   "choice)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _progress.QUIET = args.quiet
    if getattr(args, "data", "") is None and args.command in ("show", "evaluate"):
        parser.error(f"{args.command}: give the data path (or set ${DATA_ENV})")
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        if exc.name not in ("torch", "onnx", "onnxruntime"):
            raise
        print(f"facekeypoints: error: {args.command} needs {exc.name}: "
              f"pip install 'facekeypoints[train]' (torch, onnx) or onnxruntime", file=sys.stderr)
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
