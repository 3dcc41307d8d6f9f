"""Sample quality as a Fréchet distance between feature distributions.

FD(a, b) = |μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½) between Gaussians fitted to two feature sets
(Dowson & Landau 1982); with Inception features it is the FID of Heusel et al. 2017. Here the
features come from a small classifier trained on the dataset's own labels
(`latentlab.metrics.classifier`), because ImageNet features mean little on digits and cartoon
faces. The estimate is biased upwards by small samples, so only compare sets of equal size, and
read it next to the distance between two real sets of that size (the floor).

As for every metric here, a public sampling function (`sample_frechet`) sits over pure array
functions (`frechet_distance`, `frechet_from_stats`) that are tested on hand-made Gaussians.
Shapes: features `[N, F]`; images `[N, C, H, W]` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch

from latentlab.errors import ConfigError

Features = Callable[[torch.Tensor], torch.Tensor]  # images [N, C, H, W] -> features [N, F]


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[F]` and unbiased covariance `[F, F]` (float64) of features `[N >= 2, F]`."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ConfigError(f"need features [N >= 2, F], got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ConfigError("features hold NaN or Inf")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_from_stats(mu1, cov1, mu2, cov2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2). The matrix square root is
    scipy's `sqrtm`; if it is not finite (a singular product), `eps`·I is added to both
    covariances, and a numerically imaginary part is dropped."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (len(mu1), len(mu1)):
        raise ConfigError(f"mismatched statistics: means {mu1.shape}, {mu2.shape}; "
                          f"covariances {cov1.shape}, {cov2.shape}")
    root = scipy.linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():
        offset = eps * np.eye(len(mu1))
        root = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    root = np.real(root)
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(root))
    return max(value, 0.0)  # rounding can leave -1e-12 for identical sets


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to feature sets `a [N, F]` and `b [M, F]`."""
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


@torch.inference_mode()
def sample_frechet(model, features: Features, reference: torch.Tensor, n: int | None = None,
                   seed: int = 0, batch_size: int = 500) -> float:
    """FD between `n` (default: as many as `reference`) decoded prior samples of `model` and
    `reference` images, in the space `features` maps images to. Seeded."""
    if not model.has_prior:
        raise ConfigError(f"{model.label} has no prior to sample from")
    n = len(reference) if n is None else int(n)
    gen = torch.Generator().manual_seed(seed)
    fake = torch.cat([features(model.sample(min(batch_size, n - i), generator=gen))
                      for i in range(0, n, batch_size)])
    return frechet_distance(fake.numpy(), features(reference).numpy())
