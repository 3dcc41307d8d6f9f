"""Conditional synthesis with a frozen decoder: a small map from labels to codes, fitted on the
(labels, codes) of the training split, whose samples the unchanged decoder turns into images.

This follows the idea of Engel, Hoffman & Roberts 2018 ("Latent Constraints: Learning to Generate
Conditionally from Unconditional Generative Models"): keep the pretrained autoencoder fixed and
learn only where in its code space each condition lives. Their map is a conditional GAN in code
space; ours is the simplest map that works at this scale, a class-conditional Gaussian (for
several labels, the codes of the training images matching every requested value), as in the
Gaussian class-conditionals of Gaussian discriminant analysis. `temperature` < 1 shrinks samples
towards the condition's mean, trading variety for typicality (the "temperature" of Kingma &
Dhariwal 2018, Glow; the truncation trick of Brock et al. 2019).

For unconditional samples of models whose prior samples are poor (the faces VAE's codes fill
only part of N(0, I)), `CodeDensity` fits a Gaussian mixture to the training codes (the ex-post
density estimation of Ghosh et al. 2020, "From Variational to Deterministic Autoencoders"), which
also gives a plain AE something to sample from.

Shapes: codes `[N, d]` numpy float; labels name -> `[N]`; images `[n, C, H, W]` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.mixture import GaussianMixture

from latentlab.errors import ConfigError

MIN_MATCHES = 10  # codes a condition needs before its Gaussian is worth sampling


def _codes(z) -> np.ndarray:
    arr = np.asarray(torch.as_tensor(z).detach().cpu().double())
    if arr.ndim != 2 or len(arr) < 2 or not np.isfinite(arr).all():
        raise ConfigError(f"codes must be finite [N, d] with N >= 2, got shape {list(arr.shape)}")
    return arr


def _check_temperature(t: float) -> float:
    if not 0 <= t <= 2:
        raise ConfigError(f"temperature must be in [0, 2], got {t}")
    return float(t)


class ConditionalGaussian:
    """p(z | labels) as a Gaussian per condition, fitted on training codes and their labels.

    fit(z `[N, d]`, labels {name: `[N]`}); sample({name: value, ...}, n) -> codes `[n, d]`.
    A condition is any subset of the labels with one value each; its Gaussian (mean, Ledoit-Wolf
    covariance) is fitted on the codes of the training images that match all of them, once.
    """

    def __init__(self, temperature: float = 1.0, min_matches: int = MIN_MATCHES):
        self.temperature = _check_temperature(temperature)
        self.min_matches = int(min_matches)

    def fit(self, z, labels: dict) -> ConditionalGaussian:
        self.z_ = _codes(z)
        self.labels_ = {}
        for name, values in labels.items():
            values = np.asarray(values).ravel()
            if len(values) != len(self.z_):
                raise ConfigError(f"label {name!r} has {len(values)} values for {len(self.z_)} codes")
            self.labels_[name] = values
        if not self.labels_:
            raise ConfigError("fit needs at least one label")
        self.gaussians_: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        return self

    def matches(self, condition: dict) -> np.ndarray:
        """Boolean mask `[N]` of the training codes that satisfy every requested value."""
        if not hasattr(self, "z_"):
            raise ConfigError("call fit(z, labels) before sampling")
        if not condition:
            raise ConfigError("a condition needs at least one label value")
        mask = np.ones(len(self.z_), bool)
        for name, value in condition.items():
            if name not in self.labels_:
                raise ConfigError(f"unknown label {name!r}; fitted on {', '.join(self.labels_)}")
            mask &= np.isclose(self.labels_[name].astype(float), float(value))
        return mask

    def gaussian(self, condition: dict) -> tuple[np.ndarray, np.ndarray]:
        """(mean `[d]`, Cholesky factor `[d, d]` of the covariance) for a condition."""
        if not hasattr(self, "gaussians_"):
            raise ConfigError("call fit(z, labels) before sampling")
        key = tuple(sorted((k, float(v)) for k, v in condition.items()))
        if key not in self.gaussians_:
            mask = self.matches(condition)
            if mask.sum() < self.min_matches:
                raise ConfigError(f"only {int(mask.sum())} training images match {dict(key)}: "
                                  f"a condition needs {self.min_matches}; ask for fewer labels")
            lw = LedoitWolf().fit(self.z_[mask])
            self.gaussians_[key] = (lw.location_, np.linalg.cholesky(lw.covariance_))
        return self.gaussians_[key]

    def sample(self, condition: dict, n: int, seed: int = 0) -> np.ndarray:
        """n codes `[n, d]` drawn from the condition's Gaussian at `temperature`, seeded."""
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        mean, chol = self.gaussian(condition)
        eps = np.random.default_rng(seed).standard_normal((n, len(mean)))
        return mean + self.temperature * eps @ chol.T


class CodeDensity:
    """A Gaussian mixture over training codes, to sample codes the decoder knows (Ghosh et al.
    2020). fit(z `[N, d]`); sample(n) -> codes `[n, d]`; score(z) -> log density `[n]`."""

    def __init__(self, n_components: int = 10, temperature: float = 1.0, seed: int = 0):
        if n_components < 1:
            raise ConfigError(f"n_components must be >= 1, got {n_components}")
        self.n_components = int(n_components)
        self.temperature = _check_temperature(temperature)
        self.seed = seed

    def fit(self, z) -> CodeDensity:
        z = _codes(z)
        k = min(self.n_components, len(z))
        self.mixture_ = GaussianMixture(k, covariance_type="full", reg_covar=1e-4,
                                        random_state=self.seed).fit(z)
        return self

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        if not hasattr(self, "mixture_"):
            raise ConfigError("call fit(z) before sampling")
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        gm = self.mixture_
        comp = rng.choice(len(gm.weights_), size=n, p=gm.weights_ / gm.weights_.sum())
        eps = rng.standard_normal((n, gm.means_.shape[1]))
        chol = np.linalg.cholesky(gm.covariances_)  # [k, d, d]
        return gm.means_[comp] + self.temperature * np.einsum("nij,nj->ni", chol[comp], eps)

    def score(self, z) -> np.ndarray:
        return self.mixture_.score_samples(_codes(z))


@torch.inference_mode()
def decode_codes(model, z, batch_size: int = 256) -> torch.Tensor:
    """The frozen decoder's images `[n, C, H, W]` of codes `[n, d]`."""
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    if z.ndim != 2 or z.shape[1] != model.latent_dim:
        raise ConfigError(f"codes must be [n, {model.latent_dim}], got {list(z.shape)}")
    return torch.cat([model.decode(chunk) for chunk in z.split(batch_size)])


def prior_codes(model, n: int, seed: int = 0) -> torch.Tensor:
    """Images `[n, C, H, W]` sampled from the model's own prior (VAEs, PCA), seeded."""
    if not model.has_prior:
        raise ConfigError(f"a {model.label} has no prior to sample from; use a fitted code density")
    with torch.inference_mode():
        return model.sample(n, generator=torch.Generator().manual_seed(seed))


def agreement(predict: Callable, model, sampler: ConditionalGaussian, label: str, values,
              n: int = 100, seed: int = 0) -> dict:
    """How often a classifier agrees with the requested class: for each value of `label`,
    decode n sampled codes and count predict(images `[n, C, H, W]`) -> `[n]` == value.
    Returns {"per_value": {value: rate}, "mean": mean rate, "n": n}."""
    per_value = {}
    for i, value in enumerate(values):
        images = decode_codes(model, sampler.sample({label: value}, n, seed + i))
        predicted = np.asarray(predict(images)).ravel()
        per_value[value] = float(np.mean(predicted.astype(float) == float(value)))
    return {"per_value": per_value, "mean": float(np.mean(list(per_value.values()))), "n": n}
