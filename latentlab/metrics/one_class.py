"""One-class anomaly detection with a trained model: what is normal, a scorer fitted on normal
images, and the views the Anomaly page draws (score histograms, ROC curve, the most anomalous
test images beside their reconstructions and error maps, one uploaded image's percentile).

The protocol is Ruff et al. 2018 ("Deep One-Class Classification"): fit on normal training images
only, score the whole test split, report AUROC with normal test images as negatives. Scores,
higher = more anomalous (the array functions live in `latentlab.metrics.anomaly`):

- "recon": reconstruction MSE per pixel.
- "relative": ||x - x̂|| / ||x||, the relative reconstruction error of DAGMM (Zong et al. 2018).
- "latent": negative log density of the code under a Ledoit-Wolf Gaussian fitted to the normal
  training codes.
- "combined": "relative" + "latent", each standardised on the normal training images. DAGMM feeds
  the same two kinds of evidence (reconstruction features and the code) to a learned mixture;
  this is its simplest form, a sum of z-scores with nothing more to train.
- "elbo": the VAE's negative ELBO, Bernoulli reconstruction term at the posterior mean plus the
  analytic KL to the prior (deterministic, so a page shows the same number twice). Models whose
  prior is "normal" only.

Shapes: images `[N, C, H, W]` in [0, 1]; scores numpy `[N]`; error maps `[N, H, W]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from latentlab import losses
from latentlab.errors import ConfigError
from latentlab.latent.labels import label_text
from latentlab.metrics.anomaly import (
    auroc,
    latent_density_scores,
    percentile_of,
    pixel_error_map,
    reconstruction_scores,
    roc_curve,
    standardise,
)


@dataclass(frozen=True)
class Normal:
    """What counts as normal: images of `dataset` whose label `label` takes one of `values` (a
    digit class, a face attribute value), or, with `other` set and no label, the whole dataset
    against the images of another dataset. `options`: the dataset's builder options."""

    dataset: str
    label: str | None = None
    values: tuple = ()
    other: str | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if (self.label is None) == (self.other is None):
            raise ConfigError("normal data is either a label's values or a whole dataset against "
                              "another: give exactly one of label and other")
        if self.label is not None and not self.values:
            raise ConfigError(f"normal {self.label}: list at least one value")
        if self.other == self.dataset:
            raise ConfigError(f"normal {self.dataset} against itself: pick another dataset")

    @property
    def text(self) -> str:
        if self.other:
            return f"{self.dataset} (normal) against {self.other}"
        values = ", ".join(f"{v:g}" for v in self.values)
        return f"{self.dataset} with {self.label} ∈ {{{values}}}"

    def words(self, categories: dict) -> str:
        """In words, with category names: 'faces with glasses = no', 'all of mnist against faces'."""
        if self.other:
            return f"all of {self.dataset} against {self.other}"
        return f"{self.dataset} with {self.label} = {' or '.join(label_text(self.label, self.values, categories))}"

    def rows_text(self, evaluation, rows, categories: dict) -> str:
        """'#12 (digit 7), #40 (digit 2)': test images of an `Evaluation` by row, each with its
        label, or the dataset it came from when normal is a whole dataset."""
        if self.other:
            return ", ".join(f"#{i} ({self.other if evaluation.is_anomaly[i] else self.dataset})" for i in rows)
        values = evaluation.labels[self.label]
        return ", ".join(f"#{i} ({self.label} {label_text(self.label, [values[i]], categories)[0]})" for i in rows)


def normal_of(model) -> Normal | None:
    """The normal data a checkpoint was trained on: its dataset options' `keep` with one label
    (e.g. `{"digit": [3]}`), or None for a model trained on its whole dataset."""
    ds = model.info.dataset
    options = dict(ds.get("options", {}))
    keep = options.pop("keep", None)
    if not keep or len(keep) != 1:
        return None
    (label, values), = keep.items()
    return Normal(ds["name"], label, tuple(values), options=options)


@dataclass
class EvalSet:
    """Normal training images `[M, C, H, W]`; the images to score `[N, C, H, W]`, which of them
    are anomalies `[N]` and their labels (the test split's; empty against another dataset)."""

    x_normal_train: torch.Tensor
    x: torch.Tensor
    is_anomaly: np.ndarray
    labels: dict


def conform(x: torch.Tensor, shape) -> torch.Tensor:
    """Images `[N, C, H, W]` resized (area / bilinear) and converted (RGB -> grey by ITU-R 601
    luma, grey -> RGB by repeating) to `shape` (C, H, W), so another dataset can be scored."""
    c, h, w = (int(v) for v in shape)
    if x.shape[1] == 3 and c == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] == 1 and c == 3:
        x = x.expand(-1, 3, -1, -1)
    elif x.shape[1] != c:
        raise ConfigError(f"cannot convert {x.shape[1]}-channel images to {c} channels")
    if tuple(x.shape[2:]) != (h, w):
        mode = "area" if x.shape[2] >= h else "bilinear"
        x = F.interpolate(x, size=(h, w), mode=mode)
    return x.clamp(0, 1).contiguous()


def evaluation_set(normal: Normal) -> EvalSet:
    """The test split scored against `normal`, and the normal training images to fit on."""
    from latentlab.datasets import load_dataset

    data = load_dataset(normal.dataset, **normal.options)
    if normal.other is not None:
        other = load_dataset(normal.other).x_test[:len(data.x_test)]
        x = torch.cat([data.x_test, conform(other, data.shape)])
        flags = np.r_[np.zeros(len(data.x_test), bool), np.ones(len(other), bool)]
        return EvalSet(data.x_train, x, flags, {})
    if normal.label not in data.labels_train:
        raise ConfigError(f"{normal.dataset} has no label {normal.label!r}; it has "
                          f"{', '.join(data.labels_train)}")
    train_mask = np.isin(data.labels_train[normal.label], normal.values)
    is_anomaly = ~np.isin(data.labels_test[normal.label], normal.values)
    if not train_mask.any() or is_anomaly.all() or not is_anomaly.any():
        raise ConfigError(f"{normal.text}: needs normal training images and both normal and "
                          "anomalous test images")
    return EvalSet(data.x_train[torch.as_tensor(train_mask)], data.x_test, is_anomaly,
                   dict(data.labels_test))


SCORES = {
    "recon": "reconstruction MSE",
    "relative": "relative error ||x − x̂|| / ||x||",
    "latent": "latent Gaussian density",
    "combined": "relative error + latent density (standardised)",
    "elbo": "negative ELBO (VAEs)",
}
_PARTS = {"combined": ("relative", "latent")}


def available_scores(model) -> list[str]:
    """The score kinds that apply to this model (the ELBO needs a N(0, I) prior)."""
    return [k for k in SCORES if k != "elbo" or model.prior == "normal"]


@torch.inference_mode()
def _raw(model, x: torch.Tensor, kind: str, z_ref, batch_size: int = 500) -> np.ndarray:
    """One uncombined score `[N]` of images x, computed in chunks."""
    out = []
    for chunk in x.split(batch_size):
        if kind == "latent":
            out.append(latent_density_scores(z_ref, model.encode(chunk), "gaussian"))
        elif kind == "elbo":
            mu, logvar = model.encode_stats(chunk)
            nll = F.binary_cross_entropy_with_logits(model.decoder(mu), chunk, reduction="none")
            kl = losses.gaussian_kl_per_dim(mu, logvar).sum(1)
            out.append((nll.flatten(1).sum(1) + kl).double().numpy())
        else:
            out.append(reconstruction_scores(chunk, model.reconstruct(chunk),
                                             "mse" if kind == "recon" else "relative"))
    return np.concatenate(out)


class AnomalyScorer:
    """A score of one kind (`SCORES`), fitted to a model's codes of normal training images.

    fit(model, x_normal `[M, C, H, W]`) keeps at most `max_reference` of them (seeded) for the
    latent Gaussian and the standardising statistics; score(x `[N, C, H, W]`) -> `[N]`.
    """

    def __init__(self, kind: str = "combined", max_reference: int = 2000, seed: int = 0):
        if kind not in SCORES:
            raise ConfigError(f"unknown anomaly score {kind!r}; known: {', '.join(SCORES)}")
        if max_reference < 2:
            raise ConfigError(f"max_reference must be >= 2, got {max_reference}")
        self.kind, self.max_reference, self.seed = kind, max_reference, seed

    @torch.inference_mode()
    def fit(self, model, x_normal: torch.Tensor) -> AnomalyScorer:
        if self.kind not in available_scores(model):
            raise ConfigError(f"the {self.kind} score needs a VAE; {model.label} has no N(0, I) prior")
        if len(x_normal) < 2:
            raise ConfigError("fitting an anomaly score needs at least 2 normal images")
        if tuple(x_normal.shape[1:]) != model.image_shape:
            raise ConfigError(f"normal images {list(x_normal.shape[1:])} do not fit the model's "
                              f"{list(model.image_shape)}")
        if len(x_normal) > self.max_reference:
            gen = torch.Generator().manual_seed(self.seed)
            x_normal = x_normal[torch.randperm(len(x_normal), generator=gen)[:self.max_reference]]
        self.model_ = model
        self.z_ref_ = np.concatenate([model.encode(c).double().numpy() for c in x_normal.split(500)])
        self.reference_ = {p: _raw(model, x_normal, p, self.z_ref_)
                           for p in _PARTS.get(self.kind, ())}
        self.train_scores_ = self.score(x_normal)
        return self

    def score(self, x: torch.Tensor) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ConfigError("call fit(model, x_normal) before score")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.model_.image_shape:
            raise ConfigError(f"images must be [N, *{list(self.model_.image_shape)}], "
                              f"got {list(x.shape)}")
        parts = _PARTS.get(self.kind)
        if parts is None:
            return _raw(self.model_, x, self.kind, self.z_ref_)
        return sum(standardise(_raw(self.model_, x, p, self.z_ref_), self.reference_[p])
                   for p in parts)


@dataclass
class Evaluation:
    """Scores of an evaluation set: images x `[N, C, H, W]`, `is_anomaly` `[N]`, `labels` per
    image (the test split's), AUROC and the ROC curve's points."""

    kind: str
    x: torch.Tensor
    scores: np.ndarray
    is_anomaly: np.ndarray
    labels: dict = field(default_factory=dict)
    auroc: float = float("nan")
    fpr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tpr: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def normal_scores(self) -> np.ndarray:
        return self.scores[~self.is_anomaly]

    @property
    def anomaly_scores(self) -> np.ndarray:
        return self.scores[self.is_anomaly]


def evaluate(scorer: AnomalyScorer, x: torch.Tensor, is_anomaly, labels: dict | None = None) -> Evaluation:
    """Score images x `[N, C, H, W]` with a fitted scorer; AUROC and ROC against is_anomaly `[N]`."""
    is_anomaly = np.asarray(is_anomaly).ravel().astype(bool)
    if len(is_anomaly) != len(x):
        raise ConfigError(f"{len(x)} images but {len(is_anomaly)} anomaly flags")
    scores = scorer.score(x)
    fpr, tpr, _ = roc_curve(scores, is_anomaly)
    return Evaluation(scorer.kind, x, scores, is_anomaly, dict(labels or {}),
                      auroc(scores, is_anomaly), fpr, tpr)


@dataclass
class Gallery:
    """The k highest-scoring images: rows `index` `[k]` of the evaluated images, the images and
    reconstructions `[k, C, H, W]`, squared-error maps `[k, H, W]` and scores `[k]`."""

    index: np.ndarray
    images: torch.Tensor
    recons: torch.Tensor
    error_maps: np.ndarray
    scores: np.ndarray


@torch.inference_mode()
def most_anomalous(model, evaluation: Evaluation, k: int = 8, among: str = "all") -> Gallery:
    """The k most anomalous evaluated images; `among` = "all", "normal" (false alarms: normal
    images that score high) or "anomalies"."""
    masks = {"all": np.ones_like(evaluation.is_anomaly), "normal": ~evaluation.is_anomaly,
             "anomalies": evaluation.is_anomaly}
    if among not in masks:
        raise ConfigError(f"among must be one of {', '.join(masks)}, got {among!r}")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    rows = np.flatnonzero(masks[among])
    index = rows[np.argsort(-evaluation.scores[rows], kind="stable")[:k]]
    images = evaluation.x[torch.as_tensor(index, dtype=torch.long)]
    recons = model.reconstruct(images) if len(index) else images.clone()
    maps = pixel_error_map(images, recons) if len(index) else np.zeros((0, *images.shape[2:]))
    return Gallery(index, images, recons, maps, evaluation.scores[index])


def score_image(scorer: AnomalyScorer, image: torch.Tensor, evaluation: Evaluation) -> tuple[float, float]:
    """(score, percentile among the normal evaluated images) of one image `[C, H, W]` or
    `[1, C, H, W]`, e.g. an upload: 99 = more anomalous than 99% of normal test images."""
    x = image.unsqueeze(0) if image.ndim == 3 else image
    if len(x) != 1:
        raise ConfigError(f"score_image takes one image, got {len(x)}")
    value = float(scorer.score(x)[0])
    return value, percentile_of(value, evaluation.normal_scores)


def heatmap(maps, vmax: float | None = None) -> torch.Tensor:
    """Error maps `[k, H, W]` -> red heat images `[k, 3, H, W]` in [0, 1], scaled by `vmax`
    (default: the largest error in the maps, so maps side by side share one scale)."""
    m = torch.as_tensor(np.asarray(maps, dtype=np.float32))
    if m.ndim != 3:
        raise ConfigError(f"error maps must be [k, H, W], got shape {list(m.shape)}")
    top = float(m.max()) if vmax is None and m.numel() else (vmax or 0.0)
    m = (m / top).clamp(0, 1) if top > 0 else torch.zeros_like(m)
    return torch.stack([m, 0.35 * m ** 2, 0.1 * m ** 4], dim=1)
