"""Ship a trained run inside the package: weights/NAME.pt (its best.pt) and weights/NAME.onnx (exported).

    python tools/ship.py NAME RUN_DIR [--no-flip]
    python tools/ship.py NAME --restamp

--no-flip makes predicting without flip averaging the model's default (twice as fast), in both files.
Add NAME to `shipped.SHIPPED` to make it loadable by name. --restamp rewrites a shipped model's codec settings
(the keypoint set among them) in both files as the current code writes them, weights and graph untouched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facekeypoints.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from facekeypoints.inference.export import export_onnx
from facekeypoints.inference.torch_backend import KeypointModel

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "facekeypoints" / "weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--restamp", action="store_true", help="rewrite the shipped files' codec settings only")
    args = parser.parse_args()
    if args.restamp:
        return restamp(args.name)
    if args.run_dir is None:
        parser.error("give RUN_DIR (or --restamp)")
    payload = load_checkpoint(Path(args.run_dir) / "best.pt")
    save_checkpoint(WEIGHTS / f"{args.name}.pt", model_from_checkpoint(payload), payload["config"],
                    meta={**payload["meta"], "flip": args.flip})
    model = KeypointModel.load(WEIGHTS / f"{args.name}.pt", precision="fp32")
    export_onnx(model, WEIGHTS / f"{args.name}.onnx", flip=None, force=True)
    print(f"shipped {args.name}: {WEIGHTS / args.name}.pt and .onnx (flip averaging {'on' if args.flip else 'off'})")


def restamp(name: str) -> None:
    """The codec's settings as the code writes them now (e.g. with the keypoint set), in NAME.pt's meta and in
    NAME.onnx's metadata; the weights, and the ONNX graph, are left as they are."""
    import json

    import onnx

    from facekeypoints.codecs import codec_from_config

    payload = load_checkpoint(WEIGHTS / f"{name}.pt")
    codec = codec_from_config(payload["meta"]["codec"]).config()
    save_checkpoint(WEIGHTS / f"{name}.pt", model_from_checkpoint(payload), payload["config"],
                    meta={**payload["meta"], "codec": codec})
    proto = onnx.load(str(WEIGHTS / f"{name}.onnx"))
    for entry in proto.metadata_props:
        if entry.key == "facekeypoints":
            entry.value = json.dumps({**json.loads(entry.value), "codec": codec})
    onnx.save(proto, str(WEIGHTS / f"{name}.onnx"))
    print(f"restamped {name}: codec {codec['name']}, keypoint set {codec['keypoint_set']['name']}")


if __name__ == "__main__":
    main()
