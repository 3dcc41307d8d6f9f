"""What a dataset's labels mean for latent operations: which to colour maps by, which are
categorical, their names as text, and the boolean targets attribute directions are fitted on.

Labels are a dict name -> array `[N]` (a `LatentSet.labels` or `Dataset.labels_*`); `categories`
maps a categorical label to the names of its values (`Dataset.categories`).
"""

from __future__ import annotations

import numpy as np

MIN_CLASS = 10  # a target needs this many samples on each side to fit a direction on


def label_names(labels: dict) -> list[str]:
    """Labels worth colouring by: drop the row `index` and `x_value` twins of factor indices."""
    return [k for k in labels if k != "index" and not (k.endswith("_value") and k[:-6] in labels)]


def colour_names(labels: dict) -> list[str]:
    """Labels worth colouring a map by: `label_names` without the binary labels that another label
    already determines ("smiling", "neutral", "frowning" are read off "smile"), so one entry per idea."""
    names = label_names(labels)
    return [n for n in names if not (_is_binary(labels[n]) and any(
        o != n and not _is_binary(labels[o]) and _determines(labels[o], labels[n]) for o in names))]


def _is_binary(values) -> bool:
    return set(np.unique(np.asarray(values)).tolist()) <= {0, 1}


def _determines(source, target) -> bool:
    """True when each value of `source` goes with one value of `target`."""
    pairs = np.unique(np.stack([np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1]


def is_categorical(name: str, values, categories: dict) -> bool:
    """Named categories, or at most 10 distinct integral values."""
    v = np.asarray(values)
    return name in categories or bool(len(np.unique(v)) <= 10 and np.all(v == np.round(v)))


def label_text(name: str, values, categories: dict) -> list[str]:
    """Per-sample label as text: category names when known, else the value."""
    names = categories.get(name)
    if names:
        return [names[int(v)] if 0 <= int(v) < len(names) else str(v) for v in values]
    return [f"{v:g}" for v in np.asarray(values, dtype=float)]


def value_groups(name: str, values, categories: dict, most: int = 10) -> dict[str, tuple]:
    """Choices among a label's values `[N]`, text -> values: each value when there are at most
    `most`, else the two halves at the median ("≤ 0.5", "> 0.5")."""
    uniq = np.unique(np.asarray(values))
    if len(uniq) <= most:
        return {text: (v.item(),) for text, v in zip(label_text(name, uniq, categories), uniq)}
    m = float(np.median(values))
    return {f"≤ {m:.3g}": tuple(uniq[uniq <= m].tolist()), f"> {m:.3g}": tuple(uniq[uniq > m].tolist())}


def contrasting_index(labels: dict, i: int = 0) -> int:
    """The first sample whose main label differs from sample i's (a more telling second endpoint)."""
    names = label_names(labels)
    if not names:
        return i + 1
    values = np.asarray(labels[names[0]])
    others = np.flatnonzero(values != values[i])
    return int(others[0]) if len(others) else i + 1


def attribute_targets(labels: dict, categories: dict) -> dict[str, np.ndarray]:
    """Boolean targets `[N]` for attribute directions, binary labels first.

    Binary labels as they are; the dataset's named categories one-vs-rest ("hair_color: red");
    other numeric labels, ordinal factors included, split at the median ("smile" = more smile).
    Targets with fewer than MIN_CLASS members in either class are skipped.
    """
    binary, continuous, onevsrest = {}, {}, {}
    for name in label_names(labels):
        v = np.asarray(labels[name])
        if set(np.unique(v).tolist()) <= {0, 1}:
            binary[name] = v.astype(bool)
        elif name in categories:  # named categories: one direction per category
            for i, cat in enumerate(categories[name]):
                onevsrest[f"{name}: {cat}"] = v == i
        else:
            continuous[name] = v > np.median(v)
    out = {**binary, **continuous, **onevsrest}
    return {k: y for k, y in out.items() if min(y.sum(), (~y).sum()) >= MIN_CLASS}
