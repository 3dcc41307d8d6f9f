"""Building blocks of the learned codec: GDN and the factorized entropy model.

- GDN, generalized divisive normalization (Ballé, Laparra & Simoncelli 2016, "Density modeling of
  images using a generalized normalization transformation"): `y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²)`;
  its approximate inverse (IGDN) multiplies instead. It Gaussianises local image statistics, which
  is why Ballé et al. 2017 use it in place of a pointwise nonlinearity.
- FactorizedDensity: one learned univariate density per latent channel, shared over positions,
  given by its cumulative `c(x) = sigmoid(f_K ∘ … ∘ f_1(x))` with monotone layers
  `f_k(x) = g_k(softplus(H_k) x + b_k)`, `g_k(x) = x + tanh(a_k) ⊙ tanh(x)` (Ballé, Minnen, Singh,
  Hwang & Johnston 2018, "Variational image compression with a scale hyperprior", appendix 6.1).
  The probability of a quantisation bin of width Δ around y is `c(y + Δ/2) − c(y − Δ/2)`; during
  training the same expression at Δ = 1 is the density of y plus uniform noise (Ballé et al. 2017).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LIKELIHOOD_FLOOR = 1e-9  # keeps -log2 p finite for values far in a tail


class GDN(nn.Module):
    """`[N, C, H, W]` -> same shape. Parameters are kept positive by taking absolute values."""

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.gamma.abs()[:, :, None, None]
        norm = F.conv2d(x * x, gamma, self.beta.abs() + 1e-6).sqrt()
        return x * norm if self.inverse else x / norm


class FactorizedDensity(nn.Module):
    """A learned density per channel for latents `[N, M, h, w]` (Ballé et al. 2018, app. 6.1)."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))  # softplus(init) = 1 / (scale * fan_out)
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def cdf_logits(self, v: torch.Tensor) -> torch.Tensor:
        """Logit of the cumulative at points `[M, 1, n]` (row m uses channel m's density)."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            v = torch.matmul(F.softplus(matrix), v) + bias
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i]) * torch.tanh(v)
        return v

    def bin_probability(self, v: torch.Tensor, step: float = 1.0) -> torch.Tensor:
        """`c(v + step/2) − c(v − step/2)` for points `[M, 1, n]`, floored at 1e-9.

        Subtracting in whichever tail is far from 1 keeps the difference accurate there."""
        lower, upper = self.cdf_logits(v - step / 2), self.cdf_logits(v + step / 2)
        sign = torch.where(lower + upper > 0, -1.0, 1.0).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.clamp_min(LIKELIHOOD_FLOOR)

    def likelihood(self, y: torch.Tensor, step: float = 1.0) -> torch.Tensor:
        """Probability of each latent's bin, `[N, M, h, w]` -> same shape."""
        n, m, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(m, 1, -1)
        p = self.bin_probability(v, step)
        return p.reshape(m, n, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def medians(self, lo: float = -1000.0, hi: float = 1000.0, iters: int = 60) -> torch.Tensor:
        """Per-channel median `[M]` (where the cumulative crosses 1/2), by bisection."""
        channels = self.matrices[0].shape[0]
        a, b = torch.full((channels, 1, 1), lo), torch.full((channels, 1, 1), hi)
        for _ in range(iters):
            mid = (a + b) / 2
            above = self.cdf_logits(mid) > 0
            b, a = torch.where(above, mid, b), torch.where(above, a, mid)
        return ((a + b) / 2).flatten()
