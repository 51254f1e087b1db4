"""`facekeypoints train` under torchrun: 2 CPU ranks with gloo on a tiny dataset."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch

from facekeypoints.checkpoint import load_checkpoint
from facekeypoints.data import load_training, train_val_split
from facekeypoints.models import faces_to_tensor
from facekeypoints.training import TrainConfig, build, resolve_config
from facekeypoints.training.loop import _batches, _lr_at, _optimizer


def test_two_ranks_match_one_process_accumulating_their_shards(kaggle_dir, tmp_path):
    out = tmp_path / "ddp"
    args = ["--model", "keypointnet", "--width", "8", "--no-augment", "--no-bf16", "--data",
            str(kaggle_dir / "training.csv"), "--out", str(out), "--epochs", "2", "--batch-size", "5",
            "--val-fraction", "0.25", "--threads", "1", "-q"]
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "facekeypoints", "train", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in out.iterdir()} == {"best.pt", "last.pt", "log.csv", "curve.png"}  # rank 0 only
    payload = load_checkpoint(out / "last.pt")
    checksums = payload["meta"]["rank_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]  # both ranks hold the same weights

    # The same run in one process: each step's batch split into the two ranks' shards, gradients averaged.
    config = resolve_config(TrainConfig(model="keypointnet", options={"width": 8}, augment=False, bf16=False, epochs=2,
                                        batch_size=5, val_fraction=0.25, data=str(kaggle_dir / "training.csv")))
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    data = load_training(config.data)
    train_set = data.subset(train_val_split(data, config.val_fraction, config.seed)[0])
    model, codec, _ = build(config)
    model.train()
    optimizer = _optimizer(model, config)
    for epoch in range(config.epochs):
        batches = _batches(len(train_set), config.batch_size, config.seed, epoch)
        assert len(batches[-1]) == 4  # 9 faces: batches of 5 and 4, shards of 3+2 and 2+2
        for step, batch in enumerate(batches):
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(config, epoch + step / len(batches))
            optimizer.zero_grad(set_to_none=True)
            for rank in range(2):
                shard = batch[rank::2]
                images = faces_to_tensor(train_set.images[shard])
                heads = codec.to_heads(torch.from_numpy(train_set.keypoints[shard]),
                                       torch.from_numpy(train_set.mask[shard]))
                loss = codec.loss(model(images), *codec.encode(*heads))
                (loss / 2).backward()
            optimizer.step()
    trained = payload["state_dict"]
    for name, param in model.named_parameters():
        np.testing.assert_allclose(trained[name].numpy(), param.detach().numpy(), atol=1e-5, err_msg=name)
    assert not torch.equal(trained["head.weight"], build(config)[0].head.weight)  # it did train
