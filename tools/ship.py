"""Ship a trained run inside the package: weights/NAME.pt (its best.pt) and weights/NAME.onnx (exported).

    python tools/ship.py NAME RUN_DIR [--no-flip]

--no-flip makes predicting without flip averaging the model's default (twice as fast), in both files.
Add NAME to `shipped.SHIPPED` to make it loadable by name.
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
    parser.add_argument("run_dir")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    payload = load_checkpoint(Path(args.run_dir) / "best.pt")
    save_checkpoint(WEIGHTS / f"{args.name}.pt", model_from_checkpoint(payload), payload["config"],
                    meta={**payload["meta"], "flip": args.flip})
    model = KeypointModel.load(WEIGHTS / f"{args.name}.pt", precision="fp32")
    export_onnx(model, WEIGHTS / f"{args.name}.onnx", flip=None, force=True)
    print(f"shipped {args.name}: {WEIGHTS / args.name}.pt and .onnx (flip averaging {'on' if args.flip else 'off'})")


if __name__ == "__main__":
    main()
