"""Section: conditional generation with a frozen decoder (`latentlab.latent.conditional`).

For every zoo model trained on all of mnist: fit a class-conditional Gaussian to its training
codes and digit labels, decode n samples per requested digit and count how often the dataset's
classifier (`latentlab.metrics.classifier`, trained on real images only) reads the requested
digit. Faces: samples for requested attributes, and prior samples beside samples of a Gaussian
mixture fitted to the codes, as image grids.
"""

from __future__ import annotations

import torch

from latentlab.bench.core import Context, Section
from latentlab.bench.probes import whole_dataset_models
from latentlab.bench.report import md_table
from latentlab.errors import ConfigError
from latentlab.latent import encode_split
from latentlab.latent.cache import encode_images
from latentlab.latent.conditional import (
    CodeDensity,
    ConditionalGaussian,
    agreement,
    decode_codes,
    prior_codes,
)
from latentlab.zoo import dataset_of

TITLE = "9. Conditional generation with a frozen decoder"
TEMPERATURES = (1.0, 0.7)
FACE_MODELS = ("faces_vae", "faces_ae")  # muddy prior samples; no prior at all (PNGs: ~250 KB each)
FACE_REQUESTS = [{"smiling": 1}, {"smiling": 0, "frowning": 1}, {"glasses": 1},
                 {"glasses": 1, "smiling": 1}]


def train_codes(model, ctx: Context):
    """(codes `[N, d]`, labels) of the model's training split (latent cache for the zoo)."""
    if ctx.zoo_dir is None:
        latents = encode_split(model, "train")
        return latents.z, latents.labels
    data = dataset_of(model)
    return encode_images(model, data.x_train)[0], data.labels_train


def _classifier(dataset: str):
    """The dataset's classifier as predict(images) -> {label: values}, or (None, reason)."""
    try:
        from latentlab.metrics.classifier import load_classifier
        clf = load_classifier(dataset)
    except (ImportError, Exception) as exc:  # noqa: BLE001 - any failure means: not measured
        return None, f"{type(exc).__name__}: {exc}"
    return clf, ""


def run(ctx: Context) -> Section:
    n = ctx.settings.conditional_samples
    found, _ = ctx.models(whole_dataset_models(ctx, "mnist"))
    clf, why = _classifier("mnist")
    rows, data = [], {}
    for name, model in found:
        z, labels = train_codes(model, ctx)
        row = [name]
        for t in TEMPERATURES:
            sampler = ConditionalGaussian(temperature=t).fit(z, {"digit": labels["digit"]})
            if clf is None:
                row.append("–")
                continue
            res = agreement(lambda x: clf.predict(x)["digit"], model, sampler, "digit",
                            list(range(10)), n, ctx.settings.seed)
            data.setdefault(name, {})[str(t)] = res
            row.append(res["mean"])
        rows.append(row)
    body = [_intro(n, clf, why), md_table(["model"] + [f"agreement, T = {t:g}" for t in TEMPERATURES], rows)]
    body.append(_per_digit(data))
    if found:
        body.append(_mnist_grid(found, ctx))
    body.append(_faces(ctx))
    return Section("conditional", TITLE, "\n".join(body), {"agreement": data})


def _intro(n: int, clf, why: str) -> str:
    text = (f"Per mnist model: a Gaussian per digit (mean, Ledoit-Wolf covariance) fitted to the "
            f"codes of the training split; {n} codes sampled per digit at temperature T (T < 1 "
            "shrinks samples towards the class mean), decoded by the unchanged decoder; agreement "
            "= the share the classifier reads as the requested digit, mean over the 10 digits.\n")
    if clf is None:
        text += f"\n**Agreement not measured: the classifier could not be loaded** (`{why}`).\n"
    return text + "\n"


def _per_digit(data: dict) -> str:
    if not data:
        return ""
    rows = [[name] + [res["1.0"]["per_value"][d] for d in range(10)] for name, res in data.items()]
    return "\nPer digit at T = 1:\n\n" + md_table(["model"] + [str(d) for d in range(10)], rows)


def _mnist_grid(found, ctx: Context, per: int = 10) -> str:
    lines = []
    for name, model in found:
        z, labels = train_codes(model, ctx)
        sampler = ConditionalGaussian().fit(z, {"digit": labels["digit"]})
        images = torch.cat([decode_codes(model, sampler.sample({"digit": d}, per, d)) for d in range(10)])
        link = ctx.save_grid(images, per, f"conditional_{name}.png")
        lines.append(f"**{name}**, one row per requested digit 0–9 (T = 1):\n\n![{name}]({link})\n")
    return "\n" + "\n".join(lines)


def _faces(ctx: Context, per: int = 6) -> str:
    found, _ = ctx.models([n for n in whole_dataset_models(ctx, "faces") if n in FACE_MODELS])
    lines = []
    for name, model in found:
        z, labels = train_codes(model, ctx)
        rows = []
        if model.has_prior:
            rows.append(prior_codes(model, per, ctx.settings.seed))
        rows.append(decode_codes(model, CodeDensity(10).fit(z).sample(per, ctx.settings.seed)))
        sampler = ConditionalGaussian().fit(z, {k: labels[k] for k in ("smiling", "frowning", "glasses")})
        shown = []
        for i, request in enumerate(FACE_REQUESTS):
            try:
                rows.append(decode_codes(model, sampler.sample(request, per, i)))
                shown.append(str(request))
            except ConfigError as exc:  # too few matching training faces (a small dataset)
                shown.append(f"not drawn: {exc}")
        link = ctx.save_grid(torch.cat(rows), per, f"conditional_{name}.png")
        first = f"samples of its own prior ({model.prior}), then " if model.has_prior else ""
        lines.append(f"**{name}**, rows: {first}a 10-component Gaussian mixture fitted to the "
                     f"codes, then " + "; ".join(shown) + f":\n\n![{name}]({link})\n")
    return "\n### Faces\n\n" + "\n".join(lines) if lines else ""

