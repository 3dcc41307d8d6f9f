"""Nearest neighbours in latent space or pixel space.

"Which training images does this code sit next to?" is the quickest check of whether a model
memorised or generalised, and the comparison between latent and pixel neighbours shows what the
latent metric groups together (Bojanowski et al. 2018, "Optimizing the Latent Space of
Generative Networks", Fig. 6, shows such neighbour grids). Exact search with scikit-learn.

Shapes: bank `[N, D]`, queries `[M, D]`; images `[N, C, H, W]` are flattened to `[N, C·H·W]`.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from latentlab.errors import ConfigError


def _matrix(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.reshape(len(a), -1).astype(np.float64 if a.dtype == np.float64 else np.float32)


class NearestNeighbours:
    """Exact k-nearest-neighbour search over a bank of vectors.

    metric: any scikit-learn metric name ("euclidean", "cosine", "manhattan", ...).
    Learned: `n_samples_`, `dim_`.
    """

    def __init__(self, metric: str = "euclidean"):
        self.metric = metric

    def fit(self, vectors) -> NearestNeighbours:
        """vectors `[N, D]` (higher-rank arrays are flattened per row)."""
        bank = _matrix(vectors)
        if len(bank) == 0:
            raise ConfigError("neighbour bank is empty")
        # Low-dimensional latents: a tree gives exact zero self-distances; pixels: brute force.
        algorithm = "auto" if bank.shape[1] <= 32 else "brute"
        try:
            self._nn = NearestNeighbors(metric=self.metric, algorithm=algorithm).fit(bank)
        except ValueError as e:
            raise ConfigError(f"bad neighbour metric {self.metric!r}: {e}") from e
        self.n_samples_, self.dim_ = bank.shape
        return self

    def kneighbors(self, queries, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """queries `[M, D]` -> (distances `[M, k]` ascending, bank indices `[M, k]` int).

        k is capped at the bank size.
        """
        q = _matrix(queries)
        if q.shape[1] != self.dim_:
            raise ConfigError(f"queries have {q.shape[1]} features, the bank has {self.dim_}")
        if int(k) != k or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        dist, idx = self._nn.kneighbors(q, n_neighbors=min(int(k), self.n_samples_))
        return dist, idx


def latent_neighbours(z_bank, z_query, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """k nearest codes: `[N, d]`, `[M, d]` -> (distances `[M, k]`, indices `[M, k]`)."""
    return NearestNeighbours().fit(z_bank).kneighbors(z_query, k)


def pixel_neighbours(x_bank, x_query, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """k nearest images by pixel L2: `[N, C, H, W]`, `[M, C, H, W]` -> (dist, idx) `[M, k]`."""
    return NearestNeighbours().fit(x_bank).kneighbors(x_query, k)
