"""Fit a model's expected error per keypoint by heatmap spread on the validation split, and write it beside the
model (<model>.uncertainty.json, which `load_model` reads) or to --out.

    python tools/calibrate.py MODEL DATA [--out FILE] [--force]

MODEL: a shipped name, a checkpoint, a run folder or an .onnx file; DATA: the Kaggle files (training.zip).
The shipped files are rebuilt by `python tools/calibrate.py keypointnet DATA --force` (and `fast`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facekeypoints.errors import FacekeypointsError
from facekeypoints.evaluation import calibrate
from facekeypoints.keypoints import KEYPOINT_NAMES
from facekeypoints.shipped import calibration_path, model_files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--out", type=Path, help="where to write it (default: beside the model)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args()
    try:
        files = model_files(args.model)
        out = args.out or calibration_path(files.checkpoint or files.onnx)
        calibration = calibrate(args.model, args.data)
        calibration.write(out, force=args.force)
    except FacekeypointsError as error:
        print(f"calibrate: error: {error}", file=sys.stderr)
        return 1
    print(f"{out}: {calibration.about['fitted_on']}")
    for name, (spread, error) in zip(KEYPOINT_NAMES, calibration.knots):
        print(f"  {name:24s} {len(spread):2d} knots: {error[0]:.2f} px at spread <= {spread[0]:.1f}, "
              f"{error[-1]:.2f} px at >= {spread[-1]:.1f}")
    at = calibration(np.full(len(KEYPOINT_NAMES), 14.0))
    print(f"at spread 14 (the not-a-face cut-off) on every point: {np.median(at):.2f} px median, "
          f"{at.min():.2f}-{at.max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
