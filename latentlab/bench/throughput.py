"""Section 6: AE vs PCA test MSE at equal latent size, and training throughput.

PCA is the optimal *linear* autoencoder under squared error (Baldi & Hornik 1989), so it is the
bar a nonlinear AE must clear at the same d. MSE is recorded in each checkpoint's training.json
and re-measured here on the same test split.

Throughput (`train_speed`, also `python scripts/bench_train.py`): each committed
`configs/*.json` is built exactly as `python -m latentlab train` builds it (same family, latent
size and model arguments) and times S optimisation steps after two warm-up steps, on a fixed
random batch shaped like its dataset's images. PCA configs time a closed-form fit of 4,000
random images instead. Printed and recorded, not asserted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import fmt, md_table
from latentlab.config import TrainConfig
from latentlab.models import Batch, build_model
from latentlab.sources import dataset_of

TITLE = "6. Reconstruction vs PCA, and training throughput"
# Families the zoo has per dataset (d = 10, 16, 32 for every family of a dataset).
DATASETS = {"shapes": ("pca", "ae", "vae"), "mnist": ("pca", "ae", "dae", "vae"),
            "faces": ("pca", "ae", "dae", "vae")}
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
IMAGE_SHAPES = {"faces": (3, 64, 64), "mnist": (1, 28, 28)}  # shapes: (1, size, size), see image_shape


def mse_rows(ctx: Context) -> tuple[list[list], list[str], dict]:
    rows, data = [], {}
    found, absent = ctx.models(f"{ds}_{fam}" for ds, families in DATASETS.items() for fam in families)
    for name, model in found:
        measured = model.evaluate(dataset_of(model).x_test)
        recorded = model.info.test_metrics.get("mse")
        seconds = model.info.training.get("seconds")
        data[name] = {"recorded_mse": recorded, **measured}
        rows.append([model.info.dataset["name"], name, model.label, str(model.latent_dim),
                     fmt(recorded, 4), f"{measured['mse']:.4f}", f"{measured['psnr']:.2f}",
                     fmt(seconds, 0)])
    return rows, absent, data


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


def train_speed(threads: int, steps: int = 10, batch: int = 64, report=None) -> dict:
    """{threads, batch, rows}: images/s (or a PCA fit's seconds) of every committed config, with
    `threads` torch threads (restored afterwards). `report(row)` is called as each row is done."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for path in sorted(CONFIGS.glob("*.json")):
            cfg = TrainConfig.from_dict(json.loads(path.read_text()))
            model, shape = build(cfg), image_shape(cfg)
            row = {"name": cfg.name, "dataset": cfg.data.name, "family": model.label}
            if model.closed_form:
                row["fit_seconds_4000"] = round(pca_fit_seconds(model, shape), 2)
            else:
                row["images_per_second"] = round(images_per_second(model, shape, steps, batch), 1)
            rows.append(row)
            if report:
                report(row)
    finally:
        torch.set_num_threads(before)
    return {"threads": threads, "batch": batch, "rows": rows}


def bench_train(ctx: Context) -> dict:
    """Training throughput with this run's thread count ({threads, batch, rows})."""
    return train_speed(ctx.settings.threads, ctx.settings.bench_train_steps)


def throughput_table(result: dict) -> str:
    rows = []
    for r in result["rows"]:
        if "images_per_second" in r:
            rows.append([r["name"], r["family"], r["images_per_second"], "–"])
        else:
            rows.append([r["name"], r["family"], "–", r["fit_seconds_4000"]])
    return md_table(["config", "family", "train images/s", "PCA fit of 4,000 images (s)"], rows,
                    digits=1)


def run(ctx: Context) -> Section:
    rows, absent, data = mse_rows(ctx)
    headers = ["data", "model", "family", "d", "test MSE (training.json)", "test MSE (re-measured)",
               "PSNR dB", "train seconds (zoo)"]
    body = [("Per-pixel test MSE at equal d per dataset (images in [0, 1]). Zoo training times "
             "were measured while two training queues shared the machine's cores.\n"),
            md_table(headers, rows) + missing(absent)]
    if not ctx.settings.bench_train_steps:
        body.append("\n(`scripts/bench_train.py` skipped in this run: bench_train_steps = 0.)\n")
        return Section("throughput", TITLE, "\n".join(body), data)
    bench = bench_train(ctx)
    data["bench_train"] = bench
    body.append(f"\n`python scripts/bench_train.py --threads {bench['threads']} --steps "
                f"{ctx.settings.bench_train_steps}` (batch {bench['batch']}, each committed config's "
                "model, random images; after 2 warm-up steps):\n")
    body.append(throughput_table(bench))
    return Section("throughput", TITLE, "\n".join(body), data)
