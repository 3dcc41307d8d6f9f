"""Few-label linear probes: how much a frozen representation helps a classifier with few labels.

The linear evaluation protocol of representation learning (e.g. Kingma et al. 2014,
"Semi-supervised Learning with Deep Generative Models", M1 + classifier; Chen et al. 2020,
SimCLR, linear probes on frozen features): a classifier on standardised codes, trained on a small
labelled subset and scored on the whole test set. Comparing pixels, PCA codes and an
autoencoder's codes at 1 ... 1000 labels per class shows what the unsupervised stage bought.

Probes (one is used for every representation of a comparison): "logistic", a standardised
logistic regression (the linear probe); "knn", k nearest labelled neighbours (k = 5, or the
rarest class's label count if smaller; Wu et al. 2018 use a kNN probe for the same purpose); "spreading",
label spreading over a kNN graph of all training codes (Zhou et al. 2004), which also uses the
unlabelled codes, so a representation whose classes form clusters scores well from few labels.

Shapes: features `[N, d]` (numpy or torch; `[N, C, H, W]` pixels are flattened, the baseline),
labels `[N]` integers or strings.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading

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


PROBES = ("logistic", "knn", "spreading")


def _fit_predict(probe: str, z_train: np.ndarray, idx: np.ndarray, y_lab, z_test) -> np.ndarray:
    """Predictions `[M]` of a probe trained on the rows idx of z_train (standardised features)."""
    if probe == "logistic":
        return LogisticRegression(max_iter=1000).fit(z_train[idx], y_lab).predict(z_test)
    if probe == "knn":  # k at most the rarest class's label count: 1 label each -> 1-NN, no ties
        k = min(5, int(np.unique(y_lab, return_counts=True)[1].min()))
        return KNeighborsClassifier(k).fit(z_train[idx], y_lab).predict(z_test)
    classes, coded = np.unique(y_lab, return_inverse=True)
    target = np.full(len(z_train), -1)
    target[idx] = coded
    # With 1-2 labels per class some graph components hold no label: scikit-learn divides 0 by 0
    # for them and predicts the first class, which is what such a point gets (a guess).
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100).fit(z_train, target)
        return classes[spread.predict(z_test)]


def probe_accuracy(z_train, y_train, z_test, y_test, n_labels: int, seed: int = 0,
                   probe: str = "logistic") -> float:
    """Test accuracy of a probe (`PROBES`) trained on `n_labels` class-balanced random training
    points (`balanced_label_subset`, seeded). Features are standardised with the mean and std
    of all of z_train: unlabelled codes are free, and 10 labelled points would give noisy
    scales."""
    if probe not in PROBES:
        raise ConfigError(f"unknown probe {probe!r}; known: {', '.join(PROBES)}")
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
    predicted = _fit_predict(probe, scaler.transform(z_train), idx, y_train[idx],
                             scaler.transform(z_test))
    return float(np.mean(predicted == y_test))


def learning_curve(features_by_name: dict, y_train, y_test,
                   label_counts=(10, 100, 1000), seeds=(0, 1, 2), probe: str = "logistic",
                   per_class: bool = False, progress=None) -> dict:
    """Probe accuracy against label count for several representations, the same probe for all.

    features_by_name: name -> (z_train `[N, d]`, z_test `[M, d]`). label_counts are labels in
    total, or per class with `per_class` (then a count above the smallest class's size is
    skipped, so every point has exactly that many labels of each class). Returns
    name -> {count: (mean, std) over seeds}. `progress(fraction)` is called after each point.
    """
    if not seeds:
        raise ConfigError("learning_curve needs at least one seed")
    y_train = np.asarray(y_train).ravel()
    _, sizes = np.unique(y_train, return_counts=True)
    counts = [int(n) for n in label_counts
              if (n <= sizes.min() if per_class else n <= len(y_train))]
    curves, done = {}, 0
    for name, (z_train, z_test) in features_by_name.items():
        curve = {}
        for n in counts:
            total = n * len(sizes) if per_class else n
            accs = [probe_accuracy(z_train, y_train, z_test, y_test, total, s, probe) for s in seeds]
            curve[n] = (float(np.mean(accs)), float(np.std(accs)))
            done += 1
            if progress:
                progress(done / (len(counts) * len(features_by_name)))
        curves[name] = curve
    return curves


def probe_target(labels_train: dict, labels_test: dict, name: str,
                 categories: dict | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Classes (int) of the train `[N]` and test `[M]` images, and their names, for probing any
    label: categorical labels as they are; other numeric labels split at the training median
    (`latentlab.latent.labels` decides which is which), so a face's skin tone becomes
    "skin_tone ≤ 0.43" vs "> 0.43"."""
    from latentlab.latent.labels import is_categorical, label_text

    if name not in labels_train or name not in labels_test:
        raise ConfigError(f"unknown label {name!r}; known: {', '.join(labels_train)}")
    train, test = np.asarray(labels_train[name]), np.asarray(labels_test[name])
    categories = categories or {}
    if is_categorical(name, train, categories):
        uniq = np.unique(np.r_[train, test])
        names = label_text(name, uniq, categories)
        return np.searchsorted(uniq, train), np.searchsorted(uniq, test), names
    median = float(np.median(train))
    names = [f"{name} ≤ {median:.3g}", f"{name} > {median:.3g}"]
    return (train > median).astype(np.int64), (test > median).astype(np.int64), names
