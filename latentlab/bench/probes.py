"""Section 3: few-label probes on mnist codes (`latentlab.metrics.probes`).

Test accuracy against the number of labels per class (1 ... 1000, up to the smallest class)
for raw pixels, PCA and every zoo model of the dataset trained on all of it (one-class models
are left out: their codes describe one digit), with three probes, each the same for every
representation: a standardised logistic regression, 5-nearest neighbours and label spreading
over the kNN graph of all training codes. Codes come from the latent cache (`encode_split`).
"""

from __future__ import annotations

import numpy as np

from latentlab import checkpoint
from latentlab.bench.core import Context, Section
from latentlab.bench.report import md_table, mean_std
from latentlab.datasets import load_dataset
from latentlab.latent import encode_split
from latentlab.latent.cache import encode_images
from latentlab.metrics.probes import PROBES, learning_curve
from latentlab.zoo import dataset_of

TITLE = "3. Few-label probes on mnist"
DATASET = "mnist"


def whole_dataset_models(ctx: Context, dataset: str = DATASET) -> list[str]:
    """Zoo checkpoints trained on all of `dataset` (no `keep` option), by name."""
    root = ctx.zoo_dir or checkpoint.ZOO_DIR
    names = []
    for folder in sorted(p for p in root.iterdir() if (p / "config.json").exists()):
        ds = checkpoint.read_json(folder / "config.json").get("dataset", {})
        if ds.get("name") == dataset and "keep" not in ds.get("options", {}):
            names.append(folder.name)
    return names


def features(model, ctx: Context):
    """(z_train, z_test) from the latent cache (zoo checkpoints) or encoded directly."""
    if ctx.zoo_dir is None:
        return encode_split(model, "train").z, encode_split(model, "test").z
    data = dataset_of(model)
    return encode_images(model, data.x_train)[0], encode_images(model, data.x_test)[0]


def run(ctx: Context) -> Section:
    s = ctx.settings
    data = load_dataset(DATASET)
    feats = {"pixels (784)": (data.x_train.flatten(1).numpy(), data.x_test.flatten(1).numpy())}
    found, _ = ctx.models(whole_dataset_models(ctx))
    for name, model in found:
        feats[f"{name} ({model.latent_dim})"] = features(model, ctx)
    y_train, y_test = data.labels_train["digit"], data.labels_test["digit"]
    curves = {p: learning_curve(feats, y_train, y_test, s.probe_labels, s.probe_seeds, p,
                                per_class=True) for p in PROBES}
    counts = sorted({n for c in curves["logistic"].values() for n in c})
    body = [_intro(s, data, counts)]
    for probe, by_name in curves.items():
        headers = ["features (dim)"] + [f"{n}/class" for n in counts]
        rows = [[name] + [mean_std(curve.get(n)) for n in counts] for name, curve in by_name.items()]
        body.append(f"\n**Probe: {probe}**\n\n" + md_table(headers, rows))
    body.append(_summary(curves, counts))
    return Section("probes", TITLE, "\n".join(body),
                   {"curves": {p: {k: {str(n): v for n, v in c.items()} for k, c in by_name.items()}
                               for p, by_name in curves.items()}})


def _intro(s, data, counts) -> str:
    _, sizes = np.unique(data.labels_train["digit"], return_counts=True)
    skipped = [n for n in s.probe_labels if n not in counts]
    return (f"Test accuracy on all {len(data.x_test)} test digits against labelled training "
            f"images per class, mean ± std over label draws (seeds "
            f"{', '.join(map(str, s.probe_seeds))}). Features standardised with the statistics of "
            f"all {len(data.x_train)} unlabelled training images; chance = 0.1. The smallest "
            f"class has {sizes.min()} training images"
            + (f", so {', '.join(map(str, skipped))}/class cannot be drawn" if skipped else "")
            + ". Probes: logistic = standardised logistic regression (the linear probe); knn = "
            "5 nearest labelled neighbours (k = the label count per class when below 5); spreading = label "
            "spreading over a 10-NN graph of all training codes (Zhou et al. 2004), which also "
            "uses the unlabelled codes.\n")


def _summary(curves: dict, counts) -> str:
    """The best representation and probe at 10 and 100 labels per class."""
    lines = []
    for n in (10, 100):
        if n not in counts:
            continue
        best = max(((p, name, c[n][0]) for p, by in curves.items() for name, c in by.items()
                    if n in c and not name.startswith("pixels")), key=lambda t: t[2])
        logistic = max(((name, c[n][0]) for name, c in curves["logistic"].items()
                        if n in c and not name.startswith("pixels")), key=lambda t: t[1])
        lines.append(f"- {n} labels per class ({10 * n} in all): best latent {best[1]} with the "
                     f"{best[0]} probe, **{best[2]:.3f}**; best with the logistic probe "
                     f"{logistic[0]}, {logistic[1]:.3f}.")
    return "\n" + "\n".join(lines) + "\n" if lines else ""
