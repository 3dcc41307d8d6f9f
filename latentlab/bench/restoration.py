"""Section 4: denoising and inpainting with autoencoders (`latentlab.metrics.restoration`).

Corruptions of the first test images: additive Gaussian noise (σ = 0.3, clipped) and one hidden
rectangle covering 25% of each image. Restorers: encode–decode once (Vincent et al. 2008's
denoising view) and MAP latent optimisation on the observed pixels (Bora et al. 2017; Yeh et al.
2017). For inpainting the observed pixels are kept and only the hidden ones replaced.
PSNR in dB against the clean image, mean over images.
"""

from __future__ import annotations

import torch

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import md_table
from latentlab.metrics import restoration as rs
from latentlab.zoo import dataset_of

TITLE = "4. Restoration: denoising and inpainting"
DATASETS = ("mnist", "faces")
FAMILIES = ("pca", "ae", "dae", "vae")
SIGMA, FRACTION = 0.3, 0.25


def test_subset(x_test: torch.Tensor, s) -> torch.Tensor:
    """A seeded random subset of the test split: mnist's split is ordered by digit, so its first
    rows would all be 0s and 1s."""
    idx = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(s.seed))
    return x_test[idx[: s.restore_images]]


def corruptions(x: torch.Tensor, seed: int) -> dict:
    """name -> (corrupted images, mask or None)."""
    masked, mask = rs.mask_region(x, fraction=FRACTION, seed=seed)
    return {f"noise σ={SIGMA}": (rs.add_gaussian_noise(x, SIGMA, seed), None),
            f"mask {int(FRACTION * 100)}%": (masked, mask)}


def restorations(model, x_bad: torch.Tensor, mask, ctx: Context) -> dict:
    """name -> restored images `[N, C, H, W]` (inpainting keeps the observed pixels)."""
    s = ctx.settings
    by_recon = rs.restore_by_reconstruction(model, x_bad)
    by_opt = rs.restore_by_latent_optimisation(model, x_bad, mask, steps=s.restore_steps, seed=s.seed)
    if mask is not None:
        by_recon, by_opt = (torch.where(mask, r, x_bad) for r in (by_recon, by_opt))
    return {"encode–decode": by_recon, "latent opt.": by_opt}


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    return float(rs.psnr(x_hat.clamp(0, 1), x).mean())


def run(ctx: Context) -> Section:
    rows, data, links = [], {}, {}
    found, absent = ctx.models(f"{ds}_{fam}" for ds in DATASETS for fam in FAMILIES)
    for name, model in found:
        ds, fam = name.split("_")
        x = test_subset(dataset_of(model).x_test, ctx.settings)
        for cname, (x_bad, mask) in corruptions(x, ctx.settings.seed).items():
            out = restorations(model, x_bad, mask, ctx)
            before = psnr(x_bad, x)
            after = {k: psnr(v, x) for k, v in out.items()}
            rows.append([ds, name, cname, before, *after.values()])
            data[f"{name}/{cname}"] = {"before": before, **after}
            if fam == "ae":
                links[f"{ds}/{cname}"] = _example_png(x, x_bad, out, ctx, ds, cname)
    headers = ["data", "model", "corruption", "PSNR corrupted", "PSNR encode–decode",
               "PSNR latent opt."]
    s = ctx.settings
    body = (f"{s.restore_images} random test images per dataset (seed {s.seed}); latent optimisation: "
            f"{s.restore_steps} Adam steps (lr 0.05, prior weight 1e-3) from the encoder's code; "
            f"seed {s.seed}. Masked pixels are set to 0 and are the only ones restored.\n\n"
            + md_table(headers, rows, digits=2) + missing(absent))
    body += "\n" + "\n".join(
        f"\n{k} (rows: clean, corrupted, encode–decode, latent opt.; AE):\n\n![{k}]({v})\n"
        for k, v in links.items())
    return Section("restoration", TITLE, body, {"psnr": data, "images": links})


def _example_png(x, x_bad, out: dict, ctx: Context, ds: str, cname: str) -> str:
    n = 8 if x.shape[-1] < 64 else 5  # noisy 64×64 colour images barely compress: keep < 200 KB
    rows = torch.cat([x[:n], x_bad[:n], *(v[:n] for v in out.values())])
    return ctx.save_grid(rows, n, f"restoration_{ds}_{cname.split()[0]}.png")
