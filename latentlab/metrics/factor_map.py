"""Which ground-truth factor each latent dimension carries, and a latent × factor matrix ordered
so that a disentangled code shows as a diagonal.

The matrix is either normalised mutual information I(z_j; v_k) / H(v_k) (the quantity MIG takes
gaps of; Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs") or DCI importances
(Eastwood & Williams 2018, "A Framework for the Quantitative Evaluation of Disentangled
Representations"). Pure functions over arrays: matrix `[d, K]` (rows = latent dims, columns =
factors), non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from latentlab.errors import ConfigError
from latentlab.metrics.disentanglement import mutual_info_matrix

# A VAE dim whose mean posterior KL is below this (nats) sits at the prior: I(z_j; factor) <=
# I(z_j; x) <= its KL, so it carries almost nothing, whatever the plug-in MI of its posterior *mean*
# reads (binning is scale-free, so a mean that wiggles by 1e-4 with position still "has" MI).
COLLAPSED_KL = 0.01


@dataclass(frozen=True)
class DimFactor:
    """What one latent dim carries. `amount`: its matrix entry for that factor (normalised MI:
    the fraction of the factor's entropy this dim alone captures); `share`: that entry's fraction
    of the dim's row (1 = it carries nothing else). factor None: the dim carries no factor."""

    dim: int
    factor: str | None
    amount: float
    share: float

    def text(self, kl: float | None = None) -> str:
        """Short row label, e.g. "pos_x · 0.72 (94% of z3)" or "no factor"; given the dim's mean
        posterior `kl` (VAEs), a collapsed dim (kl < COLLAPSED_KL) is said to be one instead."""
        if kl is not None and kl < COLLAPSED_KL:
            return f"collapsed (KL < {COLLAPSED_KL}): no factor"
        if self.factor is None:
            return "no factor"
        return f"{self.factor} · {self.amount:.2f} ({self.share:.0%} of z{self.dim})"


def normalised_mi(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """I(z_j; v_k) / H(v_k) `[d, K]` in [0, 1]; 0 for a factor that is constant in the sample.
    codes `[N, d]`, factors `[N, K]` integer indices."""
    mi, entropy = mutual_info_matrix(codes, factors, num_bins)
    out = np.zeros_like(mi)
    varying = entropy > 0
    out[:, varying] = mi[:, varying] / entropy[varying]
    return out


def _check_matrix(matrix) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0 or not np.isfinite(m).all() or (m < 0).any():
        raise ConfigError(f"expected a finite non-negative [d, K] matrix, got shape {list(m.shape)}")
    return m


def dim_factors(matrix, factor_names: list[str], min_amount: float = 0.05) -> list[DimFactor]:
    """Per latent dim (in index order): the factor with the largest entry in its row, that entry,
    and its share of the row. A dim whose largest entry is below `min_amount` carries no factor
    (collapsed VAE dims, noise)."""
    m = _check_matrix(matrix)
    if len(factor_names) != m.shape[1]:
        raise ConfigError(f"{len(factor_names)} factor names for a matrix of {m.shape[1]} factors")
    out = []
    for j, row in enumerate(m):
        k = int(row.argmax())
        share = float(row[k] / row.sum()) if row.sum() > 0 else 0.0
        name = factor_names[k] if row[k] >= min_amount else None
        out.append(DimFactor(j, name, float(row[k]), share))
    return out


def diagonal_order(matrix, min_amount: float = 0.05) -> np.ndarray:
    """Dims `[d]` ordered so the matrix reads as a diagonal: factor k's best dim (one distinct dim
    per factor, by maximum-weight assignment) sits in position k; factors no dim carries (entry
    below `min_amount`) get none. The other dims follow, grouped by their strongest factor, each
    group by decreasing entry, and dims that carry no factor come last."""
    m = _check_matrix(matrix)
    rows, cols = linear_sum_assignment(m, maximize=True)
    keep = m[rows, cols] >= min_amount
    assigned = [int(r) for _, r in sorted(zip(cols[keep], rows[keep]))]
    rest = [j for j in range(m.shape[0]) if j not in assigned]
    rest.sort(key=lambda j: (bool(m[j].max() < min_amount), int(m[j].argmax()), -float(m[j].max())))
    return np.array(assigned + rest, dtype=int)
