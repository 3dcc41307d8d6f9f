"""Training throughput of every zoo config, in images per second (printed, not asserted).

Usage: python scripts/bench_train.py [--threads N] [--steps S] [--batch B] [--json out.json]
A thin entry point: the measurement is latentlab.bench.throughput.train_speed (see there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from latentlab.bench.report import cpu_model  # noqa: E402
from latentlab.bench.throughput import train_speed  # noqa: E402


def show(row: dict) -> None:
    if "fit_seconds_4000" in row:
        print(f"{row['name']:<14} {row['family']:<12} fit 4000 images in {row['fit_seconds_4000']:.2f} s", flush=True)
    else:
        print(f"{row['name']:<14} {row['family']:<12} {row['images_per_second']:>9.1f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    print(f"# torch {torch.__version__}, {a.threads} thread(s), {cpu_model()}, "
          f"batch {a.batch}, {a.steps} timed steps")
    print(f"{'config':<14} {'family':<12} {'images/s':>9}")
    result = train_speed(a.threads, a.steps, a.batch, report=show)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
