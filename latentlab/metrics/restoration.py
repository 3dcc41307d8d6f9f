"""Image restoration with an autoencoder: corrupt, restore, measure PSNR.

Two restorers. `restore_by_reconstruction` passes the corrupted image through the model once,
the denoising-autoencoder view (Vincent et al. 2008): the decoder can only produce images near
the data manifold. `restore_by_latent_optimisation` searches the latent space for the code whose
decoding best matches the observed pixels, with a small Gaussian prior on the code: MAP
inversion of the decoder, as in compressed sensing with generative models (Bora et al. 2017) and
semantic inpainting (Yeh et al. 2017). It starts from the encoder's guess, so a few hundred
steps suffice, and it ignores the hidden pixels that throw the encoder off.

Shapes: images `[N, C, H, W]` in [0, 1]; masks bool `[N, 1, H, W]`, True = pixel missing.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.losses import psnr
from latentlab.models.autoencoder import corrupt

__all__ = ["add_gaussian_noise", "mask_region", "psnr", "restore_by_latent_optimisation",
           "restore_by_reconstruction"]


def add_gaussian_noise(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """x + N(0, sigma²) per pixel, clipped to [0, 1]; seeded, x unchanged."""
    if not sigma >= 0:
        raise ConfigError(f"sigma must be >= 0, got {sigma}")
    return corrupt(x, "gaussian", float(sigma), generator=torch.Generator().manual_seed(seed))


def _box_mask(n: int, h: int, w: int, box) -> torch.Tensor:
    top, left, height, width = (int(v) for v in box)
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
        raise ConfigError(f"box (top, left, height, width) = {tuple(box)} does not fit in {h}x{w}")
    mask = torch.zeros(n, 1, h, w, dtype=torch.bool)
    mask[:, :, top:top + height, left:left + width] = True
    return mask


def _random_square_mask(n: int, h: int, w: int, fraction: float, seed: int) -> torch.Tensor:
    """One axis-aligned rectangle per image covering ~fraction of it, at a random position."""
    if not 0 < fraction < 1:
        raise ConfigError(f"fraction must be in (0, 1), got {fraction}")
    side = np.sqrt(fraction)
    height, width = max(1, round(side * h)), max(1, round(side * w))
    rng = np.random.default_rng(seed)
    tops, lefts = rng.integers(0, h - height + 1, n), rng.integers(0, w - width + 1, n)
    mask = torch.zeros(n, 1, h, w, dtype=torch.bool)
    for i, (t, le) in enumerate(zip(tops, lefts)):
        mask[i, :, t:t + height, le:le + width] = True
    return mask


def mask_region(x: torch.Tensor, box=None, fraction: float | None = None, seed: int = 0,
                fill: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide a rectangle of each image -> (x_corrupt `[N, C, H, W]`, mask bool `[N, 1, H, W]`).

    Give exactly one of `box` = (top, left, height, width) in pixels, the same for every image,
    or `fraction` of the image area, a rectangle of the image's aspect at a seeded random
    position per image. Hidden pixels are set to `fill`.
    """
    if (box is None) == (fraction is None):
        raise ConfigError("mask_region needs exactly one of box or fraction")
    n, _, h, w = x.shape
    mask = _box_mask(n, h, w, box) if box is not None else _random_square_mask(n, h, w, fraction,
                                                                                seed)
    return x.masked_fill(mask, fill), mask


def restore_by_reconstruction(model, x_corrupt: torch.Tensor) -> torch.Tensor:
    """decode(encode(x_corrupt)) without gradients, `[N, C, H, W]`."""
    with torch.no_grad():
        return model.decode(model.encode(x_corrupt))


def _fit_terms(model, z, x, observed, prior_weight):
    """Sum over images of squared error on observed pixels + prior_weight * |z|²."""
    err = ((model.decode(z) - x) ** 2 * observed).flatten(1).sum(1)
    return (err + prior_weight * z.pow(2).sum(1)).sum()


def restore_by_latent_optimisation(model, x_corrupt: torch.Tensor, mask: torch.Tensor | None = None,
                                   steps: int = 200, lr: float = 0.05, prior_weight: float = 1e-3,
                                   seed: int = 0) -> torch.Tensor:
    """argmin_z |observed ⊙ (decode(z) - x)|² + prior_weight |z|², by Adam from z = encode(x).

    Images are independent (per-image loss terms, per-coordinate Adam). Only z is optimised:
    gradients are taken with `torch.autograd.grad` w.r.t. z, so the model's parameters and their
    `.grad` are left untouched. `seed` seeds torch's RNG inside a forked RNG state, for models
    with stochastic layers. To keep observed pixels exactly, composite with
    `torch.where(mask, restored, x_corrupt)`. Returns decode(z*) `[N, C, H, W]`.
    """
    if steps < 0 or lr <= 0 or prior_weight < 0:
        raise ConfigError(f"need steps >= 0, lr > 0, prior_weight >= 0; got {steps}, {lr}, "
                          f"{prior_weight}")
    if mask is not None and mask.shape[2:] != x_corrupt.shape[2:]:
        raise ConfigError(f"mask {list(mask.shape)} does not match images {list(x_corrupt.shape)}")
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(seed)
        x = x_corrupt.detach().clone()  # a normal tensor even if the caller is in inference mode
        observed = torch.ones_like(x) if mask is None else (~mask.bool()).to(x.dtype).clone()
        with torch.no_grad():
            z = model.encode(x).detach().clone()
        z.requires_grad_(True)
        m, v = torch.zeros_like(z), torch.zeros_like(z)
        for t in range(1, steps + 1):
            (grad,) = torch.autograd.grad(_fit_terms(model, z, x, observed, prior_weight), z)
            with torch.no_grad():
                _adam_update(z, grad, m, v, t, lr)
        with torch.no_grad():
            return model.decode(z).detach()


def _adam_update(z, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8) -> None:
    """One Adam step in place (Kingma & Ba 2015), written out because torch.optim imports
    torch._dynamo on its first step (6.6 s measured on our shared 2-core box)."""
    m.mul_(betas[0]).add_(grad, alpha=1 - betas[0])
    v.mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
    z.sub_(lr * m_hat / (v_hat.sqrt() + eps))
