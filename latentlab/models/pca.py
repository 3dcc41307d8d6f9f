"""PCA as the linear autoencoder: encode = projection onto the top-d principal axes, decode =
the affine map back. With squared error, the optimal linear autoencoder spans the same subspace
(Baldi & Hornik 1989), so PCA is the baseline every nonlinear model should beat at equal d.

Fitted in closed form by SVD of the centred training images; `sample` draws from the Gaussian
the principal axes imply (probabilistic PCA without the isotropic noise, Tipping & Bishop 1999).
"""

from __future__ import annotations

import torch

from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel

_FULL_SVD_LIMIT = 1024  # above this min(N, D) a randomised SVD is accurate and much faster
# (4,000 faces x 12,288 pixels: full SVD in float64 ~100 s, randomised 4 s on 2 cores)


class PCA(LatentModel):
    family = "pca"
    closed_form = True
    prior = "pca"

    def __init__(self, image_shape, latent_dim: int):
        super().__init__(image_shape, latent_dim)
        dim = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        if not 1 <= latent_dim <= dim:
            raise ConfigError(f"latent_dim must be in [1, {dim}], got {latent_dim}")
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("components", torch.zeros(latent_dim, dim))
        self.register_buffer("explained_variance", torch.zeros(latent_dim))

    def model_args(self) -> dict:
        return {"image_shape": list(self.image_shape), "latent_dim": self.latent_dim}

    @torch.no_grad()
    def fit(self, x: torch.Tensor, seed: int = 0) -> PCA:
        """Fit on images `[N, C, H, W]`; components ordered by explained variance, sign fixed so
        the largest-magnitude loading of each is positive (as scikit-learn's svd_flip)."""
        flat = x.flatten(1).double()
        mean = flat.mean(0)
        centred = flat - mean
        if min(centred.shape) <= _FULL_SVD_LIMIT:
            _, s, vh = torch.linalg.svd(centred, full_matrices=False)
        else:
            torch.manual_seed(seed)
            _, s, v = torch.svd_lowrank(centred, q=self.latent_dim + 20, niter=8)
            vh = v.T
        vh, s = vh[: self.latent_dim], s[: self.latent_dim]
        signs = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))
        self.mean.copy_(mean.float())
        self.components.copy_((vh * signs).float())
        self.explained_variance.copy_((s**2 / max(len(flat) - 1, 1)).float())
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        flat = z @ self.components + self.mean
        return flat.clamp(0, 1).view(-1, *self.image_shape)

    def sample(self, n: int, generator=None) -> torch.Tensor:
        eps = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(eps * self.explained_variance.sqrt())
