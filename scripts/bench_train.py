"""Training throughput of every zoo config, in images per second (printed, not asserted).

Usage: python scripts/bench_train.py [--threads N] [--steps S] [--batch B] [--json out.json]
Each committed `configs/*.json` is built exactly as `python -m latentlab train` builds it (same
family, latent size and model arguments) and times S optimisation steps after two warm-up
steps, on a fixed random batch shaped like its dataset's images. PCA configs time a closed-form
fit of 4,000 random images instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentlab.bench.report import cpu_model  # noqa: E402
from latentlab.config import TrainConfig  # noqa: E402
from latentlab.models import Batch, build_model  # noqa: E402

IMAGE_SHAPES = {"faces": (3, 64, 64), "mnist": (1, 28, 28)}  # shapes: (1, size, size), see below


def image_shape(cfg: TrainConfig) -> tuple[int, int, int]:
    if cfg.data.name == "shapes":
        size = cfg.data.options.get("size", 64)
        return (1, size, size)
    return IMAGE_SHAPES[cfg.data.name]


def build(cfg: TrainConfig):
    torch.manual_seed(0)
    return build_model(cfg.model.family, image_shape=list(image_shape(cfg)),
                       latent_dim=cfg.model.latent_dim, **cfg.model.args)


def images_per_second(model, shape, steps: int, batch: int) -> float:
    opts = model.make_optimizers(1e-3, 0.0)
    b = Batch(torch.rand(batch, *shape), torch.arange(batch))
    for _ in range(2):
        model.train_step(b, 0, opts)
    t0 = time.perf_counter()
    for step in range(steps):
        model.train_step(b, step, opts)
    return steps * batch / (time.perf_counter() - t0)


def pca_fit_seconds(model, shape, n: int = 4000) -> float:
    x = torch.rand(n, *shape)
    t0 = time.perf_counter()
    model.fit(x)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"# torch {torch.__version__}, {a.threads} thread(s), {cpu_model()}, "
          f"batch {a.batch}, {a.steps} timed steps")
    rows = []
    print(f"{'config':<14} {'family':<12} {'images/s':>9}")
    for path in sorted((ROOT / "configs").glob("*.json")):
        cfg = TrainConfig.from_dict(json.loads(path.read_text()))
        model, shape = build(cfg), image_shape(cfg)
        row = {"name": cfg.name, "dataset": cfg.data.name, "family": model.label}
        if model.closed_form:
            row["fit_seconds_4000"] = round(secs := pca_fit_seconds(model, shape), 2)
            print(f"{cfg.name:<14} {model.label:<12} fit 4000 images in {secs:.2f} s", flush=True)
        else:
            row["images_per_second"] = round(ips := images_per_second(model, shape, a.steps, a.batch), 1)
            print(f"{cfg.name:<14} {model.label:<12} {ips:>9.1f}", flush=True)
        rows.append(row)
    if a.json:
        Path(a.json).write_text(json.dumps({"threads": a.threads, "batch": a.batch, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
