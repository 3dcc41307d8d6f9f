"""Autoencoders with a discriminator: two players, two optimisers, one training loop.

- Adversarial autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders"): a discriminator on
  codes tells draws from the prior N(0, I) from encoded training images; the encoder is trained
  to fool it, which pushes the aggregate posterior q(z) towards the prior, so decoded prior
  samples look like data (`prior = "normal"`). Deterministic encoder, as in their main results.
- VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"):
  a VAE whose reconstructions and prior samples are both fakes for an image discriminator, which
  sharpens the decoder's output. Two departures, both for a small CPU budget: the discriminator
  is a PatchGAN (Isola et al. 2017), one real/fake logit per overlapping patch, and the
  reconstruction term stays the VAE's pixel likelihood instead of Larsen et al.'s distance in
  the discriminator's features.

Both use the non-saturating GAN loss (Goodfellow et al. 2014), spectral normalisation on every
discriminator layer (Miyato et al. 2018) and an optional R1 penalty on real inputs (Mescheder et
al. 2018). `train_step` runs the generator step (encoder + decoder, `make_optimizers()[0]`) and
then the discriminator step (`[1]`); each updates only its own parameters. `adv_weight` scales
the generator's adversarial term; it is zero for the first `adv_start` steps, so the
autoencoder learns to reconstruct before it is asked to fool anyone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from latentlab import losses
from latentlab.errors import ConfigError, DivergedError
from latentlab.models.autoencoder import VAE, Autoencoder, corrupt
from latentlab.models.base import Batch
from latentlab.models.blocks import conv_sides


class LatentDiscriminator(nn.Module):
    """MLP on codes `[N, d]` -> logits `[N]`, spectrally normalised."""

    def __init__(self, latent_dim: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            spectral_norm(nn.Linear(latent_dim, width)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(width, width)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(width, 1)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


class PatchDiscriminator(nn.Module):
    """PatchGAN: stride-2 4×4 convolutions down to a side of about 8 (7 for 28×28), then one logit
    per position; images `[N, C, H, W]` -> logits `[N, P]`, spectrally normalised."""

    def __init__(self, channels: int, side: int, width: int):
        super().__init__()
        n_down = max(1, sum(1 for s in conv_sides(side)[1:] if s >= 7))
        layers, c_in = [], channels
        for i in range(n_down):
            c_out = width * min(2**i, 4)
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c_in = c_out
        layers.append(spectral_norm(nn.Conv2d(c_in, 1, 3, padding=1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1).flatten(1)


class _TwoPlayer:
    """What both hybrids share: optimisers, the alternating step, the discriminator's loss.

    Subclasses set `self.disc` and define `_generator_terms(batch, step, generator) -> (terms,
    fakes)` (fakes detached) and `_reals(batch, generator)`.
    """

    def _adv_args(self, adv_weight, adv_start, disc_width, r1) -> dict:
        _check(adv_weight >= 0 and adv_start >= 0 and disc_width >= 1 and r1 >= 0,
               "need adv_weight >= 0, adv_start >= 0, disc_width >= 1, r1 >= 0")
        return dict(adv_weight=float(adv_weight), adv_start=int(adv_start),
                    disc_width=int(disc_width), r1=float(r1))

    def adv_weight_at(self, step: int) -> float:
        return self.args["adv_weight"] if step >= self.args["adv_start"] else 0.0

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("disc.")]

    def make_optimizers(self, lr: float, weight_decay: float) -> list[torch.optim.Optimizer]:
        """[encoder + decoder (AdamW), discriminator (Adam, β1 = 0.5 as in DCGAN)]."""
        return [torch.optim.AdamW(self.generator_parameters(), lr=lr, weight_decay=weight_decay),
                torch.optim.Adam(self.disc.parameters(), lr=lr, betas=(0.5, 0.999))]

    def train_step(self, batch: Batch, step: int, optimizers, generator=None, grad_clip=None) -> dict:
        gen_opt, disc_opt = optimizers
        terms, fakes = self.generator_step(batch, step, gen_opt, generator, grad_clip)
        terms.update(self.discriminator_step(batch, fakes, disc_opt, generator))
        return terms

    def generator_step(self, batch, step, opt, generator=None, grad_clip=None) -> tuple[dict, torch.Tensor]:
        """Minimise the autoencoder's loss (+ adversarial term); the discriminator is frozen."""
        self.disc.requires_grad_(False)
        try:
            terms, fakes = self._generator_terms(batch, step, generator)
            _finite(terms["loss"], step)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
        finally:
            self.disc.requires_grad_(True)
        norm = torch.nn.utils.clip_grad_norm_(self.generator_parameters(), grad_clip or math.inf)
        _finite(norm, step, "gradient norm")
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}, fakes

    def discriminator_step(self, batch, fakes: torch.Tensor, opt, generator=None) -> dict:
        """Non-saturating logistic loss on reals vs the generator step's (detached) fakes, plus
        R1 = r1/2 · E|∇D(real)|² when r1 > 0. Updates only the discriminator."""
        reals = self._reals(batch, generator).detach().requires_grad_(self.args["r1"] > 0)
        d_real, d_fake = self.disc(reals), self.disc(fakes)
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        terms = {"d_loss": loss.detach(), "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}
        if self.args["r1"] > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), reals, create_graph=True)
            r1 = 0.5 * self.args["r1"] * grad.pow(2).flatten(1).sum(1).mean()
            loss, terms["r1"] = loss + r1, r1.detach()
        _finite(loss, -1, "discriminator loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {k: float(v) for k, v in terms.items()}


class AdversarialAE(_TwoPlayer, Autoencoder):
    """Autoencoder + a code discriminator against N(0, I) (Makhzani et al. 2016).

    adv_weight: nats per image given to "fool the code discriminator", next to the per-image
    reconstruction loss (compare a VAE's KL, tens of nats).
    """

    family = "aae"
    prior = "normal"

    def __init__(self, image_shape, latent_dim: int, adv_weight: float = 10.0, adv_start: int = 0,
                 disc_width: int = 256, r1: float = 0.0, **kwargs):
        super().__init__(image_shape, latent_dim, **kwargs)
        self.args.update(self._adv_args(adv_weight, adv_start, disc_width, r1))
        self.disc = LatentDiscriminator(latent_dim, disc_width)

    @property
    def label(self) -> str:
        return "AAE"

    def _generator_terms(self, batch: Batch, step: int, generator=None):
        x_in = corrupt(batch.x, self.args["noise"], self.args["noise_level"], generator)
        out = self(x_in, generator)
        terms = {"recon": losses.reconstruction(out.logits, batch.x, self.args["recon_loss"])}
        terms.update(self.regularizer(out, step))
        weight = self.adv_weight_at(step)
        if weight:
            terms["adv"] = weight * F.softplus(-self.disc(out.z)).mean()
        terms["loss"] = sum(terms.values())
        return terms, out.z.detach()

    def _reals(self, batch: Batch, generator=None) -> torch.Tensor:
        return torch.randn(len(batch.x), self.latent_dim, generator=generator)

    def loss(self, batch: Batch, step: int, generator=None) -> dict:
        return self._generator_terms(batch, step, generator)[0]

    def sample(self, n: int, generator=None) -> torch.Tensor:
        return self.decode(torch.randn(n, self.latent_dim, generator=generator))


class VAEGAN(_TwoPlayer, VAE):
    """VAE + a PatchGAN discriminator that sees reconstructions and prior samples as fakes.

    adv_weight is per pixel: the generator's adversarial term is adv_weight × (C·H·W) × the mean
    patch loss, on the scale of the per-image summed reconstruction loss.
    """

    family = "vaegan"

    def __init__(self, image_shape, latent_dim: int, adv_weight: float = 0.05, adv_start: int = 0,
                 disc_width: int = 32, r1: float = 0.0, **kwargs):
        super().__init__(image_shape, latent_dim, **kwargs)
        self.args.update(self._adv_args(adv_weight, adv_start, disc_width, r1))
        c, h, _ = self.image_shape
        self.disc = PatchDiscriminator(c, h, disc_width)

    @property
    def label(self) -> str:
        return "VAE-GAN" if self.args["beta"] == 1 else f"VAE-GAN (β={self.args['beta']:g})"

    def _generator_terms(self, batch: Batch, step: int, generator=None):
        x_in = corrupt(batch.x, self.args["noise"], self.args["noise_level"], generator)
        out = self(x_in, generator)
        terms = {"recon": losses.reconstruction(out.logits, batch.x, self.args["recon_loss"])}
        terms.update(self.regularizer(out, step))
        prior_z = torch.randn(len(batch.x), self.latent_dim, generator=generator)
        fakes = torch.cat([out.recon, torch.sigmoid(self.decoder(prior_z))])
        weight = self.adv_weight_at(step)
        if weight:
            pixels = batch.x[0].numel()
            terms["adv"] = weight * pixels * F.softplus(-self.disc(fakes)).mean()
        terms["loss"] = sum(terms.values())
        return terms, fakes.detach()

    def _reals(self, batch: Batch, generator=None) -> torch.Tensor:
        return batch.x

    def loss(self, batch: Batch, step: int, generator=None) -> dict:
        return self._generator_terms(batch, step, generator)[0]


def _finite(value: torch.Tensor, step: int, what: str = "loss") -> None:
    if not torch.isfinite(value):
        raise DivergedError(f"non-finite {what} at step {step}")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
