"""The user's checkpoint root beside the shipped zoo, and the operator's list of data folders."""

import json
import shutil

import pytest
from conftest import make_cfg
from PIL import Image

import latentlab
from latentlab import checkpoint
from latentlab.config import TrainConfig
from latentlab.errors import CheckpointError, ConfigError, DatasetError
from latentlab.sources import dataset_of
from latentlab.train import train
from latentlab.zoo import zoo_table


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """A shipped zoo with mnist_pca, and an empty user home."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copytree(checkpoint.ZOO_DIR / "mnist_pca", shipped / "mnist_pca", ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setattr(checkpoint, "ZOO_DIR", shipped)
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    return shipped, tmp_path / "home" / "checkpoints"


def _as_mnist(folder):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dataset": {"name": "mnist", "options": {}}}))


def test_training_goes_to_the_user_root_and_is_listed_after_the_shipped_zoo(roots, tiny_data):
    shipped, user = roots
    result = train(make_cfg("ae"), data=tiny_data, allow_collapse=True)  # no out_dir: the user root
    assert result.path.parent == user and not (shipped / "tiny_ae").exists()
    _as_mnist(result.path)
    assert checkpoint.zoo_names() == ["mnist_pca", "tiny_ae"]
    rows, problems = zoo_table()
    assert [(r["name"], r["root"]) for r in rows] == [("mnist_pca", "shipped"), ("tiny_ae", "user")]
    assert problems == []
    assert latentlab.load("tiny_ae").info.path == result.path.resolve()


def test_names_are_unique_across_roots_and_the_shipped_one_wins(roots, tiny_data):
    shipped, user = roots
    cfg = make_cfg("ae")
    cfg.name = "mnist_pca"
    with pytest.raises(CheckpointError, match="taken by a shipped checkpoint"):
        train(cfg, data=tiny_data, allow_collapse=True, overwrite=True)
    shutil.copytree(shipped / "mnist_pca", user / "mnist_pca")  # copied in by hand
    rows, problems = zoo_table()
    assert [r["root"] for r in rows] == ["shipped"]
    assert [(p.name, p.root) for p in problems] == [("mnist_pca", "user")] and "already used" in problems[0].reason
    assert latentlab.load("mnist_pca").info.path == (shipped / "mnist_pca").resolve()


def test_a_folder_dataset_needs_the_operator_listing(tmp_path, monkeypatch):
    images = tmp_path / "data" / "mine"
    images.mkdir(parents=True)
    for i in range(4):
        Image.new("L", (8, 8), 40 * i).save(images / f"{i}.png")
    raw = {"name": "mine", "data": {"name": "folder", "options": {"path": str(images), "size": 8,
                                                                  "channels": 1, "test_fraction": 0.5}},
           "model": {"family": "pca", "latent_dim": 1}}
    monkeypatch.delenv("LATENTLAB_DATA_DIRS", raising=False)
    with pytest.raises(ConfigError, match="LATENTLAB_DATA_DIRS"):
        TrainConfig.from_dict(raw)
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(tmp_path / "elsewhere"))
    with pytest.raises(ConfigError, match="not inside"):
        TrainConfig.from_dict(raw)
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(tmp_path / "data"))
    result = train(TrainConfig.from_dict(raw), out_dir=tmp_path / "out")
    model = latentlab.load(result.path)
    assert dataset_of(model).x_test.shape == (2, 1, 8, 8)
    monkeypatch.delenv("LATENTLAB_DATA_DIRS")
    with pytest.raises(DatasetError, match="not inside"):  # the server no longer lists it
        dataset_of(model)
    link = tmp_path / "data" / "escape"
    link.symlink_to("/etc")
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(tmp_path / "data"))
    with pytest.raises(ConfigError, match="not inside"):  # a link out of a listed folder
        TrainConfig.from_dict({**raw, "data": {"name": "folder", "options": {"path": str(link)}}})
