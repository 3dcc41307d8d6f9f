"""Has a trained autoencoder collapsed? Two checks on held-out reconstructions.

A too-large learning rate can kill the decoder without a single non-finite loss: every input is
mapped to the same image (often the mean image, the best constant under squared error), the
training loop "completes", and a checkpoint that ignores its input would replace a good one.
"Posterior collapse" in VAEs (Bowman et al. 2016, "Generating Sentences from a Continuous Space")
is the latent-side view of the same failure. The checks:

1. the reconstructions barely differ across inputs: their per-pixel spread over the test images is
   under SPREAD_FRACTION of the data's own spread;
2. the test MSE is no better than predicting the mean test image for every input
   (whose MSE is the data's per-pixel variance).

Constant data (no spread) passes: there is nothing to tell apart.
"""

from __future__ import annotations

import torch

SPREAD_FRACTION = 0.05
MAX_IMAGES = 1000  # enough to measure spread; bounds the extra pass at the end of training
SLOW_IMAGES = 64  # for models whose encode is an optimisation (GLO): seconds, not minutes


@torch.inference_mode()
def collapse_reason(model, x: torch.Tensor, batch_size: int = 500) -> str | None:
    """Why `model` counts as collapsed on held-out images `x` `[N, C, H, W]` in [0, 1], or None."""
    n = min(len(x), SLOW_IMAGES if getattr(model, "slow_encode", False) else MAX_IMAGES)
    x = x[torch.linspace(0, len(x) - 1, n).round().long()] if n else x  # evenly spaced
    if len(x) < 2:
        return None
    recon = torch.cat([model.reconstruct(chunk) for chunk in x.split(batch_size)])
    return compare(recon, x)


def compare(recon: torch.Tensor, x: torch.Tensor) -> str | None:
    """The two checks on reconstructions `recon` of images `x`, both `[N, C, H, W]`."""
    x, recon = x.double(), recon.double()
    data_spread = x.std(0).mean().item()
    if data_spread < 1e-6:
        return None
    spread = recon.std(0).mean().item()
    if spread < SPREAD_FRACTION * data_spread:
        return (f"collapsed: reconstructions are nearly identical across inputs (per-pixel spread "
                f"{spread:.3g} against the data's {data_spread:.3g})")
    mse = (recon - x).pow(2).mean().item()
    baseline = (x - x.mean(0)).pow(2).mean().item()
    if mse >= baseline:
        return (f"collapsed: test MSE {mse:.4g} is no better than predicting the mean image "
                f"for every input ({baseline:.4g})")
    return None
