"""Section 3: few-label linear probes on mnist codes (`latentlab.metrics.probes`).

A logistic regression on frozen features with 10, 100 and 1,000 class-balanced labels, scored on
the whole test split: raw pixels (784 features), the zoo's PCA (d = 16) and the zoo's nonlinear
models (d = 16). Codes come from the latent cache (`encode_split`).
"""

from __future__ import annotations

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import md_table, mean_std
from latentlab.datasets import load_dataset
from latentlab.latent import encode_split
from latentlab.latent.cache import encode_images
from latentlab.metrics.probes import learning_curve
from latentlab.zoo import dataset_of

TITLE = "3. Few-label probes on mnist"
MODELS = ["mnist_pca", "mnist_ae", "mnist_dae", "mnist_vae", "mnist_bvae4"]


def features(model, ctx: Context):
    """(z_train, z_test) from the latent cache (zoo checkpoints) or encoded directly."""
    if ctx.zoo_dir is None:
        return encode_split(model, "train").z, encode_split(model, "test").z
    data = dataset_of(model)
    return encode_images(model, data.x_train)[0], encode_images(model, data.x_test)[0]


def run(ctx: Context) -> Section:
    s = ctx.settings
    data = load_dataset("mnist")
    feats = {"pixels (784)": (data.x_train.flatten(1).numpy(), data.x_test.flatten(1).numpy())}
    found, absent = ctx.models(MODELS)
    for name, model in found:
        feats[f"{name} ({model.latent_dim})"] = features(model, ctx)
    y_train, y_test = data.labels_train["digit"], data.labels_test["digit"]
    curves = learning_curve(feats, y_train, y_test, s.probe_labels, s.probe_seeds)
    headers = ["features (dim)"] + [f"{n} labels" for n in s.probe_labels]
    rows = [[name] + [mean_std(curve.get(n)) for n in s.probe_labels]
            for name, curve in curves.items()]
    body = (f"Test accuracy on all {len(y_test)} test digits, mean ± std over label draws (seeds "
            f"{', '.join(map(str, s.probe_seeds))}); features standardised with the statistics of "
            f"all {len(y_train)} unlabelled training images; chance = 0.1.\n\n"
            + md_table(headers, rows) + missing(absent))
    return Section("probes", TITLE, body, {"curves": {k: {str(n): v for n, v in c.items()}
                                                     for k, c in curves.items()}})
