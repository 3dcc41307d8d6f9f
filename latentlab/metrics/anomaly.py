"""Anomaly scores from an autoencoder, and the one-class evaluation protocol.

Two families of score, higher = more anomalous: how badly an image is reconstructed
(reconstruction-error detection, e.g. Sakurada & Yairi 2014; An & Cho 2015; the relative error
||x - x̂|| / ||x|| of Zong et al. 2018, "Deep Autoencoding Gaussian Mixture Model", which does not
reward an image for having little ink), and how unlikely its code is under the training codes (a
Gaussian with Ledoit-Wolf shrinkage, Ledoit & Wolf 2004, or the distance to the k nearest
training codes). Scores on different scales combine after standardising each on the normal
training images (`standardise`). The one-class protocol (Ruff et al. 2018, "Deep
One-Class Classification") trains on one class and reports AUROC with that class as normal and
every other class as anomalous.

Shapes: images `[N, C, H, W]` in [0, 1] (torch or numpy); codes `[N, d]`; scores numpy `[N]`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.neighbors import NearestNeighbors

from latentlab.errors import ConfigError

_EPS = 1e-6  # clamps reconstructions away from 0 and 1 so BCE stays finite


def _images(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x).detach().cpu().double()
    if t.ndim != 4:
        raise ConfigError(f"{name} must be images [N, C, H, W], got shape {list(t.shape)}")
    return t


def _image_pair(x, x_hat) -> tuple[torch.Tensor, torch.Tensor]:
    x, x_hat = _images(x, "x"), _images(x_hat, "x_hat")
    if x.shape != x_hat.shape:
        raise ConfigError(f"x and x_hat differ in shape: {list(x.shape)} vs {list(x_hat.shape)}")
    return x, x_hat


def reconstruction_scores(x, x_hat, reduce: str = "mse") -> np.ndarray:
    """Per-image reconstruction error `[N]` of x_hat (probabilities in [0, 1]) against x.

    "mse": mean squared error per pixel. "bce": Bernoulli negative log-likelihood summed over
    pixels, in nats per image (the training loss's convention). "relative": ||x - x̂||₂ / ||x||₂
    (Zong et al. 2018): an image with little ink (a 1 beside 8s) is not scored normal for
    having few pixels to miss; an all-black image scores by its error alone.
    """
    x, x_hat = _image_pair(x, x_hat)
    if reduce == "mse":
        per_pixel = (x_hat - x) ** 2
        return per_pixel.flatten(1).mean(1).numpy()
    if reduce == "relative":
        err = (x_hat - x).flatten(1).norm(dim=1)
        return (err / x.flatten(1).norm(dim=1).clamp_min(_EPS)).numpy()
    if reduce == "bce":
        per_pixel = torch.nn.functional.binary_cross_entropy(
            x_hat.clamp(_EPS, 1 - _EPS), x, reduction="none")
        return per_pixel.flatten(1).sum(1).numpy()
    raise ConfigError(f"unknown reduce {reduce!r}: expected 'mse', 'bce' or 'relative'")


def pixel_error_map(x, x_hat) -> np.ndarray:
    """Squared error per pixel, mean over channels: `[N, C, H, W]` x2 -> `[N, H, W]`."""
    x, x_hat = _image_pair(x, x_hat)
    return ((x_hat - x) ** 2).mean(1).numpy()


def _codes(z, name: str) -> np.ndarray:
    arr = np.asarray(torch.as_tensor(z).detach().cpu().double())
    if arr.ndim != 2 or not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be finite codes [N, d], got shape {list(arr.shape)}")
    return arr


def latent_density_scores(z_train, z, method: str = "gaussian", k: int = 5) -> np.ndarray:
    """Anomaly score `[N]` of codes z `[N, d]` relative to training codes z_train `[M, d]`.

    "gaussian": negative log density under N(mean, Σ) fitted to z_train, Σ the Ledoit-Wolf
    shrinkage estimate (well conditioned even when M is small or codes are collapsed).
    "knn": mean Euclidean distance to the k nearest training codes (a point of z_train counts
    itself as a neighbour at distance 0).
    """
    z_train, z = _codes(z_train, "z_train"), _codes(z, "z")
    if z_train.shape[1] != z.shape[1]:
        raise ConfigError(f"z has {z.shape[1]} dims but z_train has {z_train.shape[1]}")
    if method == "gaussian":
        if len(z_train) < 2:
            raise ConfigError("a Gaussian needs at least 2 training codes")
        lw = LedoitWolf().fit(z_train)
        _, logdet = np.linalg.slogdet(lw.covariance_)
        return 0.5 * (lw.mahalanobis(z) + logdet + z.shape[1] * np.log(2 * np.pi))
    if method == "knn":
        if not 1 <= k <= len(z_train):
            raise ConfigError(f"k must be in [1, {len(z_train)}], got {k}")
        distances, _ = NearestNeighbors(n_neighbors=k).fit(z_train).kneighbors(z)
        return distances.mean(axis=1)
    raise ConfigError(f"unknown method {method!r}: expected 'gaussian' or 'knn'")


def auroc(scores, is_anomaly) -> float:
    """Area under the ROC curve of scores `[N]` (higher = more anomalous) against labels `[N]`.

    1 = every anomaly scores above every normal sample, 0.5 = chance, 0 = exactly reversed.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(is_anomaly).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ConfigError(f"{len(scores)} scores but {len(labels)} labels")
    if not np.isfinite(scores).all():
        raise ConfigError("scores contain NaN or infinity")
    n_anomalous = int(labels.sum())
    if n_anomalous in (0, len(labels)):
        raise ConfigError(f"AUROC needs both classes: got {len(labels) - n_anomalous} normal and "
                          f"{n_anomalous} anomalous samples")
    return float(roc_auc_score(labels, scores))


def roc_curve(scores, is_anomaly) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points: false-positive rate `[T]`, true-positive rate `[T]` and the score threshold
    `[T]` of each (flagging scores >= threshold), from (0, 0) to (1, 1); its area is `auroc`."""
    auroc(scores, is_anomaly)  # the same checks and errors
    fpr, tpr, thresholds = sk_roc_curve(np.asarray(is_anomaly).ravel().astype(bool),
                                        np.asarray(scores, dtype=np.float64).ravel())
    return fpr, tpr, thresholds


def percentile_of(score: float, reference) -> float:
    """Percent of reference scores `[M]` (e.g. normal test images) at or below `score`:
    99 means the image is more anomalous than 99% of normal images."""
    reference = np.asarray(reference, dtype=np.float64).ravel()
    if len(reference) == 0 or not np.isfinite(reference).all() or not np.isfinite(score):
        raise ConfigError("percentile_of needs a finite score and finite reference scores")
    return float(100.0 * np.mean(reference <= score))


def standardise(scores, reference) -> np.ndarray:
    """(scores - mean) / std of the reference scores `[M]` (the normal training images), so
    scores on different scales (an error, a log density) can be summed."""
    scores = np.asarray(scores, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64).ravel()
    if len(reference) < 2:
        raise ConfigError("standardising needs at least 2 reference scores")
    return (scores - reference.mean()) / max(float(reference.std()), 1e-12)


def _select(x, mask: np.ndarray):
    """Rows of an array or tensor where mask `[N]` is True."""
    return x[torch.as_tensor(mask)] if isinstance(x, torch.Tensor) else np.asarray(x)[mask]


def one_class_protocol(x_train, y_train, x_test, y_test, normal_class,
                       fit_model: Callable, score_fn: Callable) -> dict:
    """One-class anomaly detection AUROC for one normal class.

    `fit_model(x_normal)` gets only the training images whose label is `normal_class` and
    returns a fitted model; `score_fn(model, x_test)` returns anomaly scores `[N_test]`. Test
    images of `normal_class` are negatives, all others positives. The caller supplies both
    callables, so any model (an autoencoder, PCA, a density on codes) fits the protocol.
    """
    y_train, y_test = np.asarray(y_train).ravel(), np.asarray(y_test).ravel()
    if len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise ConfigError("labels and images differ in length")
    normal = y_train == normal_class
    if not normal.any():
        raise ConfigError(f"no training images of normal class {normal_class!r}")
    model = fit_model(_select(x_train, normal))
    scores = np.asarray(torch.as_tensor(score_fn(model, x_test)).detach().cpu().double())
    is_anomaly = y_test != normal_class
    plain_class = normal_class.item() if isinstance(normal_class, np.generic) else normal_class
    return {"auroc": auroc(scores, is_anomaly), "normal_class": plain_class,
            "n_train": int(normal.sum()), "n_test_normal": int((~is_anomaly).sum()),
            "n_test_anomalous": int(is_anomaly.sum())}
