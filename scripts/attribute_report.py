"""Attribute directions of a checkpoint, old default against new, measured (printed, not asserted).

Usage: python scripts/attribute_report.py [--models faces_ae faces_vae ...] [--samples 32] [--pixel]
For every attribute target the app offers (latentlab.latent.labels.attribute_targets), compare
the app's old default, the mean difference of the test codes, with the least-leaking default of
latentlab.latent.directions (shipped in checkpoints/<name>/cache/ for the zoo, fitted otherwise).
Both are applied to the same held-out codes (a sample the selection never saw), decoded, and read
by the dataset's readers: `slope` is the target's change and `leak` the largest change of an
attribute of another family, both in label standard deviations per step (one step = one std of
the codes along the direction), with the attribute that leaks most. With --pixel, the ridge pixel
readers are used instead of the classifier's (only attributes their held-out R² trusts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.latent import encode_split  # noqa: E402
from latentlab.latent.directions import load_or_fit_directions, measure_direction  # noqa: E402
from latentlab.latent.labels import attribute_targets  # noqa: E402
from latentlab.latent.readers import dataset_readers, families, reading_values  # noqa: E402
from latentlab.zoo import dataset_of  # noqa: E402


def old_default(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The app's previous default: the normalised mean difference of the codes."""
    v = z[y].mean(0) - z[~y].mean(0)
    return v / np.linalg.norm(v)


def report(name: str, readers, samples: int, seed: int) -> list[tuple]:
    model = latentlab.load(name)
    data = dataset_of(model)
    lat = encode_split(model, "test")
    z = lat.z.astype(np.float64)
    targets = attribute_targets(lat.labels, data.categories)
    family = families(lat.labels, list(reading_values(lat.labels, data.categories)))
    new = load_or_fit_directions(model, progress=lambda f, m: print(f"  {f:4.0%} {m}", end="\r", file=sys.stderr))
    codes = z[np.random.default_rng(seed).permutation(len(z))[:samples]]
    rows = []
    for target, y in targets.items():
        v_old = old_default(z, y)
        old = measure_direction(model, codes, v_old, float((z @ v_old).std()), readers, target, family)
        fresh = measure_direction(model, codes, new.directions_[target], new.scale_[target], readers,
                                  target, family)
        rows.append((name, target, old, new.method_[target], fresh))
    return rows


def fmt(r: dict) -> str:
    worst = f"{r['leakage']:.2f} {r['worst'] or ''}" if np.isfinite(r["leakage"]) else "–"
    return f"{r['slope']:>6.2f} {worst:<30}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="*", default=["faces_ae", "faces_vae", "faces_bvae4", "faces_dae", "faces_pca"])
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--seed", type=int, default=2, help="codes to edit; the shipped selection used seed 0")
    p.add_argument("--pixel", action="store_true", help="read with ridge pixel regressors instead")
    a = p.parse_args()
    torch.set_num_threads(1)
    data = dataset_of(latentlab.load(a.models[0]))
    readers = dataset_readers(data, "pixel" if a.pixel else "auto")
    print(f"readers: {readers.kind}; held-out R²: " + ", ".join(f"{k} {r:.2f}" for k, r in readers.r2_.items()))
    print(f"\n{'model':<12} {'attribute':<26} {'old: slope':>10} {'leak':<30} {'new method':<16} {'slope':>6} {'leak':<30}")
    for name in a.models:
        for model, target, old, method, new in report(name, readers, a.samples, a.seed):
            print(f"{model:<12} {target:<26} {fmt(old):>41} {method:<16} {fmt(new)}", flush=True)


if __name__ == "__main__":
    main()
