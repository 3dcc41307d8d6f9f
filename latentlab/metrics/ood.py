"""Is an uploaded image like the training data? Its reconstruction error against the test split's.

An autoencoder reconstructs what resembles its training data well and other images badly, so the
rank of an image's reconstruction error among the test images' errors is a calibrated
out-of-distribution score (reconstruction-based novelty detection: Japkowicz et al. 1995; for
autoencoders and its limits, Pimentel et al. 2014, "A review of novelty detection"): under the
hypothesis that the image comes from the same distribution as the test split, its percentile is
uniform, so "worse than 99.7 % of test images" happens to 0.3 % of real test images.

The test split's per-image errors ship with every zoo checkpoint (its latent cache), so a verdict
costs one encode and decode. Errors are per-pixel MSE, images `[N, C, H, W]` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError

UNLIKE, EDGE = 99.0, 95.0  # percentiles from which an image is called unlike / at the edge


@dataclass
class Verdict:
    """`error` (per-pixel MSE), `percentile` (% of reference images reconstructed better,
    0-100), `level` ("like", "edge" or "unlike"), `sentence` (plain words for the page), and
    `n_reference` (how many test images it was ranked among)."""

    error: float
    percentile: float
    level: str
    sentence: str
    n_reference: int


def error_percentile(error: float, reference) -> float:
    """Percent of `reference [M]` errors strictly below `error`, ties counted half (0-100)."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if ref.size == 0 or not np.isfinite(ref).all():
        raise ConfigError("the reference errors must be a non-empty array of finite numbers")
    if not np.isfinite(error):
        raise ConfigError(f"the error must be a finite number, got {error!r}")
    below = np.count_nonzero(ref < error) + 0.5 * np.count_nonzero(ref == error)
    return 100.0 * float(below) / ref.size


def verdict(error: float, reference, unlike: float = UNLIKE, edge: float = EDGE) -> Verdict:
    """Rank one reconstruction error among the test split's and say what it means."""
    p = error_percentile(error, reference)
    n = int(np.asarray(reference).size)
    level = "unlike" if p >= unlike else "edge" if p >= edge else "like"
    meaning = {"unlike": "unlike the training data", "edge": "at the edge of the training data",
               "like": "like the training data"}[level]
    ref_max = float(np.max(reference))
    if error > ref_max:
        ratio = error / ref_max if ref_max > 0 else float("inf")
        told = f"reconstructed worse than all {n:,} test images ({ratio:.1f}× the worst of them)"
    else:
        told = f"reconstructed worse than {p:.1f} % of {n:,} test images"
    return Verdict(float(error), p, level, f"{told}: {meaning}", n)


@torch.inference_mode()
def reconstruction_errors(model, x) -> np.ndarray:
    """Per-image reconstruction MSE of images `[N, C, H, W]` (or one `[C, H, W]`) -> `[N]`."""
    x = torch.as_tensor(x).float()
    x = x[None] if x.ndim == 3 else x
    return (model.reconstruct(x) - x).pow(2).flatten(1).mean(1).double().numpy()


def upload_verdict(model, x, progress=None, should_stop=None) -> Verdict:
    """Verdict for one image `[C, H, W]` / `[1, C, H, W]`, already converted to the model's
    input, ranked among the reconstruction errors of the checkpoint's test split (shipped with
    the zoo; encoded once otherwise, with progress and cancel)."""
    from latentlab.latent.cache import encode_split

    x = torch.as_tensor(x)
    if x.ndim == 4 and x.shape[0] != 1:
        raise ConfigError(f"upload_verdict judges one image, got a batch of {x.shape[0]}")
    reference = encode_split(model, "test", progress=progress, should_stop=should_stop).recon_error
    return verdict(float(reconstruction_errors(model, x)[0]), reference)
