"""Latent traversals: sweep one coordinate (or one direction) and decode.

The standard way to eyeball disentanglement (Higgins et al. 2017, "β-VAE: Learning Basic Visual
Concepts with a Constrained Variational Framework", Fig. 1-2): fix a code, move one latent
dimension across its range, keep the rest fixed. For VAEs the range comes from the N(0, 1) prior;
for other models (AE, PCA, ...) from percentiles of the data's codes, because their latent scale
is arbitrary. Dimensions are ordered by the average posterior KL they carry (VAEs: dimensions with
KL ≈ 0 are collapsed and decode to nothing) or else by their variance across the data.

Shapes: a code `[d]`, data codes `z_data [N, d]`, images `[N, C, H, W]` in [0, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.latent.interpolate import _check_steps
from latentlab.losses import gaussian_kl_per_dim

RANGE_MODES = ("auto", "prior", "data")


class Traversal(NamedTuple):
    """images `[n_dims, steps, C, H, W]`; values `[n_dims, steps]` (the value dim `dims[i]` was set
    to in row i); dims `[n_dims]` (which latent coordinate each row sweeps)."""

    images: torch.Tensor
    values: np.ndarray
    dims: np.ndarray


@torch.inference_mode()
def posterior_kl(model, x, batch_size: int = 500) -> np.ndarray | None:
    """Mean KL(q(z_j|x) || N(0, 1)) per latent dimension over images `x [N, C, H, W]` -> `[d]`,
    or None for a model whose encoder is deterministic (`encode_stats` gives no log-variance)."""
    x = torch.as_tensor(x)
    if model.encode_stats(x[:1])[1] is None:  # ask one image first: GLO's encode is an optimisation
        return None
    total = 0.0
    for chunk in x.split(batch_size):
        mu, logvar = model.encode_stats(chunk)
        if logvar is None:
            return None
        total = total + gaussian_kl_per_dim(mu, logvar).double().sum(0)
    return (total / len(x)).numpy()


def rank_dims(model, x, z_data) -> tuple[np.ndarray, np.ndarray, str]:
    """The one ranking of latent dimensions: (dims most important first, score per dim, score
    name). Mean posterior KL where the encoder has one (VAEs: KL ≈ 0 marks a collapsed dim),
    else the variance of the codes `z_data [N, d]`. `x [N, C, H, W]` are images to measure KL on."""
    kl = posterior_kl(model, x) if x is not None else None
    if kl is not None:
        return order_dims(kl_per_dim=kl), kl, "KL"
    var = np.asarray(torch.as_tensor(z_data).double().var(0))
    return order_dims(z_data=z_data), var, "variance"


def order_dims(z_data=None, kl_per_dim=None) -> np.ndarray:
    """Latent dimensions sorted by KL (if given) else by variance of `z_data [N, d]`, descending."""
    if kl_per_dim is not None:
        score = np.asarray(kl_per_dim, dtype=np.float64)
    elif z_data is not None:
        score = np.asarray(torch.as_tensor(z_data).double().var(0))
    else:
        raise ConfigError("order_dims needs z_data or kl_per_dim")
    return np.argsort(-score, kind="stable")


def _resolve_mode(model, range_mode: str, z_data) -> str:
    if range_mode not in RANGE_MODES:
        raise ConfigError(f"unknown range_mode {range_mode!r}: expected one of {RANGE_MODES}")
    if range_mode == "auto":
        range_mode = "prior" if model.prior == "normal" else "data"
    if range_mode == "data" and z_data is None:
        raise ConfigError("range_mode 'data' needs z_data (codes of the dataset) for percentiles")
    return range_mode


def sweep_values(dims, steps: int, range_mode: str, z_data=None,
                 quantiles=(0.05, 0.95)) -> np.ndarray:
    """Values `[len(dims), steps]` each swept dimension takes: N(0, 1) quantiles ("prior") or that
    dimension's own percentiles over `z_data` ("data"), between quantiles[0] and quantiles[1]."""
    lo, hi = quantiles
    if not 0.0 < lo < hi < 1.0:
        raise ConfigError(f"quantiles must satisfy 0 < lo < hi < 1, got {quantiles}")
    q = np.linspace(lo, hi, steps)
    if range_mode == "prior":
        from scipy.stats import norm  # lazy: scipy.stats costs ~1 s on the app's first page

        return np.tile(norm.ppf(q), (len(dims), 1))
    z = np.asarray(torch.as_tensor(z_data).double())
    return np.stack([np.quantile(z[:, d], q) for d in dims])


def _base_code(model, z_or_x) -> torch.Tensor:
    """A code `[d]` from a code `[d]` / `[1, d]` or an image `[C, H, W]` / `[1, C, H, W]`."""
    t = torch.as_tensor(z_or_x)
    if t.ndim >= 3:
        with torch.inference_mode():
            t = model.encode(t[None] if t.ndim == 3 else t)
    if t.ndim == 2 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 1:
        raise ConfigError(f"expected one code [d] or one image, got shape {tuple(t.shape)}")
    return t.float()


@torch.inference_mode()
def traversal_grid(model, z_or_x, dims=None, steps: int = 7, range_mode: str = "auto",
                   z_data=None, quantiles=(0.05, 0.95), kl_per_dim=None,
                   max_dims: int | None = None) -> Traversal:
    """Decode a grid where row i sets latent `dims[i]` of one code to each of `steps` values.

    range_mode: "prior" (N(0, 1) quantiles), "data" (percentiles of `z_data`), "auto" (prior
    for VAEs, data otherwise). dims None: all dims, ordered by `order_dims` when `kl_per_dim` or
    `z_data` is given, truncated to `max_dims`. Only the swept coordinate differs along a row.
    """
    steps = _check_steps(steps)
    z = _base_code(model, z_or_x)
    mode = _resolve_mode(model, range_mode, z_data)
    if dims is None:
        has_order = kl_per_dim is not None or z_data is not None
        dims = order_dims(z_data, kl_per_dim) if has_order else np.arange(len(z))
        dims = dims[:max_dims]
    dims = np.asarray(dims, dtype=int).ravel()
    if len(dims) == 0 or dims.min() < 0 or dims.max() >= len(z):
        raise ConfigError(f"dims must be non-empty indices in [0, {len(z)}), got {dims.tolist()}")
    values = sweep_values(dims, steps, mode, z_data, quantiles)
    codes = z.repeat(len(dims), steps, 1)  # [n_dims, steps, d]
    rows = torch.arange(len(dims))
    codes[rows, :, torch.as_tensor(dims)] = torch.as_tensor(values, dtype=codes.dtype)
    images = model.decode(codes.reshape(-1, len(z)))
    return Traversal(images.reshape(len(dims), steps, *images.shape[1:]), values, dims)


@torch.inference_mode()
def direction_sweep(model, z, direction, strengths) -> torch.Tensor:
    """Decode z + s·direction for each s in `strengths [S]`.

    z `[d]` -> images `[S, C, H, W]`; z `[N, d]` -> `[N, S, C, H, W]`. `direction [d]` is used as
    given (scale it first, e.g. by `AttributeDirections.scale_`, to get std units).
    """
    zt = torch.as_tensor(z).float()
    single = zt.ndim == 1
    zt = zt[None] if single else zt
    d = torch.as_tensor(np.asarray(direction), dtype=zt.dtype).reshape(1, 1, -1)
    s = torch.as_tensor(np.asarray(strengths, dtype=np.float64), dtype=zt.dtype).reshape(1, -1, 1)
    codes = zt[:, None, :] + s * d  # [N, S, d]
    images = model.decode(codes.reshape(-1, zt.shape[1]))
    images = images.reshape(zt.shape[0], s.shape[1], *images.shape[1:])
    return images[0] if single else images
