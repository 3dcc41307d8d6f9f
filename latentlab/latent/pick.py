"""Picking samples by what they are: "a 3", "smiling", "red hair", "a heart", at random with a seed.

The mnist test split is sorted by digit (indices below 87 are all zeros), so an index is a poor
way to ask for a sample. These functions turn a label condition into test indices.

Labels are a dict name -> `[N]` (a `LatentSet.labels` or `Dataset.labels_test`), `categories` maps
a categorical label to the names of its values (`Dataset.categories`). A condition is a dict
{label: value}: a category name ("red") or index, 0/1 (or "yes"/"no") for a binary label, or a
(low, high) range, both ends included, for a continuous one; all conditions must hold.
"""

from __future__ import annotations

import numpy as np

from latentlab.errors import ConfigError
from latentlab.latent.labels import is_categorical, label_names, label_text


def label_options(labels: dict, categories: dict) -> dict[str, list[str]]:
    """For each categorical or binary label, the values it takes as text, in value order
    (e.g. {"digit": ["0", ..., "9"], "hair_color": ["black", ...], "smiling": ["0", "1"]})."""
    out = {}
    for name in label_names(labels):
        v = np.asarray(labels[name])
        if is_categorical(name, v, categories):
            values = np.unique(v)
            out[name] = label_text(name, values, categories)
    return out


def _mask(name: str, value, labels: dict, categories: dict) -> np.ndarray:
    if name not in labels:
        raise ConfigError(f"no label {name!r}; have {label_names(labels)}")
    v = np.asarray(labels[name])
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"a range for {name!r} is (low, high), got {value!r}")
        return (v >= float(value[0])) & (v <= float(value[1]))
    if isinstance(value, str):
        names = list(categories.get(name, []))
        words = {"yes": 1, "no": 0, "true": 1, "false": 0}
        if value in names:
            return v == names.index(value)
        if value.lower() in words and set(np.unique(v).tolist()) <= {0, 1}:
            return v == words[value.lower()]
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{name!r} has no value {value!r}; "
                              f"values: {label_options(labels, categories).get(name, 'continuous')}") from None
    return np.isclose(v.astype(np.float64), float(value))


def matching(labels: dict, categories: dict, where: dict) -> np.ndarray:
    """Sorted indices `[M]` of the samples meeting every condition in `where`."""
    if not where:
        raise ConfigError("give at least one condition, e.g. {'digit': 3}")
    n = len(next(iter(labels.values())))
    mask = np.ones(n, dtype=bool)
    for name, value in where.items():
        mask &= _mask(name, value, labels, categories)
    return np.flatnonzero(mask)


def pick(labels: dict, categories: dict, where: dict, n: int | None = 1, seed: int = 0) -> np.ndarray:
    """Up to `n` indices (all if None) drawn at random, without repeats, from the samples meeting
    `where`, in a random order fixed by `seed`. ConfigError if none matches."""
    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise ConfigError(f"n must be a positive integer or None, got {n!r}")
    found = matching(labels, categories, where)
    if len(found) == 0:
        raise ConfigError(f"no sample has {where}")
    order = np.random.default_rng(seed).permutation(found)
    return order if n is None else order[: int(n)]


def parse_condition(text: str, labels: dict, categories: dict) -> dict:
    """Plain words -> a condition: "a 3" / "3" (a category of any label), "smiling" or "glasses"
    (a binary label set), "no glasses" / "not smiling" (unset), "red hair" / "hair_color: red".
    Ambiguous or unknown words raise ConfigError listing what would work."""
    words = text.strip().lower()
    for prefix in ("a ", "an ", "the "):
        words = words.removeprefix(prefix)
    negated = words.startswith(("no ", "not "))
    words = words.split(" ", 1)[1] if negated else words
    if ":" in words:
        name, value = (w.strip() for w in words.split(":", 1))
        return {name: value}
    options = label_options(labels, categories)
    binary = [k for k, vals in options.items() if vals == ["0", "1"] or set(vals) == {"no", "yes"}]
    if words in binary:
        return {words: 0 if negated else 1}
    hits = [(k, v) for k, vals in options.items() if k not in binary for v in vals
            if v.lower() == words or f"{v} {k.split('_')[0]}".lower() == words]
    if len(hits) == 1 and not negated:
        return {hits[0][0]: hits[0][1]}
    if len(hits) > 1:
        raise ConfigError(f"{text!r} is ambiguous: " + ", ".join(f"{k}: {v}" for k, v in hits))
    raise ConfigError(f"cannot read {text!r} as a label; try one of: "
                      + ", ".join(binary + [f"{k}: {vals[0]}" for k, vals in options.items()
                                            if k not in binary]))
