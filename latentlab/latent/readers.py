"""Reading attributes off images: how edits, traversals and dimension names are judged.

A `Readers` object maps images `[N, C, H, W]` in [0, 1] to one float per attribute target and
image, in that target's units (`reading_values`): a continuous label's value, a binary label's
0/1, a named category's 0/1 indicator. Two kinds, both trained on the dataset's own real images
and never on a model's output:

- classifier readers (the default where latentlab.metrics.classifier ships one): the expected
  value of the target under the classifier's predicted distribution over the label's levels.
  Bounded by construction, so an edited image cannot push them to absurd values. Using an
  attribute classifier to score edits follows InterFaceGAN (Shen et al. 2020).
- pixel readers: ridge regression on area-downsampled pixels (`fit_attribute_regressors`). Fine
  for smooth attributes (smile, skin tone: held-out R² 0.96-1.0 on faces), but a linear map of
  pixels onto a colour category is steep off the data: on faces_vae the "background_color: peach"
  ridge reader moved 52-111 label stds per step of an unrelated edit, so leakage read that way is
  noise. Kept for datasets without a classifier and as a cross-check.

`slopes` edits codes along a direction, decodes, reads every target and fits the change per step.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.latent.attributes import _numpy, _slopes, fit_attribute_regressors
from latentlab.latent.labels import attribute_targets, label_names

MIN_R2 = 0.5  # a reader explaining less than this of held-out real images is not trusted


def reading_values(labels: dict, categories: dict) -> dict[str, np.ndarray]:
    """Per attribute target name, the float value `[N]` a reader learns: continuous labels as
    they are (not median-split), binary labels 0/1, each named category a 0/1 indicator."""
    targets = attribute_targets(labels, categories)
    out = {}
    for name in label_names(labels):
        v = np.asarray(labels[name], dtype=np.float64)
        if name in targets:
            out[name] = v
        for i, cat in enumerate(categories.get(name, [])):
            if f"{name}: {cat}" in targets:
                out[f"{name}: {cat}"] = (v == i).astype(np.float64)
    return out


def families(labels: dict, names) -> dict[str, str]:
    """Target name -> the label it is about: "hair_color: red" -> "hair_color"; a binary label
    that is a function of a richer label ("smiling" of "smile") -> that label; else itself."""
    out = {}
    for name in names:
        base = name.split(": ", 1)[0]
        v = np.asarray(labels.get(base, []))
        if base == name and len(v) and set(np.unique(v).tolist()) <= {0, 1}:
            for other in label_names(labels):
                u = np.asarray(labels[other])
                n_u = len(np.unique(u))
                if other != name and n_u > 2 and len(np.unique(np.stack([u, v]), axis=1).T) == n_u:
                    base = other
                    break
        out[name] = base
    return out


class Readers:
    """Callable: images `[N, C, H, W]` -> {target: reading `[N]`}. `scale_` {target: std of the
    reading over the training labels}, `r2_` {target: R² on held-out real images}, `kind`."""

    def __init__(self, read, scale: dict, r2: dict, kind: str):
        self._read, self.scale_, self.r2_, self.kind = read, scale, r2, kind

    @property
    def names(self) -> list[str]:
        return list(self.scale_)

    def __call__(self, images) -> dict[str, np.ndarray]:
        return {k: v for k, v in self._read(images).items() if k in self.scale_}

    def trusted(self, min_r2: float = MIN_R2) -> Readers:
        """The same readers without those whose held-out R² is below `min_r2`."""
        keep = {k for k, r in self.r2_.items() if r >= min_r2}
        return Readers(self._read, {k: s for k, s in self.scale_.items() if k in keep},
                       {k: r for k, r in self.r2_.items() if k in keep}, self.kind)


def _r2(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(1.0 - ((pred - truth) ** 2).sum() / max(((truth - truth.mean()) ** 2).sum(), 1e-12))


def pixel_readers(images, readings: dict, seed: int = 0) -> Readers:
    """Ridge readers trained on real `images [M, C, H, W]` with `readings` {target: [M]}."""
    regs = fit_attribute_regressors(images, readings, seed=seed)
    return Readers(lambda x: {k: r(x) for k, r in regs.items()},
                   {k: r.scale_ for k, r in regs.items()}, {k: r.r2_ for k, r in regs.items()}, "pixel")


def _lookups(clf, labels: dict, categories: dict) -> dict[str, tuple[str, np.ndarray]]:
    """Per target: (the classifier head it is read from, the target's reading per class [K])."""
    from latentlab.metrics.classifier import class_index

    readings = reading_values(labels, categories)
    fam = families(labels, list(readings))
    out = {}
    for name, r in readings.items():
        if fam[name] not in clf.labels:
            continue
        head = clf.head(fam[name])
        cls = class_index(head, labels[fam[name]])
        # the target's reading of the samples in each class (constant within a class)
        table = np.array([r[cls == k].mean() if (cls == k).any() else np.nan
                          for k in range(len(head.values))])
        if np.isfinite(table).all():
            out[name] = (head.name, table)
    return out


def classifier_readers(clf, train_labels: dict, categories: dict, test_images, test_labels: dict) -> Readers:
    """Readers from a data classifier (latentlab.metrics.classifier): E[reading] under its
    predicted distribution. `r2_` is measured on `test_images` against `test_labels`."""
    lookups = _lookups(clf, train_labels, categories)

    def read(images) -> dict[str, np.ndarray]:
        probs = clf.predict_proba(images)
        return {k: probs[h].double().numpy() @ table for k, (h, table) in lookups.items()}

    train = reading_values(train_labels, categories)
    scale = {k: float(train[k].std()) for k in lookups}
    truth = reading_values(test_labels, categories)
    pred = read(test_images)
    return Readers(read, scale, {k: _r2(pred[k], truth[k]) for k in lookups}, "classifier")


def dataset_readers(data, kind: str = "auto", n_train: int = 6000, n_test: int = 1000) -> Readers:
    """Trusted readers of a Dataset's attribute targets: the shipped classifier's where there is
    one ("auto"/"classifier"), else pixel ridge on up to `n_train` train images."""
    from latentlab.errors import ConfigError
    from latentlab.metrics.classifier import RECIPES, load_classifier

    if kind not in ("auto", "classifier", "pixel"):
        raise ConfigError(f"unknown reader kind {kind!r}: expected 'auto', 'classifier' or 'pixel'")
    if kind == "classifier" or (kind == "auto" and data.name in RECIPES):
        return classifier_readers(load_classifier(data.name), data.labels_train, data.categories,
                                  data.x_test[:n_test], {k: v[:n_test] for k, v in data.labels_test.items()}).trusted()
    readings = reading_values({k: v[:n_train] for k, v in data.labels_train.items()}, data.categories)
    return pixel_readers(data.x_train[:n_train], readings).trusted()


@torch.inference_mode()
def slopes(model, z, direction, scale: float, readers: Readers,
           strengths=(-2.0, -1.0, 0.0, 1.0, 2.0)) -> dict[str, float]:
    """Mean over codes `z [n, d]` of d(reading)/d(strength) per target, in the target's label
    stds per step, where a step moves a code by `scale` along `direction [d]`.

    Each code goes to z + s·scale·direction for every s, is decoded and read; the per-code
    least-squares slopes are averaged.
    """
    s = np.asarray(strengths, dtype=np.float64)
    zt = torch.as_tensor(_numpy(z), dtype=torch.float32)
    d = torch.as_tensor(_numpy(direction), dtype=torch.float32) * float(scale)
    images = model.decode(torch.cat([zt + float(si) * d for si in s]))
    read = readers(images)
    return {k: float(_slopes(v.reshape(len(s), -1), s).mean() / max(readers.scale_[k], 1e-12))
            for k, v in read.items()}
