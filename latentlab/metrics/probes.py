"""Few-label linear probes: how much a frozen representation helps a classifier with few labels.

The linear evaluation protocol of representation learning (e.g. Kingma et al. 2014,
"Semi-supervised Learning with Deep Generative Models", M1 + classifier; Chen et al. 2020,
SimCLR, linear probes on frozen features): a logistic regression on standardised codes, trained
on a small labelled subset and scored on the whole test set. Comparing pixels, PCA codes and an
autoencoder's codes at 10 / 100 / 1000 labels shows what the unsupervised stage bought.

Shapes: features `[N, d]` (numpy or torch; `[N, C, H, W]` pixels are flattened, the baseline),
labels `[N]` integers or strings.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from latentlab.errors import ConfigError


def _features(z, name: str) -> np.ndarray:
    arr = np.asarray(torch.as_tensor(z).detach().cpu().double()).reshape(len(z), -1)
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name} contains NaN or infinity")
    return arr


def balanced_label_subset(y, n_labels: int, rng: np.random.Generator) -> np.ndarray:
    """Indices `[n_labels]` of a random subset of y `[N]` with classes as balanced as possible.

    Every class gives its r-th random member before any class gives its (r+1)-th, so classes
    differ by at most one unless a class runs out; which classes get the extra one is random.
    """
    y = np.asarray(y).ravel()
    if not 1 <= n_labels <= len(y):
        raise ConfigError(f"n_labels must be in [1, {len(y)}], got {n_labels}")
    perm = rng.permutation(len(y))
    _, inverse = np.unique(y[perm], return_inverse=True)
    rank = np.zeros(len(y), dtype=np.int64)  # position of each point within its class
    for c in range(inverse.max() + 1):
        members = np.flatnonzero(inverse == c)
        rank[members] = np.arange(len(members))
    order = np.lexsort((rng.random(len(y)), rank))
    return np.sort(perm[order[:n_labels]])


def probe_accuracy(z_train, y_train, z_test, y_test, n_labels: int, seed: int = 0) -> float:
    """Test accuracy of a logistic regression trained on `n_labels` class-balanced random
    training points (`balanced_label_subset`, seeded). Features are standardised with the mean
    and std of all of z_train: unlabelled codes are free, and 10 labelled points would give
    noisy scales."""
    z_train, z_test = _features(z_train, "z_train"), _features(z_test, "z_test")
    y_train, y_test = np.asarray(y_train).ravel(), np.asarray(y_test).ravel()
    if len(z_train) != len(y_train) or len(z_test) != len(y_test):
        raise ConfigError("features and labels differ in length")
    if z_train.shape[1] != z_test.shape[1]:
        raise ConfigError(f"train has {z_train.shape[1]} features but test {z_test.shape[1]}")
    idx = balanced_label_subset(y_train, n_labels, np.random.default_rng(seed))
    if len(np.unique(y_train[idx])) < 2:
        raise ConfigError(f"{n_labels} labels cover only one class: a probe needs two")
    scaler = StandardScaler().fit(z_train)
    clf = LogisticRegression(max_iter=1000).fit(scaler.transform(z_train[idx]), y_train[idx])
    return float(np.mean(clf.predict(scaler.transform(z_test)) == y_test))


def learning_curve(features_by_name: dict, y_train, y_test,
                   label_counts=(10, 100, 1000), seeds=(0, 1, 2)) -> dict:
    """Probe accuracy against label count for several representations.

    features_by_name: name -> (z_train `[N, d]`, z_test `[M, d]`). Returns
    name -> {n_labels: (mean, std) over seeds}. Counts above the training-set size are skipped.
    """
    if not seeds:
        raise ConfigError("learning_curve needs at least one seed")
    curves = {}
    for name, (z_train, z_test) in features_by_name.items():
        curve = {}
        for n in label_counts:
            if n > len(y_train):
                continue
            accs = [probe_accuracy(z_train, y_train, z_test, y_test, n, s) for s in seeds]
            curve[int(n)] = (float(np.mean(accs)), float(np.std(accs)))
        curves[name] = curve
    return curves
