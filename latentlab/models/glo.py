"""GLO, Generative Latent Optimization (Bojanowski, Joulin, Lopez-Paz & Szlam 2018, "Optimizing
the Latent Space of Generative Networks", ICML).

No encoder: a decoder G and one free code z_i per training image are learned together,
min_{G, z} Σ_i loss(G(z_i), x_i), with every z_i kept on the unit sphere (projected after each
step). The loss is the paper's Laplacian-pyramid L1 plus an L2 term. Codes start from the
training images' whitened PCA projections (the paper's PCA initialisation), so training begins
from a meaningful layout instead of noise.

The code table `codes` `[n_codes, d]` is row-aligned with the training split: the loop's
`Batch.index` picks the rows of a batch. Encoding any other image is an optimisation
(`latentlab.latent.optimise`), so `slow_encode` is True. It starts from the best-matching of
`init_candidates` table entries. `decode` normalises its input, so any latent operation
(lerp, an attribute edit) is read on the sphere the decoder was trained on. GLO has no prior of
its own. Following the paper, `sample` draws from a full-covariance Gaussian fitted to the
training codes (`prior = "fitted"`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.errors import ConfigError, DivergedError
from latentlab.latent.optimise import encode_by_optimisation
from latentlab.models.base import Batch, LatentModel
from latentlab.models.blocks import build_decoder

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels of `[N, C, H, W]`, finest first, then the low-pass residual (Burt &
    Adelson 1983): blur with a 5×5 binomial kernel, keep the difference, halve the side.
    Stops early once a side would drop below 4 pixels."""
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
    out, current = [], x
    for _ in range(levels):
        if min(current.shape[-2:]) < 8:
            break
        low = F.conv2d(F.pad(current, (2, 2, 2, 2), mode="replicate"), kernel, groups=x.shape[1])
        out.append(current - low)
        current = F.avg_pool2d(low, 2, ceil_mode=True)
    return out + [current]


def lap_l1(x_hat: torch.Tensor, x: torch.Tensor, levels: int) -> torch.Tensor:
    """Laplacian-pyramid L1 per image `[N]`: Σ_j mean |L^j(x̂) - L^j(x)|. The paper weights level
    j's summed L1 by 2^(2j); dividing by the finest level's pixel count gives these means."""
    pairs = zip(laplacian_pyramid(x_hat, levels), laplacian_pyramid(x, levels))
    return sum((a - b).abs().flatten(1).mean(1) for a, b in pairs)


class GLO(LatentModel):
    """Decoder + a code per training image on the unit sphere; encode = optimisation."""

    family = "glo"
    prior = "fitted"  # a Gaussian fitted to the training codes
    slow_encode = True
    per_image_codes = True  # Batch.index picks codes: a streamed dataset (fresh rows) cannot train it

    def __init__(self, image_shape, latent_dim: int, n_codes: int, arch: str = "conv",
                 width: int = 32, levels: int = 3, lap_weight: float = 1.0, l2_weight: float = 1.0,
                 code_lr_scale: float = 1.0, encode_steps: int = 100, encode_lr: float = 0.05,
                 init_candidates: int = 256, eval_images: int = 200):
        super().__init__(image_shape, latent_dim)
        _check(latent_dim >= 2, f"latent_dim must be >= 2 for codes on a sphere, got {latent_dim}")
        _check(n_codes >= 1, f"n_codes must be the training split's size (>= 1), got {n_codes}")
        _check(arch in ("conv", "mlp") and width >= 1, f"bad arch/width: {arch!r}, {width}")
        _check(levels >= 0 and lap_weight >= 0 and l2_weight >= 0 and lap_weight + l2_weight > 0,
               "need levels >= 0 and non-negative loss weights, not both zero")
        _check(code_lr_scale > 0 and encode_lr > 0, "code_lr_scale and encode_lr must be > 0")
        _check(encode_steps >= 0 and init_candidates >= 1 and eval_images >= 1,
               "need encode_steps >= 0, init_candidates >= 1, eval_images >= 1")
        self.args = dict(image_shape=list(self.image_shape), latent_dim=int(latent_dim),
                         n_codes=int(n_codes), arch=arch, width=int(width), levels=int(levels),
                         lap_weight=float(lap_weight), l2_weight=float(l2_weight),
                         code_lr_scale=float(code_lr_scale), encode_steps=int(encode_steps),
                         encode_lr=float(encode_lr), init_candidates=int(init_candidates),
                         eval_images=int(eval_images))
        c, h, _ = self.image_shape
        self.decoder = build_decoder(arch, c, h, latent_dim, width)
        self.codes = nn.Parameter(F.normalize(torch.randn(n_codes, latent_dim), dim=1))

    def model_args(self) -> dict:
        return dict(self.args)

    # -- the surface ----------------------------------------------------------------------------
    def project_codes(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=1, eps=1e-8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes `[N, d]` (any norm: only the direction is read) -> images `[N, C, H, W]`."""
        return torch.sigmoid(self.decoder(self.project_codes(z)))

    def encode(self, x: torch.Tensor, progress=None, should_stop=None) -> torch.Tensor:
        """Fit unit codes `[N, d]` to images `[N, C, H, W]` by `encode_steps` Adam steps on the
        training loss, starting from `init_codes`. Slow: see `progress`/`should_stop` in
        `latentlab.latent.optimise.encode_by_optimisation`."""
        return encode_by_optimisation(self.decode, x, self.init_codes(x), steps=self.args["encode_steps"],
                                      lr=self.args["encode_lr"], loss=self._fit_loss,
                                      project=self.project_codes, progress=progress,
                                      should_stop=should_stop)

    @torch.no_grad()
    def init_codes(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """For each image, the table code (of `init_candidates` evenly spaced rows) whose
        decoding is closest on the observed pixels `[N, d]`."""
        with torch.inference_mode(False):
            stride = max(1, len(self.codes) // self.args["init_candidates"])
            cand = self.codes[::stride][: self.args["init_candidates"]].detach().clone()
            images = self.decode(cand).flatten(1)  # [K, P]
            x = x.detach().clone()
            obs = torch.ones_like(x[:, :1]) if mask is None else (~mask.bool()).to(x.dtype)
            obs = obs.expand_as(x).flatten(1)  # [N, P]
            xo = x.flatten(1) * obs
            dist = (xo * x.flatten(1)).sum(1, keepdim=True) - 2 * xo @ images.T + obs @ (images**2).T
            return cand[dist.argmin(1)].clone()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode draws from N(mean, cov) of the training codes (Bojanowski et al. 2018, §4)."""
        codes = self.codes.detach().double()
        mean = codes.mean(0)
        cov = torch.cov(codes.T) + 1e-6 * torch.eye(self.latent_dim, dtype=torch.float64)
        eps = torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float64)
        z = mean + eps @ torch.linalg.cholesky(cov).T
        return self.decode(z.float())

    # -- training -------------------------------------------------------------------------------
    def recon_terms(self, x_hat: torch.Tensor, x: torch.Tensor) -> dict:
        """Per-image Laplacian-pyramid L1 and mean squared error, each `[N]`."""
        return {"lap_l1": lap_l1(x_hat, x, self.args["levels"]),
                "l2": (x_hat - x).pow(2).flatten(1).mean(1)}

    def _fit_loss(self, x_hat, x, observed) -> torch.Tensor:
        terms = self.recon_terms(x_hat * observed, x * observed)
        return self.args["lap_weight"] * terms["lap_l1"] + self.args["l2_weight"] * terms["l2"]

    def prepare_training(self, x_train: torch.Tensor, seed: int = 0) -> None:
        """Check the table matches the training split and start it from whitened PCA codes."""
        if len(x_train) != len(self.codes):
            raise ConfigError(f"GLO n_codes is {len(self.codes)} but the training split has "
                              f"{len(x_train)} images: set model.args.n_codes to {len(x_train)}")
        flat = x_train.flatten(1)
        centred = flat - flat.mean(0)
        torch.manual_seed(seed)
        u, s, _ = torch.svd_lowrank(centred, q=min(self.latent_dim + 10, *centred.shape), niter=4)
        with torch.no_grad():
            self.codes.copy_(self.project_codes(u[:, : self.latent_dim] * math.sqrt(len(flat))))

    def loss(self, batch: Batch, step: int, generator=None) -> dict:
        x_hat = self.decode(self.codes[batch.index])
        terms = {k: v.mean() for k, v in self.recon_terms(x_hat, batch.x).items()}
        terms["loss"] = self.args["lap_weight"] * terms["lap_l1"] + self.args["l2_weight"] * terms["l2"]
        return terms

    def make_optimizers(self, lr: float, weight_decay: float) -> list[torch.optim.Optimizer]:
        """Decoder and code table get separate Adams: weight decay is for the decoder only."""
        return [torch.optim.AdamW(self.decoder.parameters(), lr=lr, weight_decay=weight_decay),
                torch.optim.Adam([self.codes], lr=lr * self.args["code_lr_scale"])]

    def train_step(self, batch: Batch, step: int, optimizers, generator=None, grad_clip=None) -> dict:
        """One joint step on the decoder and the batch's codes, then codes back onto the sphere."""
        dec_opt, code_opt = optimizers
        # the loop sets every group to its scheduled rate; the codes follow at code_lr_scale × it
        code_opt.param_groups[0]["lr"] = dec_opt.param_groups[0]["lr"] * self.args["code_lr_scale"]
        terms = self.loss(batch, step, generator)
        if not torch.isfinite(terms["loss"]):
            raise DivergedError(f"non-finite loss {terms['loss'].item()} at step {step}")
        dec_opt.zero_grad(set_to_none=True)
        code_opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        norm = torch.nn.utils.clip_grad_norm_(self.decoder.parameters(), grad_clip or math.inf)
        if not torch.isfinite(norm):
            raise DivergedError(f"non-finite gradient norm at step {step}")
        dec_opt.step()
        code_opt.step()
        with torch.no_grad():  # Adam's momentum moves rows outside the batch too: project them all
            self.codes.copy_(self.project_codes(self.codes))
        return {k: float(v.detach()) for k, v in terms.items()}

    @torch.inference_mode()
    def evaluate(self, x: torch.Tensor, batch_size: int = 500) -> dict:
        """Reconstruction metrics on `eval_images` evenly spaced images of `x` (each encode is an
        optimisation); `eval_images` in the result says how many were used."""
        idx = torch.linspace(0, len(x) - 1, min(len(x), self.args["eval_images"])).round().long()
        metrics = super().evaluate(x[idx], batch_size)
        metrics["eval_images"] = len(idx)
        return metrics


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
