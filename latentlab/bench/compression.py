"""Section 8: the learned codec (`latentlab.codec`, Ballé et al. 2017) against JPEG and WebP.

For a seeded subset of each test split, every codec checkpoint of that dataset codes every image
at every quantisation step of its ladder, into real bytes that are decoded again; PSNR and SSIM
are measured on the decoded 8-bit image. For each stream, JPEG and WebP are searched over all
their qualities for the largest file of at most the same number of bytes (whole files, headers
included); the gain in dB is paired over the images where such a file exists.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab import checkpoint
from latentlab.bench.core import Context, Section
from latentlab.bench.report import md_table
from latentlab.codec import baselines, coder, plots
from latentlab.zoo import dataset_of

TITLE = "8. Compression: a learned codec against JPEG and WebP"
DATASETS = ("mnist", "faces")
CURVE_QUALITIES = {"JPEG": (1, 3, 5, 10, 20, 30, 50, 70, 90), "WEBP": (0, 5, 10, 20, 30, 50, 70, 90, 100)}
NAMES = {"JPEG": "JPEG", "WEBP": "WebP"}
LOW_RATE_BPP = 1.0  # "low rate" in the headline: codec points at or below 1 bit per pixel


def codec_names(ctx: Context, dataset: str) -> list[str]:
    folder = ctx.zoo_dir or checkpoint.ZOO_DIR
    return sorted(p.name for p in folder.glob(f"{dataset}_codec_*") if (p / "model.safetensors").exists())


def test_subset(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx]


def measure_image(models, x: torch.Tensor) -> dict:
    """One image through every (model, step), with JPEG/WebP matched to each stream's size.
    Returns {"points": {(name, step_index): {codec/jpeg/webp: (bytes, psnr, ssim) or None}},
    "curves": {format: [(quality, bytes, psnr, ssim)]}}."""
    original = baselines.eight_bit(x)
    ladders = {fmt: baselines.ladder(original, fmt) for fmt in baselines.FORMATS}
    points = {}
    for name, model in models:
        for s in range(len(model.steps)):
            data = coder.compress(model, original, s)
            decoded = baselines.eight_bit(coder.decompress(model, data))
            entry = {"codec": _scores(len(data), decoded, original)}
            for fmt, ladder in ladders.items():
                match = baselines.at_most(ladder, len(data))
                entry[fmt] = _scores(match.n_bytes, match.image, original) if match else None
            points[(name, s)] = entry
    curves = {fmt: [(c.quality, *_scores(c.n_bytes, c.image, original)) for c in ladders[fmt]
                    if c.quality in CURVE_QUALITIES[fmt]] for fmt in ladders}
    return {"points": points, "curves": curves}


def _scores(n_bytes: int, image: torch.Tensor, original: torch.Tensor) -> tuple[int, float, float]:
    return n_bytes, baselines.psnr(image, original), baselines.ssim(image, original)


def aggregate(per_image: list[dict], models, pixels: int) -> dict:
    """Means over images per rate point, and the paired gains over JPEG/WebP where they fit."""
    out = {}
    for name, model in models:
        for s, step in enumerate(model.steps):
            entries = [r["points"][(name, s)] for r in per_image]
            codec = np.array([e["codec"] for e in entries], dtype=float)
            row = {"model": name, "lmbda": model.args["lmbda"], "step": step, "default": s == model.default_step,
                   "bytes": codec[:, 0].mean(), "bpp": 8 * codec[:, 0].mean() / pixels,
                   "psnr": codec[:, 1].mean(), "ssim": codec[:, 2].mean()}
            for fmt in baselines.FORMATS:
                fits = [i for i, e in enumerate(entries) if e[fmt] is not None]
                base = np.array([entries[i][fmt] for i in fits], dtype=float).reshape(-1, 3)
                row[fmt] = {"fits": len(fits), "n": len(entries),
                            "bytes": base[:, 0].mean() if fits else None,
                            "psnr": base[:, 1].mean() if fits else None,
                            "ssim": base[:, 2].mean() if fits else None,
                            "gain_db": (codec[fits, 1] - base[:, 1]).mean() if fits else None}
            out[f"{name}@{step:g}"] = row
    return out


def baseline_curves(per_image: list[dict], pixels: int) -> dict:
    """format -> [(quality, mean bpp, mean PSNR, mean SSIM)] over the images."""
    out = {}
    for fmt in baselines.FORMATS:
        arr = np.array([r["curves"][fmt] for r in per_image], dtype=float)  # [N, Q, 4]
        mean = arr.mean(0)
        out[fmt] = [(int(q), 8 * b / pixels, p, s) for q, b, p, s in mean]
    return out


def lambda_vs_step(points: dict) -> dict:
    """For each model's off-default steps: PSNR minus the λ family's Δ = 1 curve (piecewise
    linear in bpp) at the same bpp, for points inside that curve's bpp range."""
    family = sorted((r["bpp"], r["psnr"]) for r in points.values() if r["default"])
    if len(family) < 2:
        return {}
    xs, ys = zip(*family)
    out = {}
    for key, r in points.items():
        if not r["default"] and xs[0] <= r["bpp"] <= xs[-1]:
            out[key] = float(r["psnr"] - np.interp(r["bpp"], xs, ys))
    return out


def headline(points: dict) -> dict | None:
    """Where JPEG can be compared at all: the lowest-rate codec point at which a JPEG fits at
    least half the images, and the gains at every such point of at most 1 bpp ("low rates")."""
    usable = [r for r in points.values() if r["JPEG"]["fits"] >= r["JPEG"]["n"] / 2]
    if not usable:
        return None
    low = [r["JPEG"]["gain_db"] for r in usable if r["bpp"] <= LOW_RATE_BPP]
    return {"lowest": min(usable, key=lambda r: r["bytes"]), "low_gains": low}


def run(ctx: Context) -> Section:
    s = ctx.settings
    body, data = [], {}
    for ds in DATASETS:
        found, _ = ctx.models(codec_names(ctx, ds))
        if not found:
            body.append(f"_{ds}: no `{ds}_codec_*` checkpoint found; train one with its config._\n")
            continue
        x = test_subset(dataset_of(found[0][1]).x_test, s.codec_images, s.seed)
        pixels = x.shape[2] * x.shape[3]
        with torch.inference_mode():
            per_image = [measure_image(found, img) for img in x]
        points = aggregate(per_image, found, pixels)
        curves = baseline_curves(per_image, pixels)
        versus = lambda_vs_step(points)
        data[ds] = {"points": points, "curves": curves, "lambda_vs_step": versus,
                    "headline": headline(points), "images": len(x)}
        data[ds]["figures"] = {"examples": plots.examples(found, x, ctx, ds)}
        body.append(_dataset_markdown(ds, data[ds], x.shape[1:]))
    if data:
        data["figure"] = plots.rd_curves({k: v for k, v in data.items() if k in DATASETS}, ctx)
        body.insert(0, f"![rate–distortion curves]({data['figure']})\n")
    return Section("compression", TITLE, _intro(s) + "\n".join(body), data)


def _intro(s) -> str:
    return (f"{s.codec_images} test images per dataset (a random subset, seed {s.seed}). Each codec "
            "checkpoint is one λ of the loss λ·255²·MSE + bits/pixel (Ballé et al. 2017: uniform noise "
            "for quantisation in training, one learned factorized density per latent channel), coded by "
            "constriction's range coder; each also codes at a ladder of quantisation steps Δ (Δ = 1 is "
            "what it was trained for). Bytes are whole streams including the codec's 13-byte header and "
            "checksum; bpp = 8 · bytes / (H · W). JPEG and WebP (Pillow; JPEG with optimised Huffman "
            "tables and 4:2:0 chroma, WebP method 6) are the largest file of at most the codec's bytes "
            "over all qualities, whole files with their headers (JPEG's alone is ~125+ bytes); 'fits' "
            "counts images where any quality fits. PSNR (dB) and SSIM (scikit-image, 7×7 window) on "
            "8-bit images; gains are paired over the images where the baseline fits.\n\n")


def _dataset_markdown(ds: str, d: dict, shape) -> str:
    rows = []
    for r in d["points"].values():
        cells = [r["model"], f"{r['step']:g}" + (" (trained)" if r["default"] else ""),
                 f"{r['bytes']:.0f}", f"{r['bpp']:.3f}", f"{r['psnr']:.2f}", f"{r['ssim']:.3f}"]
        for fmt in baselines.FORMATS:
            b = r[fmt]
            cells += [f"{b['fits']}/{b['n']}"] + ([f"{b['bytes']:.0f}", f"{b['psnr']:.2f}", f"{b['ssim']:.3f}",
                                                  f"{b['gain_db']:+.2f}"] if b["fits"] else ["–"] * 4)
        rows.append(cells)
    headers = ["model", "Δ", "bytes", "bpp", "PSNR", "SSIM"]
    for name in NAMES.values():
        headers += [f"{name} fits", f"{name} bytes", f"{name} PSNR", f"{name} SSIM", f"gain vs {name} (dB)"]
    text = f"### {ds} ({'×'.join(str(v) for v in shape)}, {d['images']} test images)\n\n" + md_table(headers, rows)
    text += "\n" + _curve_table(d["curves"]) + _summary(d)
    return text + f"\nSame images at several rates (codec | JPEG | WebP at ≤ the codec's bytes):\n\n![{ds} examples]({d['figures']['examples']})\n"


def _curve_table(curves: dict) -> str:
    rows = [[NAMES[fmt], q, f"{b:.3f}", f"{p:.2f}", f"{s:.3f}"] for fmt, pts in curves.items() for q, b, p, s in pts]
    return "JPEG and WebP on their own, mean over the same images:\n\n" + md_table(
        ["format", "quality", "bpp", "PSNR", "SSIM"], rows)


def _summary(d: dict) -> str:
    lines = []
    h = d["headline"]
    if h is None:
        lines.append("- JPEG fits at least half the images at no codec rate point: no equal-bytes comparison.")
    else:
        r = h["lowest"]
        lines.append(f"- Lowest codec rate where a JPEG of at most the same bytes exists for at least half the "
                     f"images: {r['model']} Δ = {r['step']:g}, {r['bytes']:.0f} bytes ({r['bpp']:.2f} bpp; "
                     f"JPEG fits {r['JPEG']['fits']}/{r['JPEG']['n']}): {r['JPEG']['gain_db']:+.2f} dB over JPEG"
                     + (f", {r['WEBP']['gain_db']:+.2f} dB over WebP (fits {r['WEBP']['fits']}/{r['WEBP']['n']})"
                        if r["WEBP"]["fits"] else "") + ".")
        if h["low_gains"]:
            lines.append(f"- Low rates (those points at ≤ {LOW_RATE_BPP:g} bpp, {len(h['low_gains'])} of them): "
                         f"gain over JPEG at equal bytes from {min(h['low_gains']):+.2f} to "
                         f"{max(h['low_gains']):+.2f} dB.")
    if d["lambda_vs_step"]:
        v = d["lambda_vs_step"]
        lines.append(f"- One model per λ vs one model with a varied step: the {len(v)} off-default steps "
                     "inside the λ family's bpp range lie "
                     f"{np.mean(list(v.values())):+.2f} dB (mean; from {min(v.values()):+.2f} to "
                     f"{max(v.values()):+.2f}) from the λ family's Δ = 1 curve at the same bpp.")
    return "\n" + "\n".join(lines) + "\n"
