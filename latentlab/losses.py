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


# -- total correlation (β-TCVAE, FactorVAE) ------------------------------------------------------
TC_ESTIMATORS = ("mss", "mws")


def log_q_pairs(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z_i,k | x_j) for every pair of batch rows: z, mu, logvar `[M, d]` -> `[M, M, d]`
    (row i = the sample, column j = the posterior it is scored under)."""
    return -0.5 * (math.log(2 * math.pi) + logvar[None] + (z[:, None] - mu[None]).pow(2)
                   / logvar[None].exp())


def _log_weights(m: int, n: int, estimator: str, like: torch.Tensor) -> torch.Tensor:
    """Log importance weights `[M, M]` of posterior j in the estimate of q(z_i)."""
    if estimator == "mws":
        # Minibatch weighted sampling as in the reference code (rtqichen/beta-tcvae): every pair
        # gets 1/(N M). The weights sum to 1/N, not 1, so the TC carries a constant (d-1) log N
        # on top of the density-ratio value; gradients are unaffected.
        return like.new_full((m, m), -math.log(n * m))
    # Stratified: the sample's own posterior counts with its true weight 1/N, the other N - 1
    # training images are represented by the M - 1 other batch rows. The weights sum to 1.
    w = like.new_full((m, m), math.log((n - 1) / (n * (m - 1))))
    return w.fill_diagonal_(-math.log(n))


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                      dataset_size: int, estimator: str = "mss") -> torch.Tensor:
    """Minibatch estimate of TC(z) = KL(q(z) || prod_k q(z_k)) in nats, mean over the batch.

    Chen et al. 2018, "Isolating Sources of Disentanglement in Variational Autoencoders", Sec. 3:
    the aggregate posterior q(z) = 1/N sum_n q(z|x_n) of a training set of `dataset_size` images
    is estimated at each sample z_i `[M, d]` from the batch's own posteriors (mu, logvar `[M, d]`),
    as is each marginal q(z_k). estimator "mss" (stratified, weights summing to 1) or "mws"
    (weighted, as the reference code; see `_log_weights`). Needs M >= 2 and N >= M.
    """
    m, d = z.shape
    if estimator not in TC_ESTIMATORS:
        raise ValueError(f"unknown TC estimator {estimator!r}; expected one of {TC_ESTIMATORS}")
    if m < 2 or dataset_size < m:
        raise ValueError(f"TC needs a batch of >= 2 rows and dataset_size >= batch, got {m} and "
                         f"{dataset_size}")
    pairs = log_q_pairs(z, mu, logvar)  # [M, M, d]
    w = _log_weights(m, dataset_size, estimator, z)
    log_qz = torch.logsumexp(w + pairs.sum(2), dim=1)  # [M]
    log_marginals = torch.logsumexp(w[:, :, None] + pairs, dim=1).sum(1)  # [M]
    return (log_qz - log_marginals).mean()


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle each latent column independently across the batch, `[M, d]` -> `[M, d]`: samples
    of prod_k q(z_k) (Kim & Mnih 2018, "Disentangling by Factorising", Alg. 1)."""
    m, d = z.shape
    idx = torch.stack([torch.randperm(m, generator=generator) for _ in range(d)], dim=1)
    return torch.gather(z, 0, idx)
