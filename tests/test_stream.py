"""Training on the factor source: fresh shapes rows every batch, the test split held out."""

import numpy as np
import pytest
import torch

from latentlab.config import TrainConfig
from latentlab.datasets import load_dataset
from latentlab.datasets.shapes import FactorStream, GridFactors, build_shapes
from latentlab.errors import ConfigError, DatasetError
from latentlab.train import train


def stream_cfg(seed: int = 0, **options) -> TrainConfig:
    return TrainConfig.from_dict({
        "name": "tiny_stream", "seed": seed, "epochs": 2, "batch_size": 32, "threads": 1,
        "data": {"name": "shapes", "options": {"size": 16, "n_train": 64, "n_test": 32,
                                               "stream": True, "epoch_images": 96, **options}},
        "model": {"family": "vae", "latent_dim": 3, "args": {"width": 8}},
    })


def test_streamed_dataset_keeps_the_fixed_splits_and_renders_fresh_rows():
    fixed = build_shapes(size=16, n_train=64, n_test=32)
    data = build_shapes(size=16, n_train=64, n_test=32, stream=True, epoch_images=500)
    assert fixed.stream is None and fixed.epoch_size == 64 and data.epoch_size == 500
    assert torch.equal(data.x_test, fixed.x_test) and torch.equal(data.x_train, fixed.x_train)
    x, index = data.stream.batch(256, torch.Generator().manual_seed(0))
    assert x.shape == (256, 1, 16, 16) and index.dtype == torch.int64
    rows = data.factors.factors_of(index.numpy())
    assert torch.equal(x, data.factors.render(rows))  # each image is its row, rendered
    assert len(np.unique(index.numpy())) > 250  # 737,280 rows: repeats are rare
    assert not np.isin(index.numpy(), data.labels_train["index"]).all()  # not the fixed sample


class ToyGrid(GridFactors):
    """A 4 x 5 grid whose 'image' of a row is its flat index, `[n, 1, 1, 1]`."""

    factor_names, factor_sizes = ["a", "b"], [4, 5]

    def render(self, factors):
        return torch.as_tensor(self.index_of(factors), dtype=torch.float32).reshape(-1, 1, 1, 1)


def test_stream_is_deterministic_from_the_generator_and_skips_test_rows():
    source = ToyGrid()
    keep = np.array([0, 7, 19])
    stream = FactorStream(source, np.setdiff1d(np.arange(20), keep), epoch_images=10)
    x, a = stream.batch(200, torch.Generator().manual_seed(1))
    _, b = stream.batch(200, torch.Generator().manual_seed(1))
    _, c = stream.batch(200, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.tolist()) == set(keep.tolist())  # only the rows not held out, each of them
    assert torch.equal(x.flatten().long(), a)
    with pytest.raises(DatasetError, match="covers the whole grid"):
        FactorStream(source, np.arange(20), 10)


@pytest.mark.parametrize("options,fragment", [
    ({"stream": "yes"}, "stream must be true or false"),
    ({"stream": True, "epoch_images": 0}, "epoch_images must be an int >= 1"),
    ({"stream": True, "epoch_images": 2.5}, "epoch_images must be an int >= 1"),
])
def test_bad_stream_options_raise_dataset_errors(options, fragment):
    with pytest.raises(DatasetError, match=fragment):
        load_dataset("shapes", size=16, n_train=8, n_test=8, **options)


def test_streamed_training_is_deterministic_and_counts_its_images(tmp_path):
    a = train(stream_cfg(), out_dir=tmp_path, allow_collapse=True)  # tiny run: files and weights only
    b = train(stream_cfg(), save=False).model.state_dict()
    other = train(stream_cfg(seed=1), save=False).model.state_dict()
    weights = a.model.state_dict()
    assert all(torch.equal(weights[k], b[k]) for k in weights)
    assert not all(torch.equal(weights[k], other[k]) for k in weights)
    import json

    record = json.loads((tmp_path / "tiny_stream" / "training.json").read_text())
    assert record["images_seen"] == 2 * 96 and len(record["history"]) == 2


def test_streamed_training_differs_from_training_on_the_fixed_split():
    fixed = stream_cfg()
    fixed.data.options = {"size": 16, "n_train": 64, "n_test": 32}
    a = train(fixed, save=False).model.state_dict()
    b = train(stream_cfg(), save=False).model.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_a_family_with_one_code_per_training_image_refuses_a_stream(tmp_path):
    cfg = stream_cfg()
    cfg.model.family, cfg.model.args = "glo", {"n_codes": 64}
    with pytest.raises(ConfigError, match="cannot train on a streamed dataset"):
        train(cfg, out_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written
