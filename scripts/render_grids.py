"""Render what a person should look at before calling a checkpoint done: reconstructions, prior
samples and latent interpolations, as PNGs.

Usage: python scripts/render_grids.py NAME_OR_FOLDER [...] [--out artifacts/grids] [--n 32]
Writes <out>/<name>-recon.png (rows of test images over their reconstructions),
<name>-samples.png (decoded prior draws, if the model has a prior) and <name>-interp.png (one
row per random test pair: linear interpolation between their codes, endpoints are the
reconstructions). Seeded; the same test images for every model of a dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from latentlab.checkpoint import load  # noqa: E402
from latentlab.cli import checkpoint_ref  # noqa: E402
from latentlab.latent import interpolate  # noqa: E402
from latentlab.render import save_png, tile  # noqa: E402
from latentlab.zoo import dataset_of, reconstruction_grid, sample_grid  # noqa: E402


def interpolation_grid(model, pairs: int = 6, steps: int = 10, seed: int = 0) -> torch.Tensor:
    x = dataset_of(model).x_test
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[: 2 * pairs]
    rows = [interpolate(model, x[idx[2 * k]], x[idx[2 * k + 1]], steps) for k in range(pairs)]
    return tile(torch.cat(rows), ncol=steps, gap=2, fill=0.5)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--out", type=Path, default=Path("artifacts/grids"))
    p.add_argument("--n", type=int, default=32)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for ref in a.checkpoints:
        model = load(checkpoint_ref(ref))
        name = model.info.name
        save_png(reconstruction_grid(model, n=a.n), a.out / f"{name}-recon.png")
        if model.has_prior:
            save_png(sample_grid(model, n=a.n), a.out / f"{name}-samples.png")
        save_png(interpolation_grid(model), a.out / f"{name}-interp.png")
        print(f"{name}: wrote {a.out}/{name}-*.png", flush=True)


if __name__ == "__main__":
    main()
