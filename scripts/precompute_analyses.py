"""Fit what Edit shows for every zoo model and ship it in checkpoints/<name>/cache/: the
least-leaking attribute directions (latentlab.latent.directions) and the names of the latent
dimensions (latentlab.latent.naming), both keyed by the checkpoint hash.

Usage: python scripts/precompute_analyses.py [name ...]      (default: the whole zoo)
Run after precompute_maps.py (it reuses the shipped test latents, so GLO's codes are not
re-optimised). Prints, per model, timings, each default direction's measured slope and leak
(label stds per step, held-out codes), how many are clean, and the bytes the analyses add.
Models whose code has more than MAX_DIMS numbers (the codecs' spatial maps) are skipped: one
slider per number is no edit a person can use, and their caches would not be small.
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

import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.checkpoint import zoo_names  # noqa: E402
from latentlab.latent.directions import directions_key, load_or_fit_directions  # noqa: E402
from latentlab.latent.naming import load_or_name_dims, names_key  # noqa: E402

MAX_DIMS = 256


def added_bytes(cache: Path, keys: list[str]) -> int:
    """Bytes of the files whose names start with one of `keys` in `cache`."""
    return sum(f.stat().st_size for f in cache.iterdir() if any(f.name.startswith(k) for k in keys))


def precompute(name: str) -> None:
    model = latentlab.load(name)
    if model.latent_dim > MAX_DIMS:
        print(f"{name}: skipped, its code has {model.latent_dim} numbers (> {MAX_DIMS})", flush=True)
        return
    cache = Path(model.info.path) / "cache"
    t0 = time.perf_counter()
    dirs = load_or_fit_directions(model, write_to=cache)
    t1 = time.perf_counter()
    names = load_or_name_dims(model, write_to=cache)
    t2 = time.perf_counter()
    named = [n.label for n in names if n.family] if names is not None else []
    size = added_bytes(cache, [directions_key(model), names_key(model)])
    print(f"{name}: directions {t1 - t0:.1f}s, names {t2 - t1:.1f}s; {len(named)}/{model.latent_dim} dims "
          f"named; cache +{size / 1024:.1f} KB", flush=True)
    if dirs is None:
        print("  no attribute directions: its test split gives no attribute to contrast", flush=True)
        return
    clean = [k for k, ok in dirs.clean_.items() if ok]
    print(f"  clean {len(clean)}/{len(dirs.directions_)}", flush=True)
    for k in dirs.directions_:
        print(f"  {k:<28} {dirs.method_[k]:<16} slope {dirs.slope_[k]:6.2f}  leak {dirs.leakage_[k]:6.2f}"
              f" ({dirs.worst_[k]}){'' if dirs.clean_[k] else '  NOT CLEAN'}", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    for name in sys.argv[1:] or zoo_names():
        precompute(name)


if __name__ == "__main__":
    main()
