"""The uniform model surface every family offers, and the default training step.

encode(x) -> z `[N, d]`; decode(z) -> x `[N, C, H, W]` in [0, 1]; reconstruct(x); sample(n).
The training loop only calls `make_optimizers`, `train_step` and `evaluate`, so a family with
extra parts (a GLO latent table indexed by `batch.index`, an adversarial discriminator with its
own optimiser) overrides those and reuses the loop unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab import losses
from latentlab.errors import DivergedError


@dataclass
class Batch:
    """Images `[B, C, H, W]` and their row indices in the training split `[B]` (GLO needs them)."""

    x: torch.Tensor
    index: torch.Tensor


@dataclass
class ModelOutput:
    """Named outputs of a forward pass. `logits` `[N, C, H, W]`; `z`, `mu`, `logvar` `[N, d]`."""

    logits: torch.Tensor
    z: torch.Tensor
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None

    @property
    def recon(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)


class LatentModel(nn.Module):
    """Base class: shape bookkeeping, reconstruction metrics and the default optimisation step."""

    family = "base"
    closed_form = False  # PCA is fitted in one shot instead of by gradient steps
    # The one answer to "what are this model's codes drawn from?", asked by sampling, slider
    # ranges and traversals alike: "normal" = N(0, I) (VAEs, adversarial AEs); "pca" = PCA's own
    # Gaussian along its axes; None = no prior (plain, regularised and denoising AEs).
    prior: str | None = None
    # True when `encode` is itself an optimisation (GLO: seconds per batch, not milliseconds). Such
    # a model's `encode` also takes `progress` and `should_stop` keywords (see
    # latentlab.latent.optimise), so a UI can show a progress bar and cache the codes it got.
    slow_encode = False

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.latent_dim = int(latent_dim)

    # -- the uniform surface ------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @property
    def has_prior(self) -> bool:
        """True when `sample` draws from a prior (see `prior`)."""
        return self.prior is not None

    def init_codes(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Where latent optimisation starts for images `[N, C, H, W]` (mask bool `[N, 1, H, W]`,
        True = missing): the encoder's code; a model without an encoder overrides it."""
        with torch.no_grad():
            return self.encode(x)

    def project_codes(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes `[N, d]` onto the set the decoder was trained on (identity; GLO: the sphere)."""
        return z

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean and log-variance `[N, d]`; log-variance None for a deterministic encoder."""
        return self.encode(x), None

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{self.family} has no prior to sample from")

    def model_args(self) -> dict:
        """Constructor arguments as plain JSON values; `type(self)(**model_args())` rebuilds it."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        return self.family.upper()

    # -- training ------------------------------------------------------------------------------
    def loss(self, batch: Batch, step: int, generator: torch.Generator | None = None) -> dict:
        """Scalar tensors; "loss" is what gets minimised."""
        raise NotImplementedError

    def prepare_training(self, x_train: torch.Tensor, seed: int = 0) -> None:
        """Called once by the loop before the optimisers are made (GLO sizes-checks and
        initialises its per-image codes from the training images `[N, C, H, W]`); a no-op here."""

    def make_optimizers(self, lr: float, weight_decay: float) -> list[torch.optim.Optimizer]:
        # AdamW at weight_decay 0 is Adam plus a pass multiplying every weight by 1.0 each step
        # (measured in torch.profiler as the step's largest elementwise cost); same weights, bit for bit
        if weight_decay == 0:
            return [torch.optim.Adam(self.parameters(), lr=lr)]
        return [torch.optim.AdamW(self.parameters(), lr=lr, weight_decay=weight_decay)]

    def train_step(self, batch: Batch, step: int, optimizers, generator=None, grad_clip=None) -> dict:
        """One optimisation step; raises DivergedError on a non-finite loss or gradient."""
        (opt,) = optimizers
        terms = self.loss(batch, step, generator)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            raise DivergedError(f"non-finite loss {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = _grad_norm(self, grad_clip)
        if not torch.isfinite(norm):
            raise DivergedError(f"non-finite gradient norm at step {step}")
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}

    # -- evaluation ----------------------------------------------------------------------------
    @torch.inference_mode()
    def evaluate(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Test metrics over images `[N, C, H, W]`: per-pixel MSE, per-image BCE (nats), PSNR (dB)."""
        sums = {"mse": 0.0, "bce": 0.0, "psnr": 0.0}
        for chunk in x.split(batch_size):
            r = self.reconstruct(chunk).clamp(1e-6, 1 - 1e-6)
            sums["mse"] += float((r - chunk).pow(2).flatten(1).mean(1).sum())
            bce = torch.nn.functional.binary_cross_entropy(r, chunk, reduction="none")
            sums["bce"] += float(bce.flatten(1).sum(1).sum())
            sums["psnr"] += float(losses.psnr(r, chunk).sum())
        return {k: v / len(x) for k, v in sums.items()}


def _grad_norm(model: nn.Module, grad_clip: float | None) -> torch.Tensor:
    """Total gradient norm, clipping to `grad_clip` if given. Without a clip only the norm is
    computed (for the finiteness check): clip_grad_norm_ would also multiply every gradient by 1."""
    if grad_clip:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    return torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
