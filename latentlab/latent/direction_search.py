"""A direction found by gradient descent through decoder and attribute readers, for attributes
whose fitted directions all move another attribute more than their own.

Some attributes are entangled in a model's latent space in a way no fitted linear direction
escapes (faces_vae: every fitted eye-openness direction also draws glasses). Here the direction
itself is the parameter: codes are moved to the ends of the Edit slider along it, decoded, read
by the differentiable classifier readers, and the direction follows the gradient of

    own change per step  −  lam · (largest RMS change per step of another attribute family)

from the best fitted candidate, kept at unit length; a step is the std of the codes along the
current direction, as on the page. The codes it trains on are the selection sample; the figures
that ship are measured on a disjoint one (latentlab.latent.directions). The idea of steering an
edit by an attribute classifier's gradient while penalising others is that of attribute-guided
latent optimisation (e.g. Shen et al. 2020's conditional editing, here solved numerically).

Shapes: codes `z [n, d]`, covariance `[d, d]`, directions `[d]`.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.latent.readers import Readers
from latentlab.progress import tick

ENDS = (-3.0, 3.0)  # where leaks show most: the slider's ends


def _objective(model, z: torch.Tensor, u: torch.Tensor, cov: torch.Tensor, readers: Readers,
               name: str, others: list[str], lam: float) -> tuple[torch.Tensor, float, float]:
    scale = torch.sqrt(u @ cov @ u)
    s = torch.tensor(ENDS, dtype=z.dtype)
    moved = (z[None] + (s[:, None, None] * scale) * u).reshape(-1, z.shape[1])  # [2n, d]
    with torch.no_grad():
        base = readers.torch_read(model.decode(z))
    read = readers.torch_read(model.decode(moved))

    def per_step(k: str) -> torch.Tensor:  # [2, n] change per step in label stds
        return (read[k].reshape(len(ENDS), -1) - base[k]) / s[:, None] / readers.scale_[k]

    own = per_step(name).mean()
    leaks = torch.stack([per_step(k).pow(2).mean().sqrt() for k in others])
    worst = leaks.max()
    return -own + lam * worst, own.item(), worst.item()


def optimise_direction(model, z, start, cov, readers: Readers, name: str, family: dict,
                       steps: int = 60, lam: float = 2.0, lr: float = 0.05, batch: int = 16,
                       seed: int = 0, should_stop=None) -> np.ndarray | None:
    """Unit direction `[d]` from `start [d]`, trained on codes `z [n, d]` with the codes'
    covariance `cov [d, d]`; None if the readers are not differentiable or the target unread."""
    others = [k for k in readers.names if family.get(k, k) != family[name]]
    if readers.torch_read is None or name not in readers.names or not others:
        return None
    rng = np.random.default_rng(seed)
    zt = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    covt = torch.as_tensor(np.asarray(cov), dtype=torch.float32)
    v = torch.tensor(np.asarray(start), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([v], lr=lr)
    for i in range(steps):
        tick(None, should_stop, i / steps, f"searching a direction for {name}")
        idx = torch.as_tensor(rng.choice(len(zt), min(batch, len(zt)), replace=False))
        loss, _, _ = _objective(model, zt[idx], v / v.norm(), covt, readers, name, others, lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = (v / v.norm()).detach().double().numpy()
    return out if np.isfinite(out).all() else None
