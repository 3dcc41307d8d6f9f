"""The hybrids benchmark section on a tiny zoo (one epoch, width 4): it runs, names what it
skipped, and its numbers are in range."""

import json

import numpy as np
import pytest
from test_bench import tiny_zoo  # noqa: F401  (the shared tiny-zoo builder)

from latentlab.bench.__main__ import main
from latentlab.config import TrainConfig
from latentlab.datasets import load_dataset
from latentlab.train import train

TINY = {"mnist_ae": ("ae", {}), "mnist_glo": ("glo", {"n_codes": 128, "encode_steps": 5, "eval_images": 8}),
        "mnist_aae": ("aae", {"disc_width": 8}), "mnist_vaegan": ("vaegan", {"disc_width": 4})}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-hybrids")
    data = load_dataset("mnist")
    small = type(data)(data.name, data.x_train[:128], data.x_test[:64])
    for name, (family, args) in TINY.items():
        cfg = TrainConfig.from_dict({"name": name, "data": {"name": "mnist"},
                                     "model": {"family": family, "latent_dim": 4, "args": {"width": 4, **args}},
                                     "epochs": 1, "batch_size": 64, "seed": 0, "threads": 1})
        train(cfg, out_dir=root / "zoo", data=small, allow_collapse=True)  # smoke-sized: files, not quality
    main(["--quick", "--zoo", str(root / "zoo"), "--out", str(root / "BENCH.md"), "--sections", "hybrids"])
    return root


def test_section_runs_and_names_the_missing_checkpoints(report):
    text = (report / "BENCH.md").read_text()
    assert "## 10. GLO, adversarial autoencoder and VAE-GAN" in text and "Not run" not in text
    assert "mnist_vae" in text and "faces_glo" in text  # absent ones are listed as skipped
    assert (report / "docs" / "hybrids_mnist.png").read_bytes()[:4] == b"\x89PNG"


def test_numbers_are_in_range(report):
    raw = json.loads((report / "docs" / "benchmarks.json").read_text())["hybrids"]["data"]["mnist"]
    for name in TINY:
        row = raw[name]
        assert 0 < row["mse"] < 1 and row["psnr"] > 0 and 0 <= row["realism"] < 1
        assert row["mb"] > 0 and row["epochs"] == 1
        for key in ("sample_fd", "recon_fd", "mid_fd"):
            assert row.get(key) is None or (np.isfinite(row[key]) and row[key] >= 0)
    assert raw["mnist_ae"].get("sample_fd") is None  # a plain AE has no prior to sample
