"""The compression section of the benchmark on a tiny mnist codec trained here: real bytes per
rate point, baselines within budget, the figures written."""

import torch

from latentlab import checkpoint
from latentlab.bench import compression
from latentlab.bench.core import QUICK, Context
from latentlab.codec import Codec
from latentlab.datasets import load_dataset
from latentlab.models import Batch


def tiny_mnist_codec(zoo):
    torch.manual_seed(0)
    model = Codec([1, 28, 28], latent_dim=2 * 49, width=8, stages=2, lmbda=0.05, steps=[1.0, 2.0, 4.0])
    x = load_dataset("mnist").x_train[:64]
    opt, gen = model.make_optimizers(5e-3, 0.0), torch.Generator().manual_seed(0)
    for step in range(20):
        model.train_step(Batch(x, torch.arange(64)), step, opt, gen)
    model.eval()
    model.evaluate(x[:8])  # fixes the tables, as training does before saving
    checkpoint.save(model, zoo / "mnist_codec_t", {"name": "mnist", "options": {}}, {})


def test_compression_section_measures_every_rate_point(tmp_path):
    tiny_mnist_codec(tmp_path / "zoo")
    ctx = Context(QUICK, tmp_path / "docs", tmp_path / "zoo")
    section = compression.run(ctx)
    d = section.data["mnist"]
    points = list(d["points"].values())
    assert [p["step"] for p in points] == [1.0, 2.0, 4.0]
    assert points[0]["bytes"] > points[-1]["bytes"]  # coarser steps, fewer bytes
    assert all(p["bpp"] == 8 * p["bytes"] / 784 for p in points)
    for p in points:
        for fmt in ("JPEG", "WEBP"):
            b = p[fmt]
            assert 0 <= b["fits"] <= b["n"] == QUICK.codec_images
            assert b["fits"] == 0 or b["bytes"] <= p["bytes"]
    assert (tmp_path / "docs" / "compression_rd.png").stat().st_size > 1000
    assert (tmp_path / "docs" / "compression_examples_mnist.png").exists()
    assert "no `faces_codec_*` checkpoint" in section.body and "| model | Δ |" in section.body
