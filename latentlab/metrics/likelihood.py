"""Importance-weighted estimates of a VAE's test log-likelihood (Burda et al. 2016, "Importance
Weighted Autoencoders", Eq. 8; the estimator of Rezende et al. 2014, App. E).

For an image x and k samples z_i ~ q(z|x), the log importance weights are

    log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x),

and L_k = log (1/k) Σ_i w_i is a lower bound on log p(x) that tightens as k grows (L_1 is the
ELBO; E[L_k] <= E[L_{k+1}] <= log p(x)). The negative log-likelihood is reported as -L_k, an
upper bound on the true NLL in expectation, in nats per image.

The decoder likelihood is a callable, so any model fits: latentlab VAEs use a Bernoulli decoder
on logits (`bernoulli_log_likelihood`); a model that outputs probabilities supplies its own.

Shapes: images x `[N, C, H, W]`; codes `[N, d]`; log weights `[k, N]`; bounds `[N]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from latentlab.errors import ConfigError
from latentlab.losses import log_normal

EncodeStats = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) of images x `[M, C, H, W]` under Bernoulli(sigmoid(logits)), summed -> `[M]`.

    For grey x in [0, 1] this is minus the binary cross-entropy (the training loss), which is
    not a normalised density over grey images: compare such numbers only between models.
    """
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def log_weights(x: torch.Tensor, encode_stats: EncodeStats, log_px_given_z: LogLikelihood,
                k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Log importance weights `[k, N]` for images x `[N, ...]` with k samples from q(z|x).

    encode_stats(x) -> (mu, logvar) `[N, d]` of the diagonal Gaussian q(z|x);
    log_px_given_z(z `[M, d]`, x `[M, ...]`) -> `[M]`. The prior is N(0, I).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be an int >= 1, got {k!r}")
    mu, logvar = encode_stats(x)
    eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps  # [k, N, d]
    log_q = log_normal(z, mu, logvar)
    log_p_z = log_normal(z, torch.zeros_like(mu), torch.zeros_like(logvar))
    x_rep = x.expand(k, *x.shape).reshape(k * len(x), *x.shape[1:])
    log_px = log_px_given_z(z.reshape(k * len(x), -1), x_rep).view(k, len(x))
    return log_px + log_p_z - log_q


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """L_k = logsumexp(log w) - log k per image: log weights `[k, N]` -> `[N]`."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


@torch.inference_mode()
def importance_weighted_nll(x: torch.Tensor, encode_stats: EncodeStats,
                            log_px_given_z: LogLikelihood, k: int = 100, batch_size: int = 50,
                            seed: int = 0, ks: tuple[int, ...] = ()) -> dict:
    """Test NLL estimates over images x `[N, ...]`, nats per image, seeded.

    Returns "iw_nll" (-L_k averaged over images), "neg_elbo" (minus the mean log weight: the
    ELBO estimated with the same k samples), their standard errors over images, and "by_k":
    -L_j for each j in `ks` (j <= k), from the first j of the k samples.
    """
    if any(j < 1 or j > k for j in ks):
        raise ConfigError(f"every j in ks must be in [1, k={k}], got {ks}")
    gen = torch.Generator().manual_seed(seed)
    bounds, elbos, by_k = [], [], {j: [] for j in ks}
    for chunk in x.split(batch_size):
        log_w = log_weights(chunk, encode_stats, log_px_given_z, k, gen).double()
        bounds.append(iwae_bound(log_w))
        elbos.append(log_w.mean(0))
        for j in ks:
            by_k[j].append(iwae_bound(log_w[:j]))
    nll, elbo = -torch.cat(bounds), -torch.cat(elbos)
    return {"iw_nll": float(nll.mean()), "neg_elbo": float(elbo.mean()),
            "iw_nll_se": _stderr(nll), "neg_elbo_se": _stderr(elbo), "k": k, "n": len(x),
            "by_k": {j: float(-torch.cat(v).mean()) for j, v in by_k.items()}}


def vae_nll(model, x: torch.Tensor, k: int = 100, batch_size: int = 50, seed: int = 0,
            ks: tuple[int, ...] = ()) -> dict:
    """`importance_weighted_nll` for a latentlab VAE: `model.encode_stats`, Bernoulli decoder
    on `model.decoder(z)` logits."""
    def log_px(z, xs):
        return bernoulli_log_likelihood(model.decoder(z), xs)

    return importance_weighted_nll(x, model.encode_stats, log_px, k, batch_size, seed, ks)


def _stderr(values: torch.Tensor) -> float:
    return float(values.std() / math.sqrt(len(values))) if len(values) > 1 else float("nan")
