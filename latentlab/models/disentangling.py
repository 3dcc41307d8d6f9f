"""VAEs aimed at disentanglement: each is the VAE with one term of its objective changed.

- β-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in Variational
  Autoencoders"): the KL splits into index-code MI + total correlation (TC) + dimension-wise KL;
  only the TC is weighted by β. Here: analytic KL + (β − 1) · minibatch TC estimate (as
  disentanglement_lib's `BetaTCVAE.regularizer`), which needs the training set's size.
- FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising"): KL + γ · TC, the TC estimated by
  a discriminator between codes z ~ q(z) and dimension-wise permuted codes ~ prod_k q(z_k),
  trained by a second optimiser (the density-ratio trick).
- Capacity-annealed β-VAE (Burgess et al. 2018, "Understanding disentangling in β-VAE"):
  γ · |KL − C(step)|, the target capacity C rising linearly from 0 to `capacity` nats.

All keep the VAE's surface, posterior-mean `encode` and N(0, I) prior. Shapes: images
`[N, C, H, W]`, codes `[N, d]`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from latentlab import losses
from latentlab.models.autoencoder import VAE, _check
from latentlab.models.base import Batch, ModelOutput, optimise


def _kl(out: ModelOutput) -> torch.Tensor:
    """Analytic KL(q(z|x) || N(0, I)) per image, mean over the batch."""
    return losses.gaussian_kl_per_dim(out.mu, out.logvar).sum(1).mean()


class BetaTCVAE(VAE):
    """β-TCVAE: `beta` weighs the total correlation; `dataset_size` is N of the TC estimate (the
    number of distinct training images: 737,280 when streaming the whole shapes grid)."""

    family = "tcvae"

    def __init__(self, image_shape, latent_dim: int, beta: float = 6.0,
                 dataset_size: int | None = None, tc_estimator: str = "mss", **kwargs):
        super().__init__(image_shape, latent_dim, beta=beta, **kwargs)
        _check(isinstance(dataset_size, int) and not isinstance(dataset_size, bool)
               and dataset_size >= 2, "β-TCVAE needs dataset_size, the number of training images "
               f"(an int >= 2), got {dataset_size!r}")
        _check(tc_estimator in losses.TC_ESTIMATORS,
               f"tc_estimator must be one of {losses.TC_ESTIMATORS}, got {tc_estimator!r}")
        self.args.update(dataset_size=int(dataset_size), tc_estimator=tc_estimator)

    @property
    def label(self) -> str:
        return f"β-TCVAE (β={self.args['beta']:g})"

    def regularizer(self, out: ModelOutput, step: int) -> dict:
        ramp = losses.warmup(step, self.args["kl_warmup_steps"])
        terms = {"kl": ramp * _kl(out)}
        m = len(out.z)
        _check(m <= self.args["dataset_size"],
               f"batch of {m} exceeds dataset_size {self.args['dataset_size']}")
        if m >= 2:  # a one-row batch has no other rows to estimate q(z) from
            tc = losses.total_correlation(out.z, out.mu, out.logvar, self.args["dataset_size"],
                                          self.args["tc_estimator"])
            terms["tc"] = ramp * (self.args["beta"] - 1.0) * tc
        return terms


def _discriminator(latent_dim: int, width: int, depth: int) -> nn.Sequential:
    """MLP `[N, d]` -> logits `[N, 2]` (class 0: a code of q(z); class 1: a permuted code)."""
    layers, c_in = [], latent_dim
    for _ in range(depth):
        layers += [nn.Linear(c_in, width), nn.LeakyReLU(0.2)]
        c_in = width
    return nn.Sequential(*layers, nn.Linear(c_in, 2))


class FactorVAE(VAE):
    """FactorVAE: KL + `gamma` · TC, the TC from a discriminator (`disc_width` × `disc_depth`
    hidden layers; the paper's is 6 × 1000, ours is smaller for d = 10 on a CPU)."""

    family = "factorvae"

    def __init__(self, image_shape, latent_dim: int, gamma: float = 35.0, disc_width: int = 256,
                 disc_depth: int = 3, **kwargs):
        super().__init__(image_shape, latent_dim, **kwargs)
        _check(gamma >= 0, f"gamma must be non-negative, got {gamma}")
        _check(disc_width >= 1 and disc_depth >= 1, "disc_width and disc_depth must be positive")
        _check(self.args["beta"] == 1, "FactorVAE weighs the TC by gamma; leave beta at 1")
        self.args.update(gamma=float(gamma), disc_width=int(disc_width), disc_depth=int(disc_depth))
        self.discriminator = _discriminator(latent_dim, int(disc_width), int(disc_depth))

    @property
    def label(self) -> str:
        return f"FactorVAE (γ={self.args['gamma']:g})"

    def vae_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]

    def make_optimizers(self, lr: float, weight_decay: float) -> list[torch.optim.Optimizer]:
        # The discriminator uses the paper's Adam(β1 = 0.5, β2 = 0.9) at the same learning rate
        # (the loop's schedule sets every optimiser's rate to the config's).
        # At weight_decay 0 plain Adam, as LatentModel.make_optimizers (same weights, one pass less).
        vae = (torch.optim.Adam(self.vae_parameters(), lr=lr) if weight_decay == 0
               else torch.optim.AdamW(self.vae_parameters(), lr=lr, weight_decay=weight_decay))
        return [vae, torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.9))]

    def regularizer(self, out: ModelOutput, step: int) -> dict:
        ramp = losses.warmup(step, self.args["kl_warmup_steps"])
        logits = self.discriminator(out.z)
        tc = (logits[:, 0] - logits[:, 1]).mean()  # E log D(z) / (1 - D(z))
        return {"kl": ramp * _kl(out), "tc": ramp * self.args["gamma"] * tc}

    def vae_step(self, batch: Batch, step: int, opt, generator=None,
                 grad_clip=None) -> tuple[dict, torch.Tensor]:
        """One step of the encoder/decoder (the discriminator is held fixed) -> (terms, codes z
        `[B, d]` sampled in this step, detached)."""
        self.discriminator.requires_grad_(False)
        try:
            out = self(batch.x, generator)
            terms = {"recon": losses.reconstruction(out.logits, batch.x, self.args["recon_loss"])}
            terms.update(self.regularizer(out, step))
            terms["loss"] = sum(terms.values())
            optimise(terms["loss"], self.vae_parameters(), opt, step, grad_clip)
        finally:
            self.discriminator.requires_grad_(True)
        return {k: float(v.detach()) for k, v in terms.items()}, out.z.detach()

    def discriminator_step(self, z: torch.Tensor, opt, step: int, generator=None) -> float:
        """One step of the discriminator on codes `[B, d]` vs their dimension-wise permutation;
        returns its cross-entropy (ln 2 ≈ 0.693 when it cannot tell them apart)."""
        real, fake = self.discriminator(z), self.discriminator(losses.permute_dims(z, generator))
        zeros = torch.zeros(len(z), dtype=torch.long)
        loss = 0.5 * (F.cross_entropy(real, zeros) + F.cross_entropy(fake, zeros + 1))
        optimise(loss, list(self.discriminator.parameters()), opt, step)
        return float(loss.detach())

    def train_step(self, batch: Batch, step: int, optimizers, generator=None, grad_clip=None) -> dict:
        vae_opt, disc_opt = optimizers
        terms, z = self.vae_step(batch, step, vae_opt, generator, grad_clip)
        terms["disc"] = self.discriminator_step(z, disc_opt, step, generator)
        return terms


class AnnealedVAE(VAE):
    """β-VAE with a capacity target: `gamma` · |KL − C(step)|, C rising linearly from 0 to
    `capacity` nats over `capacity_steps` optimisation steps, then held."""

    family = "annealed_vae"

    def __init__(self, image_shape, latent_dim: int, gamma: float = 100.0, capacity: float = 25.0,
                 capacity_steps: int = 100000, **kwargs):
        super().__init__(image_shape, latent_dim, **kwargs)
        _check(gamma >= 0 and capacity >= 0, "gamma and capacity must be non-negative")
        _check(isinstance(capacity_steps, int) and capacity_steps >= 0,
               f"capacity_steps must be an int >= 0, got {capacity_steps!r}")
        _check(self.args["beta"] == 1, "the annealed β-VAE weighs |KL - C| by gamma; leave beta at 1")
        self.args.update(gamma=float(gamma), capacity=float(capacity),
                         capacity_steps=int(capacity_steps))

    @property
    def label(self) -> str:
        return f"Annealed β-VAE (γ={self.args['gamma']:g}, C={self.args['capacity']:g})"  # validate.LABEL: no arrows

    def capacity_at(self, step: int) -> float:
        """Target KL in nats at an optimisation step."""
        return self.args["capacity"] * losses.warmup(step, self.args["capacity_steps"])

    def regularizer(self, out: ModelOutput, step: int) -> dict:
        return {"kl": self.args["gamma"] * (_kl(out) - self.capacity_at(step)).abs()}
