"""The dataset contract every source follows.

A `Dataset` is a fixed, seeded train/test split of float32 images `[N, C, H, W]` in [0, 1] with
named per-sample labels (numeric arrays, one value per image). Sources whose images are drawn
from known generative factors (shapes, faces) also expose a `FactorSource`, so metrics can render
any factor combination on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from latentlab.errors import DatasetError


class FactorSource(Protocol):
    """A deterministic renderer over a discrete factor grid.

    `factor_sizes[k]` is the number of values factor k takes; a factor row is integer indices
    `[K]` with `0 <= f[k] < factor_sizes[k]`.
    """

    factor_names: list[str]
    factor_sizes: list[int]

    def factor_values(self, k: int) -> np.ndarray:
        """The real value of each index of factor k, `[factor_sizes[k]]`."""

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform random factor rows, int64 `[n, K]`."""

    def render(self, factors: np.ndarray) -> torch.Tensor:
        """Images for factor rows `[n, K]` -> float32 `[n, C, H, W]` in [0, 1]; deterministic."""


@dataclass
class Dataset:
    """A train/test split with labels.

    labels_*: name -> array `[N]` (float or int). `categories` maps a categorical label to the
    names of its values (e.g. "shape" -> ["square", "ellipse", "heart"]).
    """

    name: str
    x_train: torch.Tensor
    x_test: torch.Tensor
    labels_train: dict[str, np.ndarray] = field(default_factory=dict)
    labels_test: dict[str, np.ndarray] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    factors: FactorSource | None = None
    description: str = ""
    # Fresh training batches drawn from `factors` (shapes with stream=True): an object with
    # `epoch_images` and `batch(n, generator) -> (x [n, C, H, W], grid index [n])`. None: train on
    # x_train.
    stream: object | None = None

    @property
    def epoch_size(self) -> int:
        """Training images per epoch: the stream's epoch, else the fixed training split."""
        return int(self.stream.epoch_images) if self.stream is not None else len(self.x_train)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    def split(self, which: str) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
        if which == "train":
            return self.x_train, self.labels_train
        if which == "test":
            return self.x_test, self.labels_test
        raise DatasetError(f"unknown split {which!r}: expected 'train' or 'test'")

    def keep(self, where: dict) -> Dataset:
        """The images of both splits whose labels take one of the listed values, e.g.
        `{"digit": [3]}` (a one-class training set) or `{"glasses": [0]}`. Test images are
        filtered too, so a model's recorded test metrics are on the data it was meant for; the
        unfiltered dataset (the same split, before filtering) is what anomaly detection scores."""
        if not isinstance(where, dict) or not where:
            raise DatasetError(f"keep must map a label to the values to keep, got {where!r}")
        masks = {"train": np.ones(len(self.x_train), bool), "test": np.ones(len(self.x_test), bool)}
        for label, values in where.items():
            if label not in self.labels_train:
                raise DatasetError(f"keep: {self.name} has no label {label!r}; it has "
                                   f"{', '.join(self.labels_train) or 'none'}")
            if not isinstance(values, list) or not values or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise DatasetError(f"keep: {label} needs a non-empty list of numbers, got {values!r}")
            for split in masks:
                masks[split] &= np.isin(self.split(split)[1][label], values)
        if not masks["train"].any():
            raise DatasetError(f"keep {where}: no training image of {self.name} matches")
        subset = {s: ({k: v[m] for k, v in self.split(s)[1].items()}, torch.as_tensor(m))
                  for s, m in masks.items()}
        return Dataset(self.name, self.x_train[subset["train"][1]], self.x_test[subset["test"][1]],
                       subset["train"][0], subset["test"][0], dict(self.categories), self.factors,
                       f"{self.description} — only {where}")


def seeded_split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed permutation split of range(n) -> (train_idx, test_idx), both sorted."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])
