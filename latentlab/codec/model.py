"""A learned image codec as a model family: Ballé, Laparra & Simoncelli 2017, "End-to-end
optimized image compression" (ICLR), scaled down to our 28×28 and 64×64 images.

    x ─ g_a (strided 5×5 convs + GDN) ─> y `[N, M, h, w]` ─ quantise ─> ŷ ─ g_s (transposed convs + IGDN) ─> x̂

Training minimises `λ · 255² · MSE(x, x̂) + R`, R in bits per pixel under a learned factorized
density per latent channel (`layers.FactorizedDensity`). Rounding has no gradient, so during
training y gets additive uniform noise U(−½, ½) instead: the noisy latent's density is the
density convolved with the unit box, whose value at ỹ is exactly the probability of the
quantisation bin around ỹ, so the training rate is a differentiable stand-in for the coded rate.

Why this design (and not a quantiser bolted onto faces_ae): the zoo's autoencoders have one
global 16–32 dimensional code, so their quality stops at their reconstruction PSNR (28.4 dB on
faces) however many bits the code gets, and they were never trained to make the code cheap. A
fully convolutional analysis/synthesis pair with a spatial latent keeps improving with rate, is
trained for the rate it will be coded at, and codes images of any size divisible by 2^stages.

Rates: each checkpoint is trained for one λ, and every checkpoint also offers a ladder of
quantisation steps Δ (`steps`; ŷ = Δ · round(y / Δ), bin probabilities c(ŷ + Δ/2) − c(ŷ − Δ/2)),
so one model spans several rates; BENCHMARKS.md measures which of the two gives the better curve.
The integer frequency tables the coder uses are computed once after training and stored with the
weights, so bytes written on one machine decode on another (floating-point tables recomputed
elsewhere could differ in the last bit and derail the decoder).

The uniform model surface: `encode(x)` is the quantised latent at Δ = 1 flattened to `[N, d]`
(d = M·h·w), `decode(z)` its synthesis, so `reconstruct(x)` is what the codec delivers. `prior` is None: the factorized density is a coding model, and
samples from it are texture noise, not images.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab import losses
from latentlab.codec.layers import GDN, FactorizedDensity
from latentlab.errors import ConfigError
from latentlab.models.base import Batch, LatentModel

TABLE_LEN = 256  # symbols per channel and step: Δ · 256 around the channel's median
COUNT_BITS = 20  # table counts are floor(p · 2^20) + 1, so every symbol stays codable


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


class Codec(LatentModel):
    """Ballé et al. 2017 codec. `latent_dim` = M · h · w, the length of the flattened code."""

    family = "codec"
    prior = None

    def __init__(self, image_shape, latent_dim: int, width: int = 64, stages: int = 3,
                 lmbda: float = 0.01, steps=(1.0,)):
        super().__init__(image_shape, latent_dim)
        c, h, w = self.image_shape
        _check(stages >= 1 and h % 2**stages == 0 and w % 2**stages == 0,
               f"image sides {h}x{w} must be divisible by 2^stages = {2**stages}")
        side = (h // 2**stages) * (w // 2**stages)
        _check(latent_dim >= side and latent_dim % side == 0,
               f"latent_dim must be a multiple of the latent grid size {side}, got {latent_dim}")
        steps = [float(s) for s in steps]
        _check(1.0 in steps and all(s > 0 for s in steps) and len(steps) <= 16,
               f"steps must be 1..16 positive numbers including 1.0, got {steps}")
        _check(lmbda > 0 and width >= 1, "lmbda and width must be positive")
        self.channels = latent_dim // side
        self.grid = (h // 2**stages, w // 2**stages)
        self.args = dict(image_shape=list(self.image_shape), latent_dim=int(latent_dim), width=int(width),
                         stages=int(stages), lmbda=float(lmbda), steps=steps)
        self.analysis = _analysis(c, width, self.channels, stages)
        self.synthesis = _synthesis(c, width, self.channels, stages)
        self.density = FactorizedDensity(self.channels)
        self.register_buffer("table_lo", torch.zeros(len(steps), self.channels, dtype=torch.int32))
        self.register_buffer("table_counts", torch.ones(len(steps), self.channels, TABLE_LEN, dtype=torch.int32))
        self.tables_stale = True  # loading a checkpoint clears this: its stored tables are the truth
        self.register_load_state_dict_post_hook(lambda module, _keys: setattr(module, "tables_stale", False))

    def model_args(self) -> dict:
        return {**self.args, "steps": list(self.args["steps"])}

    @property
    def label(self) -> str:
        return f"Codec (λ={self.args['lmbda']:g})"

    @property
    def steps(self) -> list[float]:
        return self.args["steps"]

    @property
    def default_step(self) -> int:
        """Index of Δ = 1, the step the model was trained for."""
        return self.steps.index(1.0)

    # -- the uniform surface ------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code the codec transmits at Δ = 1 (rounded, clipped to the tables), `[N, d]`, so
        that `decode(encode(x))` is `reconstruct(x)` as for every other family."""
        s = self.default_step
        return self.dequantise(self.quantise(self.analysis(x), s), s).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesise(z.view(-1, self.channels, *self.grid))

    def synthesise(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Latents `[N, M, h, w]` -> images `[N, C, 2^s h, 2^s w]` in [0, 1]."""
        return self.synthesis(y_hat).clamp(0, 1)

    # -- quantisation -------------------------------------------------------------------------
    def quantise(self, y: torch.Tensor, step_index: int) -> torch.Tensor:
        """Integer symbols `[N, M, h, w]` (int64): round(y / Δ), clipped to each channel's table."""
        lo = self.table_lo[step_index].long()[None, :, None, None]
        k = torch.round(y / self.steps[step_index]).long()
        return torch.maximum(torch.minimum(k, lo + TABLE_LEN - 1), lo)

    def dequantise(self, k: torch.Tensor, step_index: int) -> torch.Tensor:
        return k.to(torch.float32) * self.steps[step_index]

    @torch.no_grad()
    def build_tables(self) -> None:
        """Integer frequency tables for every step: channel m, step Δ, symbols lo..lo+255 around
        the channel's median; count = floor(p · 2^20) + 1 for the bin probability p."""
        medians = self.density.medians()
        offsets = torch.arange(TABLE_LEN) - TABLE_LEN // 2
        for s, step in enumerate(self.steps):
            lo = torch.round(medians / step).long() - TABLE_LEN // 2
            points = ((lo[:, None] + TABLE_LEN // 2 + offsets[None]) * step).float()  # [M, L]
            p = self.density.bin_probability(points[:, None, :], step)[:, 0, :]
            self.table_lo[s] = lo.to(torch.int32)
            self.table_counts[s] = (torch.floor(p.double() * 2**COUNT_BITS) + 1).to(torch.int32)
        self.tables_stale = False

    def table_bits(self, k: torch.Tensor, step_index: int) -> torch.Tensor:
        """Ideal code length in bits of symbols `[N, M, h, w]` under the stored tables, `[N]`."""
        counts = self.table_counts[step_index].double()  # [M, L]
        logp = torch.log2(counts) - torch.log2(counts.sum(1, keepdim=True))
        idx = (k - self.table_lo[step_index].long()[None, :, None, None]).flatten(2)  # [N, M, hw]
        gathered = torch.gather(logp[None].expand(len(k), -1, -1), 2, idx)
        return -gathered.sum((1, 2))

    # -- training -----------------------------------------------------------------------------
    def loss(self, batch: Batch, step: int, generator=None) -> dict:
        x = batch.x
        y = self.analysis(x)
        y_noisy = y + torch.rand(y.shape, generator=generator) - 0.5
        x_hat = self.synthesis(y_noisy)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        rate = -torch.log2(self.density.likelihood(y_noisy)).sum() / pixels
        mse = (x_hat - x).pow(2).mean()
        return {"mse": mse, "bpp": rate, "loss": self.args["lmbda"] * 255**2 * mse + rate}

    def train_step(self, batch: Batch, step: int, optimizers, generator=None, grad_clip=None) -> dict:
        self.tables_stale = True
        return super().train_step(batch, step, optimizers, generator, grad_clip)

    @torch.inference_mode()
    def evaluate(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Base metrics of the quantised reconstruction at Δ = 1, plus "bpp": the mean ideal code
        length under the stored tables (the coded bytes add the header and the coder's slack).
        After training steps the tables are rebuilt first, so the last evaluation before a
        checkpoint is saved fixes the tables that travel with it."""
        if self.tables_stale:
            self.build_tables()
        metrics = super().evaluate(x, batch_size)
        bits = sum(float(self.table_bits(self.quantise(self.analysis(c), self.default_step),
                                         self.default_step).sum()) for c in x.split(batch_size))
        metrics["bpp"] = bits / (len(x) * x.shape[2] * x.shape[3])
        return metrics


def _analysis(c: int, width: int, channels: int, stages: int) -> nn.Sequential:
    layers, c_in = [], c
    for i in range(stages):
        c_out = channels if i == stages - 1 else width
        layers.append(nn.Conv2d(c_in, c_out, 5, stride=2, padding=2))
        if i < stages - 1:
            layers.append(GDN(c_out))
        c_in = c_out
    return nn.Sequential(*layers)


def _synthesis(c: int, width: int, channels: int, stages: int) -> nn.Sequential:
    layers, c_in = [], channels
    for i in range(stages):
        c_out = c if i == stages - 1 else width
        layers.append(nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1))
        if i < stages - 1:
            layers.append(GDN(c_out, inverse=True))
        c_in = c_out
    return nn.Sequential(*layers)


psnr = losses.psnr
