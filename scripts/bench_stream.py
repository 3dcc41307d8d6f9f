"""Does rendering keep up with training? Images/s of the shapes factor stream (draw + render)
against images/s of one training step, for each family of the disentanglement sweep.

Usage: python scripts/bench_stream.py [--threads 1] [--steps 40] [--batch 64]
Prints one line per family and the share of a streamed step spent rendering. Under load the
absolute figures drop; the ratio is what matters.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latentlab.datasets import load_dataset  # noqa: E402
from latentlab.models import Batch, build_model  # noqa: E402

FAMILIES = {
    "β-VAE (β=4)": ("vae", {"beta": 4.0}),
    "β-TCVAE (β=6)": ("tcvae", {"beta": 6.0, "dataset_size": 737280}),
    "FactorVAE (γ=20)": ("factorvae", {"gamma": 20.0}),
}


def rate(fn, steps: int, batch: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("shapes", size=32, stream=True)
    gen = torch.Generator().manual_seed(0)
    rendered = rate(lambda: data.stream.batch(args.batch, gen), args.steps * 4, args.batch)
    print(f"stream: {rendered:,.0f} images/s drawn and rendered (threads={args.threads})")
    x, index = data.stream.batch(args.batch, gen)
    for label, (family, kw) in FAMILIES.items():
        torch.manual_seed(0)
        model = build_model(family, image_shape=[1, 32, 32], latent_dim=10, width=32, **kw)
        opts = model.make_optimizers(1e-3, 0.0)
        step = functools.partial(model.train_step, Batch(x, index), 0, opts, gen)
        trained = rate(step, args.steps, args.batch)
        share = (1 / rendered) / (1 / rendered + 1 / trained)
        print(f"{label}: {trained:,.0f} images/s trained; rendering would take {share:.1%} of a "
              f"streamed step")


if __name__ == "__main__":
    main()
