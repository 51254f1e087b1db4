"""argparse types that refuse nonsense before any work is done (for the command line and the flags it takes
from the library's registries)."""

from __future__ import annotations

import argparse
import math


def number(kind: type, low: float, high: float | None = None, above: bool = False):
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


COUNT, NATURAL = number(int, 1), number(int, 0)  # e.g. --epochs, --every; --workers, --min-face
POSITIVE, FRACTION = number(float, 0, above=True), number(float, 0, 1)  # --lr; --val-fraction, --ema


def indices(text: str) -> list[int]:
    try:
        return [NATURAL(i) for i in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"not comma-separated whole numbers of 0 or more: {text!r}") from None


def option(p, *flags, **kwargs) -> None:
    """`p.add_argument`, stating the default in the help, as every option of the command line does."""
    if kwargs.get("default") is not None and kwargs.get("default") is not False:
        kwargs["help"] += " (default: %(default)s)"
    p.add_argument(*flags, **kwargs)
