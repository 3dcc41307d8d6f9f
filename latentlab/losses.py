"""Pure loss functions. No state: anything that changes over training (KL warm-up) takes `step`.

Shapes: images and logits `[N, C, H, W]`; latents `[N, d]`. Every loss returns a per-batch mean of
per-image sums (the usual VAE convention), so ELBO values are in nats per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def reconstruction(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image summed reconstruction loss, mean over the batch.

    kind "bce": Bernoulli negative log-likelihood of x under sigmoid(logits) (x may be grey).
    kind "mse": squared error of sigmoid(logits), summed over pixels.
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "mse":
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}")
    return per_pixel.flatten(1).sum(1).mean()


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per latent dimension, `[N, d]` (Kingma & Welling 2014)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def warmup(step: int, warmup_steps: int) -> float:
    """Linear KL warm-up factor in [0, 1] (Bowman et al. 2016; Sønderby et al. 2016)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, step / warmup_steps)


def latent_penalty(z: torch.Tensor, l1: float, l2: float) -> torch.Tensor:
    """Sparsity / shrinkage penalty on codes: l1 * |z|_1 + l2 * |z|_2^2, mean over the batch."""
    zero = z.new_zeros(())
    pen = zero
    if l1:
        pen = pen + l1 * z.abs().sum(1).mean()
    if l2:
        pen = pen + l2 * z.pow(2).sum(1).mean()
    return pen


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB for data range 1, `[N]`."""
    mse = (x_hat - x).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return -10.0 * torch.log10(mse)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)
