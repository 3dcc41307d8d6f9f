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
    """64 train / 16 test blob images `[N, 1, 16, 16]` in [0, 1], with a label."""
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
