"""How long Kaggle's training file takes to load: parsed from the zip, and from the cache.

    python benchmarks/load_speed.py [DATA]     (default: ../shared/data/facial-keypoints-detection)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from facekeypoints.data import load_test, load_training
from facekeypoints.data.sources import resolve


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/facial-keypoints-detection")
    os.environ["FKD_CACHE_DIR"] = tempfile.mkdtemp(prefix="fkd-bench-")
    source = resolve(data, "training")
    print(f"source: {source.name}")
    print(f"read + unzip only:          {timed(source.read):6.3f} s")
    print(f"parse, no cache:            {timed(lambda: load_training(data, use_cache=False)):6.3f} s")
    start = time.perf_counter()
    load_training(data)
    print(f"first load (parse + store): {time.perf_counter() - start:6.3f} s")
    print(f"cached load:                {timed(lambda: load_training(data), repeat=5):6.3f} s")
    print(f"test.csv, no cache:         {timed(lambda: load_test(data, use_cache=False)):6.3f} s")
    print("(best of 3 runs each; cached load best of 5)")


if __name__ == "__main__":
    main()
