"""The same train() under `torchrun --nproc_per_node 2` (DDP over gloo on the CPU): both ranks
train on their shard, rank 0 alone writes a checkpoint that loads, and the loss falls."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import blob_folder

from latentlab import checkpoint

ROOT = Path(__file__).resolve().parent.parent
# 256 train / 64 test blob images: 16 steps an epoch on each of the 2 ranks
CONFIG = {"name": "ddp_tiny", "model": {"family": "vae", "latent_dim": 2, "args": {"width": 8}},
          "epochs": 4, "batch_size": 8, "lr": 1e-2, "seed": 0, "threads": 1}


def torchrun() -> list[str]:
    exe = shutil.which("torchrun")
    return [exe] if exe else [sys.executable, "-m", "torch.distributed.run"]


def test_two_processes_train_one_checkpoint_whose_loss_fell(tmp_path):
    data = {"name": "folder", "options": {"path": str(blob_folder(tmp_path / "blobs", 320)), "size": 16,
                                          "channels": 1}}
    config = tmp_path / "c.json"
    config.write_text(json.dumps({**CONFIG, "data": data}))
    out = tmp_path / "out"
    env = {**os.environ, "LATENTLAB_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1",
           "LATENTLAB_DATA_DIRS": str(tmp_path / "blobs")}
    proc = subprocess.run([*torchrun(), "--standalone", "--nproc_per_node", "2", "-m", "latentlab", "train",
                           "--config", str(config), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 processes" in proc.stdout and proc.stdout.count("-> ") == 1  # rank 0 alone reports
    model = checkpoint.load(out / "ddp_tiny")
    record = model.info.training
    assert record["processes"] == 2 and [h["epoch"] for h in record["history"]] == [1, 2, 3, 4]
    history = record["history"]
    assert history[-1]["train_loss"] < 0.9 * history[0]["train_loss"]
    assert history[-1]["mse"] < history[0]["mse"]
    assert sorted(p.name for p in out.iterdir()) == ["ddp_tiny"]  # no resume state left, no rank-1 files


@pytest.mark.parametrize("world", [1])
def test_without_torchrun_the_distributed_helpers_are_a_no_op(world, tiny_data):
    from latentlab import distributed

    d = distributed.setup()
    assert not d.active and d.is_main and distributed.mean(2.5, d) == 2.5
    order = distributed.epoch_order(10, 0, 0, distributed.Dist(rank=1, world=2))
    other = distributed.epoch_order(10, 0, 0, distributed.Dist(rank=0, world=2))
    assert len(order) == len(other) == 5 and sorted(torch.cat([order, other]).tolist()) == list(range(10))
