"""The registry, mnist, and the user's own data (folder + attributes.csv, torchvision on disk)."""

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.datasets import load_dataset
from latentlab.errors import DatasetError


def test_mnist_is_the_shipped_real_digits_with_a_fixed_split():
    d = load_dataset("mnist")
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert d.x_train.dtype == torch.float32 and d.x_train.min() == 0 and d.x_train.max() == 1
    counts = np.bincount(np.concatenate([d.labels_train["digit"], d.labels_test["digit"]]))
    assert counts.tolist() == [500] * 10
    again = load_dataset("mnist", seed=0)
    assert torch.equal(again.x_test, d.x_test)
    other = load_dataset("mnist", seed=1)
    assert not torch.equal(other.x_test, d.x_test)


@pytest.mark.parametrize("name,shape", [("shapes", (1, 32, 32)), ("faces", (3, 64, 64))])
def test_procedural_datasets_through_the_registry(name, shape):
    opts = {"size": 32, "n_train": 50, "n_test": 10} if name == "shapes" else {"n_train": 50, "n_test": 10}
    d = load_dataset(name, **opts)
    assert d.shape == shape and d.factors is not None
    assert d.x_train.min() >= 0 and d.x_train.max() <= 1
    assert all(len(v) == 50 for v in d.labels_train.values())


def test_unknown_dataset_and_option_are_clear_errors():
    with pytest.raises(DatasetError, match="unknown dataset 'mnst'"):
        load_dataset("mnst")
    with pytest.raises(DatasetError, match="bad options for dataset 'mnist'"):
        load_dataset("mnist", colour=True)


def _write_images(folder, n=6):
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(folder / f"im{i}.png")


def test_folder_dataset_reads_images_and_attributes(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "attributes.csv").write_text("file,smiling,age\nim0.png,1,30\nim1.png,0,\nim5.png,1,41\n")
    d = load_dataset("folder", path=str(tmp_path), size=16, channels=3, test_fraction=0.34)
    assert d.x_train.shape[1:] == (3, 16, 16) and len(d.x_train) + len(d.x_test) == 6
    labels = np.concatenate([d.labels_train["smiling"], d.labels_test["smiling"]])
    assert np.nansum(labels) == 2 and np.isnan(labels).sum() == 3
    assert set(d.labels_train) == {"smiling", "age"}


def test_folder_dataset_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("folder", path=str(tmp_path / "missing"))
    _write_images(tmp_path, 2)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="broken.png"):
        load_dataset("folder", path=str(tmp_path))
    (tmp_path / "broken.png").unlink()
    (tmp_path / "attributes.csv").write_text("file,smiling\nim0.png,yes\n")
    with pytest.raises(DatasetError, match="not a number"):
        load_dataset("folder", path=str(tmp_path))


def test_torchvision_dataset_is_never_downloaded_implicitly(tmp_path):
    with pytest.raises(DatasetError, match="download=True"):
        load_dataset("torchvision", name="MNIST", root=str(tmp_path))
    assert list(tmp_path.rglob("*.gz")) == []
    with pytest.raises(DatasetError, match="unknown torchvision dataset"):
        load_dataset("torchvision", name="ImageNet", root=str(tmp_path))
