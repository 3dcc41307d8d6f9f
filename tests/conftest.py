import os
import tempfile

import numpy as np
import pytest
import torch

from latentlab.config import TrainConfig
from latentlab.datasets import Dataset

torch.set_num_threads(1)
# Tests never see (or write to) the developer's own trained checkpoints (latentlab.checkpoint.user_root).
os.environ["LATENTLAB_HOME"] = tempfile.mkdtemp(prefix="latentlab-test-home-")


@pytest.fixture
def tiny_data() -> Dataset:
    return blob_dataset()


def blob_dataset() -> Dataset:
    """64 train / 16 test blob images `[N, 1, 16, 16]` in [0, 1], with a label (also used by
    tests/kill_driver.py, which runs as a script beside this file)."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    centres = torch.rand(80, 2, generator=g) * 10 + 3
    d2 = (xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2
    x = torch.exp(-d2 / 8).unsqueeze(1)
    label = (centres[:, 0] > 8).numpy().astype(np.int64)
    return Dataset("tiny", x[:64], x[64:], {"left": label[:64]}, {"left": label[64:]})


def make_cfg(family: str, **model_args) -> TrainConfig:
    return TrainConfig.from_dict({
        "name": f"tiny_{family}", "data": {"name": "tiny"},
        "model": {"family": family, "latent_dim": 4, "args": model_args},
        "epochs": 1, "batch_size": 16, "lr": 1e-3, "seed": 0,
    })


def blob_pngs(n: int = 160, side: int = 16) -> list[tuple[str, bytes]]:
    """(name, PNG bytes) of n gray Gaussian blobs at seeded positions: images a tiny model learns
    in a few hundred steps without collapsing (jobs tests train them in real processes)."""
    import io

    from PIL import Image

    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(float(side)), torch.arange(float(side)), indexing="ij")
    c = torch.rand(n, 2, generator=g) * (side - 6) + 3
    x = torch.exp(-((xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2) / 8)
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray((x[i].numpy() * 255).astype(np.uint8)).save(buf, format="PNG")
        out.append((f"blob{i:03d}.png", buf.getvalue()))
    return out


def blob_folder(path, n: int = 160):
    """A folder of `blob_pngs` for the `folder` dataset; returns its path."""
    path.mkdir(parents=True, exist_ok=True)
    for name, data in blob_pngs(n):
        (path / name).write_bytes(data)
    return path
