"""The shipped data classifiers: accurate on images they never saw, features of the promised
shape, deterministic training, and a loader that refuses bad files."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from latentlab.datasets import load_dataset
from latentlab.errors import CheckpointError, ConfigError
from latentlab.metrics.classifier import (
    META,
    WEIGHTS,
    class_index,
    classifier_dir,
    frechet_distance,
    load_classifier,
)
from latentlab.metrics.classifier_training import train_classifier

# Floors a little under the accuracies measured when the shipped weights were trained
# (classifier.json records them: mnist 0.974 on its 1,000 test digits).
FLOORS = {"mnist": {"digit": 0.95},
          "faces": {"glasses": 0.97, "hair_color": 0.97, "background_color": 0.97, "smile": 0.6},
          "shapes": {"shape": 0.9, "scale": 0.6}}


def _fresh(source, n: int, seed: int):
    """Images never seen in training: a new seeded draw from the factor grid, with values."""
    rows = source.sample_factors(n, np.random.default_rng(seed))
    return source.render(rows), rows


def _accuracy(clf, x, truth: dict) -> dict[str, float]:
    probs = clf.predict_proba(x)
    return {k: float((probs[k].argmax(1).numpy() == class_index(clf.head(k), v)).mean())
            for k, v in truth.items()}


def test_mnist_classifier_reads_held_out_digits():
    clf, data = load_classifier("mnist"), load_dataset("mnist")
    acc = _accuracy(clf, data.x_test, {"digit": data.labels_test["digit"]})
    assert acc["digit"] >= FLOORS["mnist"]["digit"]
    assert clf.info["test_accuracy"]["digit"] >= FLOORS["mnist"]["digit"]


@pytest.mark.parametrize("dataset", ["mnist"])
def test_probabilities_and_features_have_the_promised_shapes(dataset):
    clf = load_classifier(dataset)
    c, h, w = clf.input_shape
    x = torch.rand(5, c, h, w, generator=torch.Generator().manual_seed(0))
    probs = clf.predict_proba(x)
    assert list(probs) == clf.labels
    for head in clf.heads:
        assert probs[head.name].shape == (5, len(head.values))
        assert torch.allclose(probs[head.name].sum(1), torch.ones(5), atol=1e-5)
    f = clf.features(x)
    assert f.shape == (5, clf.info["arch"]["features"]) and torch.isfinite(f).all()
    assert torch.allclose(f[:2], clf.features(x[:2]), atol=1e-4)  # batching does not change a row
    with pytest.raises(ConfigError):
        clf.predict_proba(torch.rand(2, c + 1, h, w))
    with pytest.raises(ConfigError):
        clf.predict_proba(x, label="no such label")


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # same covariance, mean shifted by (1, 1, 0, 0): |Δμ|² = 2
    assert frechet_distance(a, a + [1.0, 1.0, 0.0, 0.0]) == pytest.approx(2.0, abs=1e-6)
    # Σa = I, Σb = 4I: tr(I + 4I - 2·2I) = d = 4 (up to sampling error)
    assert frechet_distance(a, 2 * rng.standard_normal((20000, 4))) == pytest.approx(4.0, abs=0.15)
    with pytest.raises(ConfigError):
        frechet_distance(a, a[:, :3])


def test_training_is_deterministic_from_the_seed():
    one = train_classifier("mnist", seed=3, epochs=1)
    two = train_classifier("mnist", seed=3, epochs=1)
    for k, v in one.net.state_dict().items():
        assert torch.equal(v, two.net.state_dict()[k]), k
    other = train_classifier("mnist", seed=4, epochs=1)
    assert not torch.equal(one.net.hidden.weight, other.net.hidden.weight)


@pytest.fixture
def copied(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(classifier_dir("mnist"), folder)
    return folder


def test_loading_a_copy_works(copied):
    clf = load_classifier("mnist", copied)
    assert clf.labels == ["digit"]


@pytest.mark.parametrize("damage", ["truncate", "pickle", "shape", "nan", "json", "missing_key"])
def test_loading_refuses_a_bad_file(copied, damage):
    weights, meta = copied / WEIGHTS, copied / META
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "pickle":
        weights.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    elif damage in ("shape", "nan"):
        tensors = load_classifier("mnist").net.state_dict()
        tensors = {k: v.clone() for k, v in tensors.items()}
        if damage == "shape":
            tensors["hidden.weight"] = tensors["hidden.weight"][:, :-1].contiguous()
        else:
            tensors["hidden.bias"][0] = float("nan")
        save_file(tensors, str(weights))
    elif damage == "json":
        meta.write_text("{not json")
    else:
        info = json.loads(meta.read_text())
        del info["heads"]
        meta.write_text(json.dumps(info))
    with pytest.raises(CheckpointError):
        load_classifier("mnist", copied)


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(ConfigError, match="no classifier"):
        load_classifier("cifar")
