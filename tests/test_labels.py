"""latentlab.latent.labels: which labels the app colours by and fits directions on."""

import numpy as np

from latentlab.latent.labels import (
    attribute_targets,
    colour_names,
    contrasting_index,
    is_categorical,
    label_names,
    label_text,
)


def test_label_names_drop_index_and_value_twins():
    labels = {"index": np.arange(4), "shape": np.array([0, 1, 2, 0]), "shape_value": np.ones(4),
              "scale_value": np.ones(4)}
    assert label_names(labels) == ["shape", "scale_value"]


def test_targets_binary_onevsrest_and_median_split():
    rng = np.random.default_rng(0)
    labels = {"glasses": rng.integers(0, 2, 200), "hair": rng.integers(0, 3, 200),
              "smile": rng.normal(size=200), "rare": np.r_[np.ones(5), np.zeros(195)]}
    t = attribute_targets(labels, {"hair": ["black", "red", "grey"]})
    assert list(t)[:2] == ["glasses", "smile"] and "rare" not in t  # binary first; 5 members is too few
    assert set(t) == {"glasses", "smile", "hair: black", "hair: red", "hair: grey"}
    assert np.array_equal(t["hair: red"], labels["hair"] == 1)
    assert t["smile"].sum() == 100  # split at the median


def test_text_categorical_and_contrast():
    cats = {"hair": ["black", "red"]}
    assert label_text("hair", np.array([1, 0]), cats) == ["red", "black"]
    assert label_text("size", np.array([0.5, 2.0]), cats) == ["0.5", "2"]
    assert is_categorical("digit", np.array([0, 3, 9]), {}) and not is_categorical("x", np.linspace(0, 1, 50), {})
    assert contrasting_index({"digit": np.array([0, 0, 0, 7])}) == 3


def test_colour_names_drop_binaries_another_label_determines():
    smile = np.repeat([-1.0, -0.5, 0.0, 0.5, 1.0], 20)
    labels = {"smile": smile, "smiling": (smile > 0.25).astype(int), "frowning": (smile < -0.25).astype(int),
              "glasses": np.tile([0, 1], 50)}
    assert colour_names(labels) == ["smile", "glasses"]  # glasses varies within every smile level
