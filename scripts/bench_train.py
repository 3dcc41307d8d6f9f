"""Training throughput per family and dataset, in images per second (printed, not asserted).

Usage: python scripts/bench_train.py [--threads N] [--steps S] [--batch B] [--json out.json]
Each (dataset, family) pair builds the zoo's architecture and times S optimisation steps after
two warm-up steps, on fixed random batches of the dataset's images.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from latentlab.models import Batch, build_model  # noqa: E402

SHAPES = {"shapes": (1, 32, 32), "faces": (3, 64, 64), "mnist": (1, 28, 28)}
LATENT = {"shapes": 10, "faces": 32, "mnist": 16}
FAMILIES = {
    "AE": ("ae", {}),
    "DAE": ("ae", {"noise": "gaussian", "noise_level": 0.2}),
    "VAE": ("vae", {}),
    "β-VAE": ("vae", {"beta": 4.0}),
}


def images_per_second(shape, latent, family, args, steps, batch) -> float:
    torch.manual_seed(0)
    model = build_model(family, image_shape=list(shape), latent_dim=latent, width=32, **args)
    opts = model.make_optimizers(1e-3, 0.0)
    x = torch.rand(batch, *shape)
    b = Batch(x, torch.arange(batch))
    for _ in range(2):
        model.train_step(b, 0, opts)
    t0 = time.perf_counter()
    for step in range(steps):
        model.train_step(b, step, opts)
    return steps * batch / (time.perf_counter() - t0)


def pca_fit_seconds(shape, latent, n=4000) -> float:
    from latentlab.models import PCA

    x = torch.rand(n, *shape)
    t0 = time.perf_counter()
    PCA(list(shape), latent).fit(x)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"# torch {torch.__version__}, {a.threads} thread(s), {platform.processor() or platform.machine()}, "
          f"batch {a.batch}, {a.steps} timed steps")
    rows = []
    print(f"{'dataset':<8} {'family':<6} {'images/s':>9}")
    for ds, shape in SHAPES.items():
        for label, (family, args) in FAMILIES.items():
            ips = images_per_second(shape, LATENT[ds], family, args, a.steps, a.batch)
            rows.append({"dataset": ds, "family": label, "images_per_second": round(ips, 1)})
            print(f"{ds:<8} {label:<6} {ips:>9.1f}", flush=True)
        secs = pca_fit_seconds(shape, LATENT[ds])
        rows.append({"dataset": ds, "family": "PCA", "fit_seconds_4000": round(secs, 2)})
        print(f"{ds:<8} {'PCA':<6} {'fit 4000 images in':>9} {secs:.2f} s", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"threads": a.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
