"""Training throughput of each model on this machine: faces per second and minutes per epoch.

    python benchmarks/train_speed.py [--threads 2] [--steps 3] [--no-bf16] [--no-channels-last]

Times a few Adam steps on random faces at each model's default batch size (after one warm-up step), with
the defaults `facekeypoints train` uses (bfloat16 autocast on CPUs with AMX, channels-last memory), and
converts to minutes for an epoch over the 4,904 training faces of the default split.
"""

from __future__ import annotations

import argparse
import time

import torch

from facekeypoints.training import TrainConfig, build, resolve_config, train_step

TRAIN_FACES = 4904  # training.csv's 5,449 faces less the 10 % validation split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, help="(default: as training)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="(default: as training)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'model':<22}{'params':>10}{'batch':>7}{'faces/s':>10}{'min/epoch':>11}")
    for name, extra in (("hourglass", {"stacks": 1}), ("hourglass", {"stacks": 2}), ("resnet18", {})):
        config = resolve_config(TrainConfig(model=name, bf16=args.bf16, channels_last=args.channels_last, options=extra))
        model, codec, _ = build(config)
        model.train()
        if config.channels_last:
            model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        batch = config.batch_size if name != "resnet18" else 64  # 64 keeps the timing short; per face it is alike
        images, points = torch.rand(batch, 1, 96, 96), torch.rand(batch, 15, 2) * 90
        mask = torch.ones(batch, 15, dtype=torch.bool)
        train_step(model, codec, optimizer, images, points, mask, bf16=config.bf16)  # warm-up
        start = time.perf_counter()
        for _ in range(args.steps):
            train_step(model, codec, optimizer, images, points, mask, bf16=config.bf16)
        rate = batch * args.steps / (time.perf_counter() - start)
        label = name + (f" ({extra['stacks']} stack{'s' * (extra['stacks'] > 1)})" if extra else "")
        params = sum(p.numel() for p in model.parameters())
        print(f"{label:<22}{params / 1e6:>9.2f}M{batch:>7}{rate:>10.1f}{TRAIN_FACES / rate / 60:>11.1f}")
    print(f"(threads {args.threads}; bf16 {config.bf16}, channels-last {config.channels_last}; each model's "
          "defaults from its @register_model)")


if __name__ == "__main__":
    main()
