"""Which models keep interpolations on the data manifold? (printed, not asserted)

Usage: python scripts/interpolation_quality.py [--pairs 100] [--models ...]
For random pairs of test images, decode a 16-frame path (linear and slerp) and measure the
interior frames' per-pixel MSE to their nearest real test image (realism: lower is closer to
data) and the evenness of frame-to-frame change (smoothness CV: 0 is perfectly even). A
pixel crossfade of the same pairs is the baseline. Endpoint frames are excluded, so the
numbers are about the path, not about reconstruction error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.latent import crossfade, interpolate, path_quality  # noqa: E402
from latentlab.zoo import dataset_of  # noqa: E402


def measure(frames_fn, pairs, x) -> tuple[float, float]:
    realism, smooth = [], []
    for i, j in pairs:
        frames = frames_fn(x[i], x[j])
        q = path_quality(frames, x)
        realism.append(float(np.mean(q["realism_per_frame"][1:-1])))
        smooth.append(q["smoothness_cv"])
    return float(np.mean(realism)), float(np.mean(smooth))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--models", nargs="*", default=["mnist_ae", "mnist_dae", "mnist_vae", "mnist_bvae4",
                                                   "mnist_pca", "faces_ae", "faces_vae", "faces_pca"])
    a = p.parse_args()
    torch.set_num_threads(1)
    pairs_of = {}  # one set of pairs per dataset: every model and the crossfade see the same ones
    print(f"{'model':<12} {'lerp realism':>13} {'slerp realism':>14} {'lerp cv':>8} {'slerp cv':>9}")
    shown = set()
    for name in a.models:
        model = latentlab.load(name)
        ds = dataset_of(model)
        x = ds.x_test
        if ds.name not in pairs_of:
            rng = np.random.default_rng(0)
            pairs_of[ds.name] = np.stack([rng.choice(len(x), 2, replace=False) for _ in range(a.pairs)])
        pairs = pairs_of[ds.name]
        lin = measure(lambda u, v, m=model: interpolate(m, u, v, 16, "linear"), pairs, x)
        sph = measure(lambda u, v, m=model: interpolate(m, u, v, 16, "slerp"), pairs, x)
        print(f"{name:<12} {lin[0]:>13.4f} {sph[0]:>14.4f} {lin[1]:>8.3f} {sph[1]:>9.3f}", flush=True)
        if ds.name not in shown:
            shown.add(ds.name)
            fade = measure(lambda u, v: crossfade(u, v, 16), pairs, x)
            print(f"{ds.name + ' xfade':<12} {fade[0]:>13.4f} {'':>14} {fade[1]:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
