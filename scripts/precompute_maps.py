"""Precompute what the app needs for the first screen of every zoo model, into
checkpoints/<name>/cache/: the test split's latents and its PCA, UMAP and t-SNE maps, and for
datasets with ground-truth factors (shapes, faces) the disentanglement scores.

Usage: python scripts/precompute_maps.py [name ...]      (default: the whole zoo)
Files are keyed by the checkpoint hash; files of an older hash are removed. Prints timings.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Look only at what ships: a user cache would satisfy lookups without writing into checkpoints/.
os.environ["LATENTLAB_CACHE"] = tempfile.mkdtemp(prefix="latentlab-precompute-")

import latentlab  # noqa: E402
from latentlab.checkpoint import zoo_names  # noqa: E402
from latentlab.latent.cache import DEFAULT_PARAMS, encode_split, latent_map  # noqa: E402
from latentlab.metrics.scorecard import checkpoint_scores  # noqa: E402
from latentlab.zoo import dataset_of  # noqa: E402


def precompute(name: str) -> None:
    model = latentlab.load(name)
    cache = Path(model.info.path) / "cache"
    cache.mkdir(exist_ok=True)
    for old in cache.iterdir():
        if not old.name.startswith(model.info.hash):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    t0 = time.perf_counter()
    encode_split(model, "test", write_to=cache)
    timings = [f"encode {time.perf_counter() - t0:.1f}s"]
    for method in DEFAULT_PARAMS:
        t0 = time.perf_counter()
        latent_map(model, method, "test", write_to=cache)
        timings.append(f"{method} {time.perf_counter() - t0:.1f}s")
    if dataset_of(model).factors is not None and getattr(model, "slow_encode", False):
        # GLO encodes each of the scorecard's ~29,100 faces by an optimisation (~10 images/s on
        # one core here): about an hour, so it is left to the app's on-demand task.
        timings.append("disentanglement scores skipped (encode by optimisation)")
    elif dataset_of(model).factors is not None:
        t0 = time.perf_counter()
        checkpoint_scores(model, write_to=cache)
        timings.append(f"disentanglement scores {time.perf_counter() - t0:.1f}s")
    print(f"{name}: " + ", ".join(timings), flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or zoo_names():
        precompute(name)
