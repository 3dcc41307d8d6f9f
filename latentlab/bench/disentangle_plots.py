"""Figures for section 1: the reconstruction / disentanglement trade-off and a latent × factor
matrix, drawn with matplotlib (Agg) into the docs folder. Drawing only: the numbers come in."""

from __future__ import annotations

import numpy as np

from latentlab.bench.core import Context
from latentlab.metrics.factor_map import diagonal_order

TRADEOFF_CAPTION = ("Test MSE (per pixel) against MIG: one small point per checkpoint (seed), a "
                    "large point at each setting's median; lines join the medians of one family "
                    "trained the same way, in order of its β or γ.\n")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def tradeoff_png(rows: list[dict], summary: list[dict], ctx: Context,
                 filename: str = "disentanglement_tradeoff.png") -> str:
    """Scatter of test MSE against MIG, coloured by setting -> markdown link."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=100)
    colours = plt.get_cmap("tab20").colors
    for i, g in enumerate(summary):
        c = colours[i % len(colours)]
        members = [r for r in rows if r["group"] == g["group"]]
        ax.scatter([r["mig"] for r in members], [r["test_mse"] for r in members], s=18, color=c,
                   alpha=0.7)
        ax.scatter(g["mig"]["median"], g["test_mse"]["median"], s=70, color=c,
                   edgecolor="black", label=f"{g['group']} (n={g['n']})")
    for line in _families(summary):
        ax.plot([g["mig"]["median"] for g in line], [g["test_mse"]["median"] for g in line],
                color="grey", lw=1, zorder=0)
    ax.set_xlabel("MIG (higher: more disentangled)")
    ax.set_ylabel("test MSE per pixel (lower: sharper)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    path, link = ctx.image(filename)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return link


def _families(summary: list[dict]) -> list[list[dict]]:
    """Settings of one family and training regime with a β/γ, ordered by it (2 or more)."""
    lines: dict[tuple, list[dict]] = {}
    for g in summary:
        if g["knob"] is not None:
            lines.setdefault((g["family"], g["streamed"]), []).append(g)
    return [sorted(v, key=lambda g: g["knob"]) for v in lines.values() if len(v) > 1]


def matrix_png(row: dict, ctx: Context, filename: str = "disentanglement_matrix.png") -> str:
    """Heat map of one checkpoint's normalised MI matrix, dims in diagonal order -> link."""
    plt = _pyplot()
    mi = np.asarray(row["mi"])
    order = diagonal_order(mi)
    fig, ax = plt.subplots(figsize=(4.2, 4.6), dpi=100)
    im = ax.imshow(mi[order], cmap="viridis", vmin=0, vmax=max(float(mi.max()), 1e-6))
    ax.set_xticks(range(mi.shape[1]), row["factor_names"], rotation=30, ha="right")
    ax.set_yticks(range(len(order)), [f"z{d}" for d in order])
    for (i, k), v in np.ndenumerate(mi[order]):
        ax.text(k, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v < 0.6 * mi.max() else "black")
    ax.set_title(f"{row['name']}: I(z; factor) / H(factor)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    path, link = ctx.image(filename)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return link
