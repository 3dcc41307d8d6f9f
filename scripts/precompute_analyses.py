"""Fit what Edit shows for every zoo model and ship it in checkpoints/<name>/cache/: the
least-leaking attribute directions (latentlab.latent.directions) and the names of the latent
dimensions (latentlab.latent.naming), both keyed by the checkpoint hash.

Usage: python scripts/precompute_analyses.py [name ...]      (default: the whole zoo)
Run after precompute_maps.py (it reuses the shipped test latents). Prints timings and, per
model, the attributes whose chosen direction still moves another attribute more than its own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Look only at what ships: a user cache would satisfy lookups without writing into checkpoints/.
os.environ["LATENTLAB_CACHE"] = tempfile.mkdtemp(prefix="latentlab-precompute-")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.checkpoint import zoo_names  # noqa: E402
from latentlab.latent.directions import load_or_fit_directions  # noqa: E402
from latentlab.latent.naming import load_or_name_dims  # noqa: E402


def precompute(name: str) -> None:
    model = latentlab.load(name)
    cache = Path(model.info.path) / "cache"
    t0 = time.perf_counter()
    dirs = load_or_fit_directions(model, write_to=cache)
    t1 = time.perf_counter()
    names = load_or_name_dims(model, write_to=cache)
    t2 = time.perf_counter()
    named = [n.label for n in names if n.family]
    print(f"{name}: directions {t1 - t0:.1f}s, names {t2 - t1:.1f}s; {len(named)}/{len(names)} dims named",
          flush=True)
    if dirs is not None:
        bad = [k for k in dirs.directions_ if np.isfinite(dirs.leakage_[k]) and dirs.leakage_[k] >= abs(dirs.slope_[k])]
        print(f"  leaks more than it moves: {bad or 'none'}", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    for name in sys.argv[1:] or zoo_names():
        precompute(name)


if __name__ == "__main__":
    main()
