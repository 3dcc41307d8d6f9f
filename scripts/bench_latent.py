"""Time the latent maps on synthetic codes: UMAP cold start (fit in a fresh process, numba
compilation included), the neighbour-fallback transform, UMAP's own transform, t-SNE fit/transform.

    python scripts/bench_latent.py [--n 2000] [--dim 16]

Each measurement runs in its own subprocess so "cold" really is cold. One thread throughout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, torch
torch.set_num_threads(1)
from latentlab.latent.project import LatentMap
n, dim, method, fast = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
rng = np.random.default_rng(0)
z = np.concatenate([rng.normal(3.0 * c, 1.0, (n // 4, dim)) for c in range(4)])
queries = z[:200] + rng.normal(0, 0.05, (200, dim))
t1 = time.perf_counter()
m = LatentMap(method, fast_transform=fast).fit(z)
t2 = time.perf_counter()
m.transform(queries[:1])
t3 = time.perf_counter()
m.transform(queries)
t4 = time.perf_counter()
print(json.dumps({"method": method, "fast_transform": fast, "n": n, "dim": dim,
                  "import_s": round(t1 - t0, 2), "fit_s": round(t2 - t1, 2),
                  "first_transform_1_s": round(t3 - t2, 4),
                  "transform_200_s": round(t4 - t3, 4)}))
"""


def run(n: int, dim: int, method: str, fast: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(dim), method, str(int(fast))],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=16)
    args = ap.parse_args()
    for method, fast in (("umap", True), ("umap", False), ("tsne", False), ("tsne", True),
                         ("pca", False)):
        print(json.dumps(run(args.n, args.dim, method, fast)), flush=True)


if __name__ == "__main__":
    main()
