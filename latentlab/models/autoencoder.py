"""Deterministic and variational autoencoders as one class family.

- Undercomplete AE: `Autoencoder(latent_dim=d)` (Hinton & Salakhutdinov 2006).
- Regularised AE: `l1` / `l2` penalties on z; weight decay is a training setting.
- Denoising AE (Vincent et al. 2008): `noise` in {"gaussian", "masking", "salt_pepper"} with
  `noise_level`; the loss compares the reconstruction of the corrupted input with the clean one.
- VAE (Kingma & Welling 2014) with a diagonal Gaussian posterior; β-VAE (Higgins et al. 2017)
  is the same class with `beta != 1`, optionally with a linear KL warm-up.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from latentlab import losses
from latentlab.errors import ConfigError
from latentlab.models.base import Batch, LatentModel, ModelOutput
from latentlab.models.blocks import build_decoder, build_encoder

# Literal types, so a UI can offer the choices (latentlab.jobs reads them from the signature)
Noise = Literal["none", "gaussian", "masking", "salt_pepper"]
ReconLoss = Literal["bce", "mse"]
Arch = Literal["conv", "mlp"]
NOISES, RECON_LOSSES, ARCHS = get_args(Noise), get_args(ReconLoss), get_args(Arch)


def corrupt(x: torch.Tensor, noise: str, level: float, generator=None) -> torch.Tensor:
    """Corrupted copy of images `[N, C, H, W]` in [0, 1].

    gaussian: add N(0, level²) and clip; masking: zero each pixel with probability `level`;
    salt_pepper: set each pixel to 0 or 1 (evenly) with probability `level`.
    """
    if noise == "none" or level == 0:
        return x
    if noise == "gaussian":
        return (x + level * torch.randn(x.shape, generator=generator).to(x.device)).clamp(0, 1)
    u = torch.rand(x.shape[0], 1, *x.shape[2:], generator=generator).to(x.device).expand_as(x)
    if noise == "masking":
        return torch.where(u < level, torch.zeros_like(x), x)
    salt = (torch.rand(x.shape[0], 1, *x.shape[2:], generator=generator) < 0.5).to(x.device).expand_as(x)
    return torch.where(u < level, salt.to(x.dtype), x)


class Autoencoder(LatentModel):
    """Conv or MLP autoencoder; `z = encoder(x)`, `x̂ = sigmoid(decoder(z))`."""

    family = "ae"
    n_stats = 1  # encoder outputs per latent dimension

    def __init__(self, image_shape, latent_dim: int, arch: Arch = "conv", width: int = 32,
                 recon_loss: ReconLoss = "bce", l1: float = 0.0, l2: float = 0.0,
                 noise: Noise = "none", noise_level: float = 0.0, depth: int = 2):
        super().__init__(image_shape, latent_dim)
        _check(arch in ARCHS, f"arch must be one of {ARCHS}, got {arch!r}")
        _check(recon_loss in RECON_LOSSES, f"recon_loss must be one of {RECON_LOSSES}, got {recon_loss!r}")
        _check(noise in NOISES, f"noise must be one of {NOISES}, got {noise!r}")
        _check(0 <= noise_level <= 1, f"noise_level must be in [0, 1], got {noise_level}")
        _check(latent_dim >= 1 and width >= 1, "latent_dim and width must be positive")
        _check(l1 >= 0 and l2 >= 0, "l1 and l2 must be non-negative")
        _check(depth == 2 or (arch == "mlp" and 1 <= depth <= 4),
               f"depth (hidden layers) is 1-4 for arch='mlp' and 2 for conv, got {depth}")
        self.args = dict(image_shape=list(self.image_shape), latent_dim=int(latent_dim), arch=arch,
                         width=int(width), recon_loss=recon_loss, l1=float(l1), l2=float(l2),
                         noise=noise, noise_level=float(noise_level), depth=int(depth))
        c, h, _ = self.image_shape
        self.encoder = build_encoder(arch, c, h, latent_dim * self.n_stats, width, depth)
        self.decoder = build_decoder(arch, c, h, latent_dim, width, depth)

    def model_args(self) -> dict:
        return dict(self.args)

    @property
    def label(self) -> str:
        if self.args["noise"] != "none":
            return "DAE"
        return "RAE" if self.args["l1"] or self.args["l2"] else "AE"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor, generator=None) -> ModelOutput:
        z = self.encoder(x)
        return ModelOutput(logits=self.decoder(z), z=z)

    def regularizer(self, out: ModelOutput, step: int) -> dict:
        return {"penalty": losses.latent_penalty(out.z, self.args["l1"], self.args["l2"])}

    def loss(self, batch: Batch, step: int, generator=None) -> dict:
        x_in = corrupt(batch.x, self.args["noise"], self.args["noise_level"], generator)
        out = self(x_in, generator)
        terms = {"recon": losses.reconstruction(out.logits, batch.x, self.args["recon_loss"])}
        terms.update(self.regularizer(out, step))
        terms["loss"] = sum(terms.values())
        return terms


class VAE(Autoencoder):
    """Diagonal-Gaussian VAE; β-VAE when `beta != 1`. `encode` returns the posterior mean."""

    family = "vae"
    n_stats = 2
    prior = "normal"

    def __init__(self, image_shape, latent_dim: int, beta: float = 1.0,
                 kl_warmup_steps: int = 0, **kwargs):
        super().__init__(image_shape, latent_dim, **kwargs)
        _check(beta >= 0, f"beta must be non-negative, got {beta}")
        _check(kl_warmup_steps >= 0, "kl_warmup_steps must be non-negative")
        self.args.update(beta=float(beta), kl_warmup_steps=int(kl_warmup_steps))

    @property
    def label(self) -> str:
        return "VAE" if self.args["beta"] == 1 else f"β-VAE (β={self.args['beta']:g})"

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each `[N, d]`; log-variance clamped for stability."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_stats(x)[0]

    def forward(self, x: torch.Tensor, generator=None) -> ModelOutput:
        mu, logvar = self.encode_stats(x)
        z = mu
        if self.training:
            eps = torch.randn(mu.shape, generator=generator).to(mu.device)  # CPU generator, any device
            z = mu + (0.5 * logvar).exp() * eps
        return ModelOutput(logits=self.decoder(z), z=z, mu=mu, logvar=logvar)

    def regularizer(self, out: ModelOutput, step: int) -> dict:
        kl = losses.gaussian_kl_per_dim(out.mu, out.logvar).sum(1).mean()
        weight = self.args["beta"] * losses.warmup(step, self.args["kl_warmup_steps"])
        return {"kl": weight * kl}

    def sample(self, n: int, generator=None) -> torch.Tensor:
        return self.decode(torch.randn(n, self.latent_dim, generator=generator))

    @torch.inference_mode()
    def evaluate(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Adds the negative ELBO (nats/image, β = 1, one posterior sample per image, seeded),
        KL per dimension and the number of active units (Burda et al. 2016: Var_x E[z|x] > 0.01)."""
        metrics = super().evaluate(x, batch_size)
        mus, kls, recs = [], [], []
        gen = torch.Generator().manual_seed(0)
        for chunk in x.split(batch_size):
            mu, logvar = self.encode_stats(chunk)
            z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen).to(mu.device)
            recs.append(_bernoulli_nll(self.decoder(z), chunk))
            kls.append(losses.gaussian_kl_per_dim(mu, logvar))
            mus.append(mu)
        kl_dim = torch.cat(kls).mean(0)
        metrics["neg_elbo"] = float(torch.cat(recs).mean() + kl_dim.sum())
        metrics["kl"] = float(kl_dim.sum())
        metrics["kl_per_dim"] = [round(float(v), 4) for v in kl_dim]
        metrics["active_units"] = int((torch.cat(mus).var(0) > 0.01).sum())
        return metrics


def _bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image Bernoulli negative log-likelihood `[N]`."""
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return nll.flatten(1).sum(1)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
