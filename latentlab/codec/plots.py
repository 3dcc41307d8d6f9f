"""Figures for the compression benchmark: rate–distortion curves and example decodings.

Rendering only: every number drawn here was measured by `latentlab.bench.compression`
(curves) or is measured on the spot from real coded bytes (examples). matplotlib comes with
mlxtend; the Agg backend draws without a display.
"""

from __future__ import annotations

import torch

from latentlab.codec import baselines, coder

COLOURS = {"codec": "tab:red", "JPEG": "tab:blue", "WEBP": "tab:green"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rd_curves(results: dict, ctx) -> str:
    """bpp vs PSNR and SSIM per dataset; returns the markdown link of docs/compression_rd.png."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(results), 2, figsize=(11, 4.2 * len(results)), squeeze=False)
    for row, (ds, d) in zip(axes, results.items()):
        for ax, metric, label in ((row[0], "psnr", "PSNR (dB)"), (row[1], "ssim", "SSIM")):
            _draw_codec(ax, d["points"], metric)
            for fmt, pts in d["curves"].items():
                i = 2 if metric == "psnr" else 3
                ax.plot([p[1] for p in pts], [p[i] for p in pts], "s-", color=COLOURS[fmt], ms=3,
                        label=f"{'WebP' if fmt == 'WEBP' else fmt} (qualities)")
            ax.set(xlabel="bits per pixel", ylabel=label, title=f"{ds}: {label} vs rate")
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    path, link = ctx.image("compression_rd.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return link


def _draw_codec(ax, points: dict, metric: str) -> None:
    trained = sorted((r["bpp"], r[metric]) for r in points.values() if r["default"])
    ax.plot(*zip(*trained), "o-", color=COLOURS["codec"], lw=2, label="codec, one model per λ (Δ = 1)")
    for model in sorted({r["model"] for r in points.values()}):
        ladder = sorted((r["bpp"], r[metric]) for r in points.values() if r["model"] == model)
        ax.plot(*zip(*ladder), ".--", color=COLOURS["codec"], alpha=0.45, lw=1,
                label=f"{model}, Δ varied")


def examples(models, x: torch.Tensor, ctx, ds: str, n_images: int = 2) -> str:
    """Two test images, each at every model's trained step: original | codec | JPEG | WebP, the
    last two the largest files of at most the codec's bytes. Returns the markdown link."""
    plt = _pyplot()
    rows = [(i, name, model) for i in range(min(n_images, len(x))) for name, model in models]
    fig, axes = plt.subplots(len(rows), 4, figsize=(8, 2.2 * len(rows)), squeeze=False)
    for axrow, (i, name, model) in zip(axes, rows):
        original = baselines.eight_bit(x[i])
        data = coder.compress(model, original)
        decoded = baselines.eight_bit(coder.decompress(model, data))
        panels = [("original", original), (f"codec {len(data)} B\n{_score(decoded, original)}", decoded)]
        for fmt in ("JPEG", "WEBP"):
            match = baselines.at_most(baselines.ladder(original, fmt), len(data))
            label = "WebP" if fmt == "WEBP" else fmt
            title = f"{label} q={match.quality} {match.n_bytes} B\n{_score(match.image, original)}" if match \
                else f"no {label} ≤ {len(data)} B"
            panels.append((title, match.image if match else None))
        for ax, (title, image) in zip(axrow, panels):
            _show(ax, image, original.shape)
            ax.set_title(title, fontsize=7)
        axrow[0].set_ylabel(name, fontsize=7)
    fig.tight_layout()
    path, link = ctx.image(f"compression_examples_{ds}.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return link


def _score(image: torch.Tensor, original: torch.Tensor) -> str:
    return f"{baselines.psnr(image, original):.1f} dB, SSIM {baselines.ssim(image, original):.3f}"


def _show(ax, image, shape) -> None:
    if image is None:
        image = torch.full(shape, 0.5)
    a = image.permute(1, 2, 0).clamp(0, 1).numpy()
    ax.imshow(a[:, :, 0] if a.shape[2] == 1 else a, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
