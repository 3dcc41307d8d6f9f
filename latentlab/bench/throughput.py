"""Section 6: AE vs PCA test MSE at equal latent size, and training throughput.

PCA is the optimal *linear* autoencoder under squared error (Baldi & Hornik 1989), so it is the
bar a nonlinear AE must clear at the same d. MSE is recorded in each checkpoint's training.json
and re-measured here on the same test split. Throughput comes from `scripts/bench_train.py`, run
in a subprocess with this run's thread count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import fmt, md_table
from latentlab.zoo import dataset_of

TITLE = "6. Reconstruction vs PCA, and training throughput"
# Families the zoo has per dataset (d = 10, 16, 32 for every family of a dataset).
DATASETS = {"shapes": ("pca", "ae", "vae"), "mnist": ("pca", "ae", "dae", "vae"),
            "faces": ("pca", "ae", "dae", "vae")}
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_train.py"


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


def bench_train(ctx: Context) -> dict:
    """Run scripts/bench_train.py and return its JSON ({threads, rows})."""
    s = ctx.settings
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        cmd = [sys.executable, str(SCRIPT), "--threads", str(s.threads), "--steps",
               str(s.bench_train_steps), "--json", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800)
        return json.loads(out.read_text())


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
