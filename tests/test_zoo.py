"""Every shipped checkpoint: its config is one committed file, it fits the size budget, it loads,
and it reconstructs its test split within the MSE recorded in training.json."""

import json
from pathlib import Path

import pytest
import torch

import latentlab
from latentlab.checkpoint import ZOO_DIR, zoo_names
from latentlab.config import TrainConfig
from latentlab.zoo import dataset_of, reconstruction_grid

ROOT = Path(__file__).resolve().parent.parent
NAMES = zoo_names()


def test_zoo_covers_every_embedded_dataset_and_family():
    have = {(json.loads((ZOO_DIR / n / "config.json").read_text())["dataset"]["name"],
             json.loads((ZOO_DIR / n / "config.json").read_text())["label"].split(" ")[0]) for n in NAMES}
    for ds in ("shapes", "faces", "mnist"):
        for fam in ("AE", "VAE", "β-VAE", "PCA"):
            assert (ds, fam) in have, f"zoo lacks {fam} on {ds}"
    for ds in ("faces", "mnist"):
        assert (ds, "DAE") in have


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_has_its_config_and_budget(name):
    folder = ZOO_DIR / name
    assert (ROOT / "configs" / f"{name}.json").exists()
    assert (folder / "model.safetensors").stat().st_size <= 5 * 1024 * 1024
    training = json.loads((folder / "training.json").read_text())
    committed = TrainConfig.from_dict(json.loads((ROOT / "configs" / f"{name}.json").read_text())).to_dict()
    recorded = dict(training["config"])
    recorded["threads"] = committed["threads"]  # the one setting the command line may override
    assert recorded == committed, "the checkpoint was trained with another config than the committed one"


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_reconstructs_test_split_within_recorded_mse(name):
    model = latentlab.load(name)
    x = dataset_of(model).x_test
    recorded = model.info.test_metrics["mse"]
    measured = model.evaluate(x)["mse"]
    assert measured == pytest.approx(recorded, rel=1e-3, abs=1e-6)
    with torch.inference_mode():
        baseline = (x - x.mean(0)).pow(2).mean().item()  # predicting the mean image
    assert measured < 0.6 * baseline


def test_reconstruction_grid_keeps_pairs_aligned_when_the_last_row_is_short():
    model = latentlab.load("mnist_pca")
    grid = reconstruction_grid(model, n=20, nrow=8)  # rows of 8, 8, 4 (+4 blanks)
    cell = 28 + 2
    assert grid.shape[1:] == (6 * cell - 2, 8 * cell - 2)  # 3 pairs of rows, 8 columns, 2 px gaps
    last_originals = grid[:, 4 * cell: 5 * cell - 2]
    last_recons = grid[:, 5 * cell: 6 * cell - 2]
    blank = slice(4 * cell - 2, None)  # columns 4-7 of the short pair (and the gap before): grey
    assert torch.all(last_originals[:, :, blank] == 0.5) and torch.all(last_recons[:, :, blank] == 0.5)
    assert not torch.all(last_recons[:, :, : 4 * cell] == 0.5)


def test_conv_ae_beats_pca_at_equal_latent_size_on_mnist():
    ae, pca = latentlab.load("mnist_ae"), latentlab.load("mnist_pca")
    assert ae.latent_dim == pca.latent_dim
    assert ae.info.test_metrics["mse"] < 0.6 * pca.info.test_metrics["mse"]
