"""The benchmark report: the IWAE estimator's bounds, the markdown helpers, and a --quick run of
`python -m latentlab.bench` end to end on a tiny zoo trained here."""

import json
import math

import numpy as np
import pytest
import torch

from latentlab import losses
from latentlab.bench import disentangle
from latentlab.bench.__main__ import main
from latentlab.bench.report import anchor, fmt, md_table, mean_std
from latentlab.config import TrainConfig
from latentlab.datasets import load_dataset
from latentlab.metrics.likelihood import (
    bernoulli_log_likelihood,
    importance_weighted_nll,
    iwae_bound,
    vae_nll,
)
from latentlab.models import build_model
from latentlab.train import train


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    return build_model("vae", image_shape=[1, 8, 8], latent_dim=3, arch="mlp", width=16).eval()


def grey_images(n=64, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


# -- likelihood -----------------------------------------------------------------------------------
def test_iw_nll_never_exceeds_the_elbo_of_the_same_samples():
    res = vae_nll(tiny_vae(), grey_images(), k=16, batch_size=20)
    assert res["iw_nll"] <= res["neg_elbo"]  # Jensen, image by image
    assert math.isfinite(res["iw_nll"]) and res["n"] == 64


def test_iwae_bound_tightens_with_k_on_average():
    model, x = tiny_vae(), grey_images(200)
    one = vae_nll(model, x, k=1, seed=1)["iw_nll"]
    res = vae_nll(model, x, k=64, seed=2, ks=(1, 8, 64))
    assert res["iw_nll"] < one  # the k=64 estimate is below the one-sample negative ELBO
    assert res["by_k"][1] > res["by_k"][8] > res["by_k"][64] == pytest.approx(res["iw_nll"])


def test_k1_bound_is_the_elbo():
    res = vae_nll(tiny_vae(), grey_images(), k=1)
    assert res["iw_nll"] == pytest.approx(res["neg_elbo"])


def test_iw_nll_converges_to_the_integral_for_a_one_dim_latent():
    """A hand-made linear-Bernoulli model with z in R: log p(x) by quadrature over z."""
    w, b = torch.linspace(-2, 2, 16).double(), torch.linspace(1, -1, 16).double()
    x = (torch.rand(5, 16, generator=torch.Generator().manual_seed(3)) < 0.5).double()

    def encode_stats(xs):  # a deliberately imperfect posterior guess
        return 0.5 * (xs * w).sum(1, keepdim=True) / 4, torch.full((len(xs), 1), -1.0).double()

    def log_px(z, xs):
        return bernoulli_log_likelihood(z * w + b, xs)

    grid = torch.linspace(-10, 10, 20001).double()[:, None]
    exact = torch.stack([torch.logsumexp(log_px(grid, xi.expand(len(grid), -1))
                                         - 0.5 * grid[:, 0] ** 2, 0) for xi in x])
    exact = exact + math.log(20 / 20000) - 0.5 * math.log(2 * math.pi)
    res = importance_weighted_nll(x, encode_stats, log_px, k=4000, seed=0)
    assert res["iw_nll"] == pytest.approx(float(-exact.mean()), abs=0.02)
    assert res["neg_elbo"] > float(-exact.mean()) + 0.02


def test_bernoulli_log_likelihood_is_minus_the_training_loss():
    logits, x = torch.randn(4, 1, 8, 8), grey_images(4)
    expected = -losses.reconstruction(logits, x, "bce") * 4
    assert bernoulli_log_likelihood(logits, x).sum() == pytest.approx(float(expected), rel=1e-5)


def test_iwae_bound_of_equal_weights_is_that_weight():
    log_w = torch.full((10, 3), -7.0)
    assert torch.allclose(iwae_bound(log_w), torch.full((3,), -7.0))


# -- markdown -------------------------------------------------------------------------------------
def test_md_table_formats_and_escapes():
    text = md_table(["a", "b"], [["x|y", 0.12345], [None, float("nan")]], digits=2)
    lines = text.strip().split("\n")
    assert lines[0] == "| a | b |" and lines[2] == "| x\\|y | 0.12 |" and lines[3] == "| – | – |"
    with pytest.raises(ValueError):
        md_table(["a"], [[1, 2]])


def test_cell_formats():
    assert fmt(True) == "yes" and fmt(3) == "3" and fmt(1.0, 1) == "1.0"
    assert mean_std((0.5, 0.25), 2) == "0.50 ± 0.25" and mean_std(None) == "–"
    assert anchor("1. Disentanglement: β sweep") == "1-disentanglement-β-sweep"


def test_ranks_put_the_largest_first():
    assert disentangle._ranks([0.1, 0.5, 0.3]) == [3, 1, 2]


# -- end to end -----------------------------------------------------------------------------------
TINY = {  # name -> (dataset, options, family, latent_dim, model args)
    "shapes_ae": ("shapes", {"size": 32, "n_train": 128, "n_test": 64}, "ae", 10, {}),
    "shapes_vae": ("shapes", {"size": 32, "n_train": 128, "n_test": 64}, "vae", 10, {}),
    "shapes_pca": ("shapes", {"size": 32, "n_train": 128, "n_test": 64}, "pca", 10, {}),
    "mnist_ae": ("mnist", {}, "ae", 16, {}),
    "mnist_vae": ("mnist", {}, "vae", 16, {}),
    "mnist_pca": ("mnist", {}, "pca", 16, {}),
    "faces_ae": ("faces", {"n_train": 32, "n_test": 16, "size": 32}, "ae", 8, {}),
}


def tiny_zoo(folder):
    """One epoch on at most 128 images, width 4: shapes and paths of the real zoo, in seconds."""
    for name, (ds, options, family, d, args) in TINY.items():
        if family != "pca":
            args = {"width": 4, **args}
        cfg = TrainConfig.from_dict({"name": name, "data": {"name": ds, "options": options},
                                     "model": {"family": family, "latent_dim": d, "args": args},
                                     "epochs": 1, "batch_size": 64, "seed": 0, "threads": 1})
        data = load_dataset(ds, **options)
        small = type(data)(data.name, data.x_train[:128], data.x_test[:64], factors=data.factors)
        train(cfg, out_dir=folder, data=small, allow_collapse=True)  # smoke-sized: files, not quality


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    tiny_zoo(root / "zoo")
    main(["--quick", "--zoo", str(root / "zoo"), "--out", str(root / "BENCH.md"),
          "--sections", "disentanglement,anomaly,probes,restoration,likelihood,throughput,conditional"])
    return root


def test_quick_run_writes_every_section(quick_report):
    root = quick_report
    text = (root / "BENCH.md").read_text()
    for module in ("1. Disentanglement", "2. Anomaly", "3. Few-label", "4. Restoration",
                   "5. Test log-likelihood", "6. Reconstruction vs PCA", "9. Conditional"):
        assert f"## {module}" in text
    assert "Not run" not in text
    assert "shapes_bvae4" in text  # missing checkpoints are named, not silently dropped


def test_quick_run_numbers_are_in_range(quick_report):
    root = quick_report
    raw = {k: v["data"] for k, v in json.loads((root / "docs" / "benchmarks.json").read_text()).items()}
    for r in raw["disentanglement"]["metrics"].values():
        assert all(0 <= r[m] <= 1 for m in disentangle.METRICS)
    for res in raw["anomaly"]["auroc"].values():
        assert all(0 <= v <= 1 for v in res["recon"].values())
    for res in raw["likelihood"]["models"].values():
        assert res["iw_nll"] <= res["neg_elbo"]
    assert all(np.isfinite(v["before"]) for v in raw["restoration"]["psnr"].values())


def test_quick_run_images_are_small_pngs(quick_report):
    root = quick_report
    pngs = list((root / "docs").glob("*.png"))
    assert any(p.name.startswith("traversal_") for p in pngs)
    assert any(p.name.startswith("anomaly_") for p in pngs)
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 200_000


def test_update_rerenders_with_notes_and_keeps_sections(quick_report):
    root = quick_report
    before = (root / "BENCH.md").read_text()
    (root / "docs" / "notes_anomaly.md").write_text("The 1s look like 1s.")
    main(["--quick", "--zoo", str(root / "zoo"), "--out", str(root / "BENCH.md"), "--update"])
    after = (root / "BENCH.md").read_text()
    assert "The 1s look like 1s." in after and "notes_anomaly.md" in after
    assert after.count("\n## ") == before.count("\n## ")
