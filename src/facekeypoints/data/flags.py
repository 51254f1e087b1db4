"""`facekeypoints data check` and `data convert`: their flags, beside the readers and checks they call."""

from __future__ import annotations

import argparse
from typing import Callable


def add_data_parsers(sub, common: argparse.ArgumentParser, check: Callable, convert: Callable) -> None:
    """The `data` command and its sub-commands under `sub` (the command line's sub-parsers), with the options
    of `common`; `check` and `convert` are their functions."""
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
    c.set_defaults(func=check)
    v = data.add_parser(
        "convert", parents=[common], help="convert annotations: Kaggle, COCO, 300-W, dlib",
        description="Read annotations (Kaggle's training CSV or zip, COCO keypoints .json, dlib .xml, a 300-W "
        "folder) and write them as COCO, 300-W or dlib; images that are only pixels (Kaggle's) are written as PNG "
        "files. See docs/annotations.md.")
    v.add_argument("input", help="the annotations to read")
    v.add_argument("output", help="what to write: NAME.json (COCO), NAME.xml (dlib) or a folder (300-W)")
    v.add_argument("--to", choices=("coco", "300w", "dlib"), help="the output's format (default: from its suffix)")
    v.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    v.set_defaults(func=convert)
    for p in (c, v):
        p.add_argument("--flip-pairs", metavar="PAIRS", help="the points that swap when a face is mirrored: "
                       "'0:16,1:15' or 'left_eye:right_eye' (names), 'none' (default: from a known scheme or from "
                       "names that say left and right)")
        p.add_argument("--category", help="COCO: the keypoint category (name or id) of a file with several")
