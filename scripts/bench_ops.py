"""Latency of the latent operations the app calls, on zoo models (printed, not asserted).

Usage: python scripts/bench_ops.py [--models faces_ae faces_vae ...] [--threads 1]
Per model: encode and decode of one image and of a batch of 256, a 16-frame interpolation
(encode two images, slerp, decode), and a latent edit (one decode). Per map method: fit time
in a cold process (imports and numba compilation included) and a warm refit, and the time to
place one new point. Medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def model_latencies(name: str) -> dict:
    import torch

    import latentlab
    from latentlab.latent import interpolate
    from latentlab.zoo import dataset_of

    model = latentlab.load(name)
    x = dataset_of(model).x_test[:256]
    z = model.encode(x)
    with torch.inference_mode():
        return {
            "model": name,
            "encode_1_ms": _median_ms(lambda: model.encode(x[:1])),
            "decode_1_ms": _median_ms(lambda: model.decode(z[:1])),
            "encode_256_ms": _median_ms(lambda: model.encode(x), 3),
            "decode_256_ms": _median_ms(lambda: model.decode(z), 3),
            "interp16_ms": _median_ms(lambda: interpolate(model, x[0], x[1], 16, "slerp")),
        }


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch; torch.set_num_threads(int(sys.argv[3]))
import latentlab
from latentlab.latent.cache import encode_split
from latentlab.latent.project import LatentMap
model = latentlab.load(sys.argv[1]); z = encode_split(model).z
t1 = time.perf_counter()
m = LatentMap(sys.argv[2]).fit(z)
t2 = time.perf_counter()
LatentMap(sys.argv[2]).fit(z)
t3 = time.perf_counter()
m.transform(z[:1] + 0.01)
t4 = time.perf_counter()
print(json.dumps({"model": sys.argv[1], "method": sys.argv[2], "n": len(z), "setup_s": round(t1 - t0, 2),
                  "cold_fit_s": round(t2 - t1, 2), "warm_fit_s": round(t3 - t2, 2),
                  "transform_1_ms": round(1000 * (t4 - t3), 1)}))
"""


def map_timings(name: str, method: str, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, name, method, str(threads)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="*", default=["mnist_ae", "mnist_vae", "mnist_pca", "faces_ae",
                                                   "faces_vae", "faces_pca"])
    p.add_argument("--map-model", default="mnist_vae")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    print(f"# torch {torch.__version__}, {a.threads} thread(s); times are medians")
    print(f"{'model':<12} {'enc 1':>8} {'dec 1':>8} {'enc 256':>9} {'dec 256':>9} {'interp 16':>10}  (ms)")
    for name in a.models:
        r = model_latencies(name)
        print(f"{name:<12} {r['encode_1_ms']:>8.2f} {r['decode_1_ms']:>8.2f} {r['encode_256_ms']:>9.1f} "
              f"{r['decode_256_ms']:>9.1f} {r['interp16_ms']:>10.2f}", flush=True)
    print(f"\nmaps of {a.map_model}'s test latents, each in a fresh process:")
    for method in ("pca", "umap", "tsne"):
        r = map_timings(a.map_model, method, a.threads)
        print(f"{method:<5} n={r['n']}  cold fit {r['cold_fit_s']:.2f} s  warm fit {r['warm_fit_s']:.2f} s  "
              f"transform 1 point {r['transform_1_ms']:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
