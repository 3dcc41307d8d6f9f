"""Encode by optimisation: search the latent space for the codes whose decodings match images.

One function serves every place that inverts a decoder by gradient descent:
- GLO has no encoder at all (Bojanowski et al. 2018, "Optimizing the Latent Space of Generative
  Networks"); encoding a new image means fitting its code with the decoder frozen.
- Restoration (`latentlab.metrics.restoration`) fits only the observed pixels of a corrupted
  image, with a small Gaussian prior on the code: MAP inversion as in compressed sensing with
  generative models (Bora et al. 2017) and semantic inpainting (Yeh et al. 2017).

Images are independent: the objective is a sum of per-image terms and Adam works per
coordinate, so fitting N images together gives the same codes as fitting them one at a time.
Only the codes are optimised (gradients come from `torch.autograd.grad` w.r.t. z), so a model's
parameters and their `.grad` are never touched, and the function works when called under
`torch.inference_mode()` (as the app and the latent cache call `encode`).

Shapes: images `[N, C, H, W]` in [0, 1]; masks bool `[N or 1, 1, H, W]`, True = pixel missing;
codes `[N, d]`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentlab.errors import Cancelled, ConfigError

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Progress = Callable[[float, str], None]  # (fraction done, message), as latentlab.latent.cache


class OptimisationCancelled(Cancelled):
    """Raised when `should_stop()` returned True; `codes` holds the codes reached so far `[N, d]`."""

    def __init__(self, codes: torch.Tensor, step: int):
        super().__init__(f"latent optimisation cancelled after {step} steps")
        self.codes, self.step = codes, step


def squared_error(x_hat: torch.Tensor, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Per-image sum of squared error over the observed pixels, `[N]`."""
    return ((x_hat - x) ** 2 * observed).flatten(1).sum(1)


def encode_by_optimisation(decode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                           z0: torch.Tensor, mask: torch.Tensor | None = None, steps: int = 200,
                           lr: float = 0.05, prior_weight: float = 0.0, loss: Loss = squared_error,
                           project: Callable[[torch.Tensor], torch.Tensor] | None = None,
                           progress: Progress | None = None,
                           should_stop: Callable[[], bool] | None = None,
                           seed: int = 0) -> torch.Tensor:
    """argmin_z loss(decode(z), x, observed) + prior_weight |z|², by Adam from `z0`; codes `[N, d]`.

    `project` maps codes back onto their constraint set after every step (GLO: the unit sphere).
    `progress(fraction, message)` is called after each step (the message gives the step and the
    mean loss per image); `should_stop()` is polled before
    each step and, when it returns True, `OptimisationCancelled` is raised carrying the codes so
    far. `seed` seeds torch's RNG inside a forked RNG state, for decoders with random layers.
    """
    _check(x, z0, mask, steps, lr, prior_weight)
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(seed)
        x = x.detach().clone()  # a normal tensor even if the caller is in inference mode
        observed = torch.ones_like(x[:, :1]) if mask is None else (~mask.bool()).to(x.dtype).clone()
        z = z0.detach().clone().to(x.dtype)
        if project is not None:
            z = project(z)
        z.requires_grad_(True)
        m, v = torch.zeros_like(z), torch.zeros_like(z)
        for t in range(1, steps + 1):
            if should_stop is not None and should_stop():
                raise OptimisationCancelled(z.detach().clone(), t - 1)
            per_image = loss(decode(z), x, observed) + prior_weight * z.pow(2).sum(1)
            (grad,) = torch.autograd.grad(per_image.sum(), z)
            with torch.no_grad():
                _adam_update(z, grad, m, v, t, lr)
                if project is not None:
                    z.copy_(project(z))
            if progress is not None:
                progress(t / steps, f"step {t}/{steps}, loss {float(per_image.detach().mean()):.4g}")
        return z.detach().clone()


def _check(x, z0, mask, steps, lr, prior_weight) -> None:
    if int(steps) != steps or steps < 0 or not lr > 0 or not prior_weight >= 0:
        raise ConfigError(f"need integer steps >= 0, lr > 0, prior_weight >= 0; got {steps}, {lr}, "
                          f"{prior_weight}")
    if x.ndim != 4 or z0.ndim != 2 or len(z0) != len(x):
        raise ConfigError(f"need images [N, C, H, W] and codes [N, d]; got {list(x.shape)} and "
                          f"{list(z0.shape)}")
    if mask is not None and (mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[2:] != x.shape[2:]
                             or mask.shape[0] not in (1, len(x))):
        raise ConfigError(f"mask {list(mask.shape)} does not match images {list(x.shape)}: "
                          "expected [N or 1, 1, H, W]")


def _adam_update(z, grad, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8) -> None:
    """One Adam step in place (Kingma & Ba 2015), written out because torch.optim imports
    torch._dynamo on its first step (6.6 s measured on our shared 2-core box)."""
    m.mul_(betas[0]).add_(grad, alpha=1 - betas[0])
    v.mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
    z.sub_(lr * m_hat / (v_hat.sqrt() + eps))


def encode_with_progress(model, x: torch.Tensor, progress: Progress | None = None,
                         should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """`model.encode(x)` -> codes `[N, d]`, handing `progress` and `should_stop` to a model whose
    encode is an optimisation (`model.slow_encode`, e.g. GLO); a feed-forward encoder is just
    called (it takes milliseconds). For a UI: one call, a progress bar only where it means something."""
    if getattr(model, "slow_encode", False):
        return model.encode(x, progress=progress, should_stop=should_stop)
    return model.encode(x)
