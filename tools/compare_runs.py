"""Draw several training runs' validation RMSE in one picture, from their log.csv files.

    python tools/compare_runs.py runs/hourglass runs/resnet18-masked --out docs/classic-runs.png

Each run is labelled by its folder name, or LABEL=RUN_DIR. Refuses to overwrite without --force.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from facekeypoints.errors import FacekeypointsError
from facekeypoints.viz import compare_runs, save_figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="[LABEL=]RUN_DIR")
    parser.add_argument("--out", required=True, help="the picture to write (PNG, SVG, PDF: from the suffix)")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args()
    runs = {}
    for spec in args.runs:
        label, _, folder = spec.rpartition("=")
        log = Path(folder) / "log.csv"
        if not log.is_file():
            sys.exit(f"error: {log}: no such file (is {folder} a training run?)")
        with log.open(newline="") as f:
            runs[label or Path(folder).name] = list(csv.DictReader(f))
    try:
        save_figure(compare_runs(runs), args.out, force=args.force)
    except FacekeypointsError as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
