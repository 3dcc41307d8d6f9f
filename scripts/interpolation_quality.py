"""Which models keep interpolations on the data? (printed, not asserted)

Usage: python scripts/interpolation_quality.py [--pairs 100] [--models ...]
For random pairs of test images whose main label differs (digit, smile level, sprite shape),
decode a 16-frame path (linear and slerp) and judge every frame with the dataset's classifier,
trained on real images only (latentlab.metrics.classifier): `on data` is the mean number of the
16 frames that look like the data (realness and label confidence above the levels 99 % of real
test images reach; endpoints included, so a model whose reconstructions look unreal pays). `FD`
is the Fréchet distance between the classifier features of all interior frames and those of the
real test images (lower is closer). `old NN-MSE` is the measure this replaces: per-pixel MSE
from each interior frame to its nearest real test image, which rewards the ghosted average a
crossfade shows. Two baselines on the same pairs: the pixel crossfade, and 16 real test images.
Why: docs/path_quality.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.latent import crossfade, interpolate  # noqa: E402
from latentlab.latent.interpolate import nearest_mse  # noqa: E402
from latentlab.metrics.classifier import frechet_distance, load_classifier  # noqa: E402
from latentlab.zoo import dataset_of  # noqa: E402

STEPS = 16


def contrasting_pairs(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n seeded pairs of indices `[n, 2]` whose labels differ."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        i, j = rng.choice(len(labels), 2, replace=False)
        if labels[i] != labels[j]:
            out.append((i, j))
    return np.asarray(out)


def measure(frames_fn, pairs, x, clf, real_features) -> dict:
    """Mean on-data frames per path, FD of interior frames, mean interior NN-MSE."""
    on, feats, mse = [], [], []
    for i, j in pairs:
        frames = frames_fn(i, j)
        on.append(int(clf.on_data(frames).sum()))
        feats.append(clf.features(frames[1:-1]).double().numpy())
        mse.append(float(nearest_mse(frames[1:-1], x).mean()))
    return {"on": float(np.mean(on)), "fd": frechet_distance(np.concatenate(feats), real_features),
            "mse": float(np.mean(mse))}


def row(name: str, results: dict) -> str:
    cells = [f"{results[m]['on']:>5.1f}/16" if m in results else f"{'':>8}" for m in ("linear", "slerp")]
    cells += [f"{results[m]['fd']:>8.1f}" if m in results else f"{'':>8}" for m in ("linear", "slerp")]
    first = next(iter(results.values()))
    return f"{name:<14} {cells[0]} {cells[1]} {cells[2]} {cells[3]} {first['mse']:>10.4f}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--models", nargs="*", default=["mnist_ae", "mnist_dae", "mnist_vae", "mnist_bvae4",
                                                   "mnist_pca", "faces_ae", "faces_vae", "faces_pca",
                                                   "shapes_ae", "shapes_vae", "shapes_bvae4", "shapes_pca"])
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"{'model':<14} {'on data':>8} {'':>8} {'FD':>8} {'':>8} {'old NN-MSE':>10}")
    print(f"{'':<14} {'linear':>8} {'slerp':>8} {'linear':>8} {'slerp':>8} {'linear':>10}")
    seen = {}
    for name in a.models:
        model = latentlab.load(name)
        ds = dataset_of(model)
        if ds.name not in seen:
            seen[ds.name] = baselines(ds, a.pairs)
        clf, x, pairs, real_features = seen[ds.name]
        res = {m: measure(lambda i, j, m=m, model=model, x=x: interpolate(model, x[i], x[j], STEPS, m),
                          pairs, x, clf, real_features) for m in ("linear", "slerp")}
        print(row(name, res), flush=True)


def baselines(ds, n_pairs: int) -> tuple:
    """Print the real-image and crossfade rows of a dataset; return what its models are scored with."""
    clf = load_classifier(ds.name)
    x = ds.x_test
    pairs = contrasting_pairs(ds.labels_test[clf.labels[0]], n_pairs)
    real_features = clf.features(x).double().numpy()
    rng = np.random.default_rng(1)
    real = measure(lambda i, j: x[rng.choice(len(x), STEPS, replace=False)], pairs, x, clf, real_features)
    print(row(f"{ds.name} real", {"linear": real}), flush=True)
    fade = measure(lambda i, j: crossfade(x[i], x[j], STEPS), pairs, x, clf, real_features)
    print(row(f"{ds.name} xfade", {"linear": fade}), flush=True)
    return clf, x, pairs, real_features

if __name__ == "__main__":
    main()
