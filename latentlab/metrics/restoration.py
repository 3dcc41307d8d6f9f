"""Image restoration with an autoencoder: corrupt, restore, measure PSNR.

Two restorers. `restore_by_reconstruction` passes the corrupted image through the model once,
the denoising-autoencoder view (Vincent et al. 2008): the decoder can only produce images near
the data manifold. `restore_by_latent_optimisation` searches the latent space for the code whose
decoding best matches the observed pixels, with a small Gaussian prior on the code: MAP
inversion of the decoder, as in compressed sensing with generative models (Bora et al. 2017) and
semantic inpainting (Yeh et al. 2017). It starts from the encoder's guess, so a few hundred
steps suffice, and it ignores the hidden pixels that throw the encoder off.

Corruptions: Gaussian noise, salt-and-pepper (impulse) noise, a hidden rectangle (`mask_region`:
a fixed box or a random one of a given area) and a user-painted mask (`mask_from_array`). Scores:
PSNR and SSIM (Wang et al. 2004, scikit-image's implementation).

Shapes: images `[N, C, H, W]` in [0, 1]; masks bool `[N, 1, H, W]`, True = pixel missing.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.latent.optimise import encode_by_optimisation
from latentlab.losses import psnr
from latentlab.models.autoencoder import corrupt

__all__ = ["add_gaussian_noise", "add_salt_and_pepper", "mask_from_array", "mask_region", "psnr",
           "restore_by_latent_optimisation", "restore_by_reconstruction", "ssim"]


def add_gaussian_noise(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """x + N(0, sigma²) per pixel, clipped to [0, 1]; seeded, x unchanged."""
    if not sigma >= 0:
        raise ConfigError(f"sigma must be >= 0, got {sigma}")
    return corrupt(x, "gaussian", float(sigma), generator=torch.Generator().manual_seed(seed))


def add_salt_and_pepper(x: torch.Tensor, amount: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Set a seeded random `amount` of each image's pixels (all channels) to 0 or 1, evenly
    -> (x_corrupt `[N, C, H, W]`, mask bool `[N, 1, H, W]` of the pixels that were hit).

    Impulse noise destroys the pixels it hits, so passing the mask to
    `restore_by_latent_optimisation` treats them as missing; without it they count as data.
    """
    if not 0 <= amount <= 1:
        raise ConfigError(f"amount must be in [0, 1], got {amount}")
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    hit = torch.rand(n, 1, h, w, generator=g) < amount
    salt = (torch.rand(n, 1, h, w, generator=g) < 0.5).to(x.dtype)
    return torch.where(hit, salt, x), hit


def mask_from_array(mask, x: torch.Tensor, fill: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide the pixels a user painted -> (x_corrupt `[N, C, H, W]`, mask bool `[N, 1, H, W]`).

    `mask`: array-like `[H, W]` (the same for every image), `[N, H, W]` or `[N, 1, H, W]`; bool, or
    numbers where > 0 means missing (a painted canvas' alpha or grey channel works as is).
    """
    m = torch.as_tensor(np.asarray(mask))
    n, _, h, w = x.shape
    m = m[None, None] if m.ndim == 2 else m[:, None] if m.ndim == 3 else m
    if m.ndim != 4 or m.shape[1] != 1 or tuple(m.shape[2:]) != (h, w) or m.shape[0] not in (1, n):
        raise ConfigError(f"mask of shape {list(np.shape(mask))} does not fit images "
                          f"{list(x.shape)}: expected [H, W], [N, H, W] or [N, 1, H, W]")
    if not m.dtype == torch.bool and not torch.isfinite(m.double()).all():
        raise ConfigError("mask holds NaN or Inf")
    m = (m > 0).expand(n, 1, h, w).clone()
    return x.masked_fill(m, fill), m


def ssim(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image `[N]` for data range 1 (Wang et al. 2004), from
    scikit-image's `structural_similarity` (7×7 uniform window, colour channels averaged)."""
    from skimage.metrics import structural_similarity  # lazy: only the metric needs scikit-image

    if x_hat.shape != x.shape or x.ndim != 4:
        raise ConfigError(f"ssim needs two image batches [N, C, H, W] of one shape; got "
                          f"{list(x_hat.shape)} and {list(x.shape)}")
    if min(x.shape[2:]) < 7:
        raise ConfigError(f"ssim needs images of at least 7×7 pixels, got {list(x.shape[2:])}")
    a = x_hat.detach().double().clamp(0, 1).numpy()
    b = x.detach().double().numpy()
    return torch.tensor([structural_similarity(p, q, data_range=1.0, channel_axis=0)
                         for p, q in zip(a, b)], dtype=torch.float32)


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


def restore_by_latent_optimisation(model, x_corrupt: torch.Tensor, mask: torch.Tensor | None = None,
                                   steps: int = 200, lr: float = 0.05, prior_weight: float = 1e-3,
                                   seed: int = 0, progress=None, should_stop=None) -> torch.Tensor:
    """argmin_z |observed ⊙ (decode(z) - x)|² + prior_weight |z|², by Adam from the model's
    starting code (`model.init_codes`: the encoder's guess, or GLO's best table entry).

    Runs `latentlab.latent.optimise.encode_by_optimisation` (see there for `progress`,
    `should_stop` and the guarantee that the model is left untouched). To keep observed pixels
    exactly, composite with `torch.where(mask, restored, x_corrupt)`. Returns decode(z*)
    `[N, C, H, W]`.
    """
    if mask is not None and mask.shape[2:] != x_corrupt.shape[2:]:
        raise ConfigError(f"mask {list(mask.shape)} does not match images {list(x_corrupt.shape)}")
    z0 = _start(model, x_corrupt, mask)
    z = encode_by_optimisation(model.decode, x_corrupt, z0, mask, steps=steps, lr=lr,
                               prior_weight=prior_weight, project=getattr(model, "project_codes", None),
                               progress=progress, should_stop=should_stop, seed=seed)
    with torch.no_grad():
        return model.decode(z).detach()


def _start(model, x: torch.Tensor, mask) -> torch.Tensor:
    """A LatentModel's `init_codes`; any other object with encode/decode starts from its encode."""
    if hasattr(model, "init_codes"):
        return model.init_codes(x, mask)
    with torch.no_grad():
        return model.encode(x)
