"""Latent dimensions named by what they mostly change, measured rather than guessed.

Each dimension is traversed from sample codes (one step = the standard deviation of the split's
codes along it), the decoded images are read by the dataset's attribute readers
(latentlab.latent.readers: the shipped data classifier, trained on real images only), and the
change per step of every attribute is fitted — the same probe as for attribute directions, in
the spirit of the traversal-based reading of a representation in Higgins et al. 2017 ("β-VAE").
A dimension is named after the attribute family with the largest change if that change is at
least MIN_EFFECT label standard deviations per step; otherwise it stays "dim 14".

Categorical families are named by what a step towards + does: "digit: 0 → 1" (the indicator
that falls most, then the one that rises most), "hair_color: → red" if none falls clearly.
mnist has only the digit label, so its dims can only be named by the digits they trade; stroke
width or slant, which many of them carry, have no label and are not named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from latentlab.latent import analysis_cache
from latentlab.latent.attributes import _numpy
from latentlab.latent.readers import Readers, dataset_readers, families, reading_values, slopes
from latentlab.progress import span, tick

MIN_EFFECT = 0.2  # label stds per step below which a dimension is not named after an attribute
VERSION = "v1"


@dataclass
class DimName:
    """`dim` index; `label` ("smile ↑", "digit: 0 → 1" or "dim 14"); `family` it is named after
    (None if unnamed); `effect` that family's largest |change| per step (label stds);
    `description` a sentence for help text; `effects` {target: change per step} (all readers)."""

    dim: int
    label: str
    family: str | None
    effect: float
    description: str
    effects: dict[str, float]


def _family_label(fam: str, members: dict[str, float], is_base: bool) -> str:
    """Slider label for a family's effects {target: slope}."""
    if is_base:  # a continuous or binary label read directly
        return f"{fam} {'↑' if members[fam] > 0 else '↓'}"
    up = max(members, key=members.get)
    down = min(members, key=members.get)
    cat = lambda k: k.split(": ", 1)[1] if ": " in k else k  # noqa: E731
    if members[down] < -MIN_EFFECT / 2:
        return f"{fam}: {cat(down)} → {cat(up)}"
    return f"{fam}: → {cat(up)}"


def name_dim(dim: int, effects: dict[str, float], family: dict[str, str]) -> DimName:
    """Name one dimension from its measured `effects` {target: change per step}."""
    by_family: dict[str, dict[str, float]] = {}
    for k, s in effects.items():
        by_family.setdefault(family.get(k, k), {})[k] = s
    if not by_family:
        return DimName(dim, f"dim {dim}", None, 0.0, "no attribute could be read", effects)
    strength = {f: max(abs(s) for s in m.values()) for f, m in by_family.items()}
    top = max(strength, key=strength.get)
    ranked = sorted(effects.items(), key=lambda kv: -abs(kv[1]))[:3]
    said = ", ".join(f"{k} {s:+.2f}" for k, s in ranked)
    description = f"moving it up changes {said} (label stds per step)"
    if strength[top] < MIN_EFFECT:
        return DimName(dim, f"dim {dim}", None, strength[top],
                       f"no labelled attribute changes by {MIN_EFFECT} label stds per step; "
                       + description, effects)
    label = _family_label(top, by_family[top], top in by_family[top])
    return DimName(dim, label, top, strength[top], description, effects)


def measure_dims(model, z, readers: Readers, n_samples: int = 32, seed: int = 0,
                 progress=None, should_stop=None) -> np.ndarray:
    """Change per step of every reader when each dimension is moved: `[d, R]` (readers' order),
    from `n_samples` seeded codes of `z [N, d]`; a step is the std of `z[:, j]`."""
    z = _numpy(z).astype(np.float64)
    idx = np.random.default_rng(seed).permutation(len(z))[:n_samples]
    std = z.std(0)
    out = np.zeros((z.shape[1], len(readers.names)))
    for j in range(z.shape[1]):
        tick(progress, should_stop, j / z.shape[1], f"traversing dim {j}")
        if std[j] == 0:
            continue
        e = np.zeros(z.shape[1])
        e[j] = 1.0
        read = slopes(model, z[idx], e, float(std[j]), readers)
        out[j] = [read[k] for k in readers.names]
    return out


def names_from_effects(effects: np.ndarray, reader_names: list[str], family: dict) -> list[DimName]:
    """DimName per row of `effects [d, R]`."""
    return [name_dim(j, dict(zip(reader_names, map(float, row))), family)
            for j, row in enumerate(effects)]


def _key(model) -> str:
    return f"{model.info.hash}-dimnames-{VERSION}"


def find_dim_names(model) -> list[DimName] | None:
    """Shipped or cached names of this checkpoint's dims, or None (then they must be measured)."""
    folder = analysis_cache.find(model, _key(model))
    if folder is None:
        return None
    record, arrays = analysis_cache.read(folder, _key(model))
    return names_from_effects(arrays["effects"], record["readers"], record["families"])


def load_or_name_dims(model, progress=None, should_stop=None, write_to=None,
                      n_samples: int = 32, seed: int = 0) -> list[DimName]:
    """Names of every latent dimension: shipped, cached, or measured now (seconds to a minute;
    run off the UI thread with `progress(fraction, message)` and `should_stop()`). A dataset
    without labels gets "dim j" throughout."""
    from latentlab.latent.cache import encode_split
    from latentlab.zoo import dataset_of

    found = find_dim_names(model)
    if found is not None:
        return found
    start = time.time()
    tick(progress, should_stop, 0.0, "loading the dataset")
    data = dataset_of(model)
    lat = encode_split(model, "test", progress=span(progress, 0.0, 0.2), should_stop=should_stop)
    readings = reading_values(lat.labels, data.categories)
    if not readings:
        return names_from_effects(np.zeros((lat.z.shape[1], 0)), [], {})
    tick(progress, should_stop, 0.2, "preparing the attribute readers")
    readers = dataset_readers(data)
    effects = measure_dims(model, lat.z, readers, n_samples, seed, span(progress, 0.25, 1.0), should_stop)
    family = families(lat.labels, readers.names)
    record = {"readers": readers.names, "families": family, "reader_kind": readers.kind,
              "reader_r2": readers.r2_, "min_effect": MIN_EFFECT, "n_samples": n_samples, "seed": seed,
              "checkpoint": model.info.name, "hash": model.info.hash,
              "seconds": round(time.time() - start, 1)}
    analysis_cache.write(write_to or analysis_cache.search_dirs(model)[1], _key(model), record,
                         {"effects": effects})
    if progress is not None:
        progress(1.0, "dimensions named")
    return names_from_effects(effects, readers.names, family)
