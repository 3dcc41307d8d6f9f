"""Least-leaking attribute directions and dimension names: the pure parts on hand-made arrays,
the cache round trip, and cancel."""

import numpy as np
import pytest

import latentlab
from latentlab.errors import Cancelled, CheckpointError
from latentlab.latent import analysis_cache
from latentlab.latent.directions import (
    EditDirections,
    choose,
    directions_key,
    find_directions,
    load_or_fit_directions,
    regression_direction,
)
from latentlab.latent.naming import MIN_EFFECT, name_dim
from latentlab.latent.readers import families, reading_values

LABELS = {"smile": np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.0]), "smiling": np.array([0, 0, 0, 1, 1, 1]),
          "glasses": np.array([0, 1, 0, 1, 0, 1]), "hair_color": np.array([0, 1, 2, 0, 1, 2])}
CATS = {"hair_color": ["black", "brown", "red"], "glasses": ["no", "yes"]}


def test_regression_holds_the_other_attributes_fixed():
    rng = np.random.default_rng(0)
    n = 4000
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    b = b + 0.8 * a  # correlated attributes: the mean difference of a absorbs b's direction
    da, db = np.eye(6)[0], np.eye(6)[1]
    z = np.outer(a, da) + np.outer(b, db) + 0.05 * rng.standard_normal((n, 6))
    v = regression_direction(z, a, b[:, None])
    assert np.allclose(v, da, atol=0.02)
    naive = z[a > 0].mean(0) - z[a <= 0].mean(0)
    assert abs(naive[1]) / np.linalg.norm(naive) > 0.4  # what the covariate removes


def test_families_group_a_label_with_what_is_derived_from_it():
    labels = {**LABELS, "smiling": (LABELS["smile"] > 0.33).astype(int)}
    names = ["smile", "smiling", "glasses", "hair_color: red"]
    fam = families(labels, names)
    assert fam == {"smile": "smile", "smiling": "smile", "glasses": "glasses", "hair_color: red": "hair_color"}


def test_reading_values_follow_the_targets(monkeypatch):
    import latentlab.latent.labels as labels_module

    monkeypatch.setattr(labels_module, "MIN_CLASS", 1)
    r = reading_values(LABELS, CATS)
    assert np.array_equal(r["smile"], LABELS["smile"])  # continuous: the value, not a median split
    assert np.array_equal(r["hair_color: red"], [0, 0, 1, 0, 0, 1])


def test_choose_prefers_the_least_leakage_per_unit_of_slope():
    m = {"mean_difference": {"slope": 1.0, "leakage": 0.5},
         "regression": {"slope": 0.9, "leakage": 0.1},
         "logistic": {"slope": 0.3, "leakage": 0.0}}  # clean but hardly moves the target: not eligible
    assert choose(m) == "regression"
    nan = float("nan")
    assert choose({"a": {"slope": nan, "leakage": 0.1}, "mean_difference": {"slope": nan, "leakage": 1}}) == "mean_difference"
    assert choose({"a": {"slope": 0.2, "leakage": nan}, "b": {"slope": 0.5, "leakage": nan}}) == "b"


def test_a_dimension_is_named_only_when_it_moves_an_attribute_enough():
    fam = {"smile": "smile", "smiling": "smile", "hair_color: red": "hair_color",
           "hair_color: black": "hair_color", "glasses": "glasses"}
    smiley = name_dim(3, {"smile": -0.6, "smiling": -0.5, "glasses": 0.1}, fam)
    assert smiley.label == "smile ↓" and smiley.family == "smile"
    hair = name_dim(4, {"hair_color: red": 0.5, "hair_color: black": -0.4, "glasses": 0.1}, fam)
    assert hair.label == "hair_color: black → red"
    quiet = name_dim(5, {"smile": MIN_EFFECT / 2, "glasses": -MIN_EFFECT / 3}, fam)
    assert quiet.label == "dim 5" and quiet.family is None


def _fake_selected(d: int = 4) -> tuple[dict, dict]:
    methods = ("mean_difference", "logistic", "conditional", "regression")
    vecs = {m: np.eye(d)[i] for i, m in enumerate(methods)}
    sel = {"smiling": {"method": "regression", "vector": vecs["regression"], "scale": 2.0, "slope": 0.8,
                       "leakage": 0.1, "worst": "glasses", "leaks": {"glasses": -0.1},
                       "candidates": {m: {"slope": 0.5, "leakage": 0.3, "scale": 1.0 + i}
                                      for i, m in enumerate(methods)}}}
    return sel, {"smiling": vecs}


def test_apply_moves_along_the_chosen_or_an_asked_candidate():
    sel, vecs = _fake_selected()
    dirs = EditDirections(sel, vecs)
    z = np.zeros((2, 4), dtype=np.float32)
    assert np.allclose(dirs.apply(z, "smiling", 1.5), [[0, 0, 0, 3.0]] * 2)
    assert np.allclose(dirs.apply(z, "smiling", 1.0, method="mean_difference"), [[1.0, 0, 0, 0]] * 2)
    assert dirs.apply(z, "smiling", 1.0).dtype == np.float32


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    return tmp_path


def test_a_cancelled_fit_writes_nothing_and_a_broken_cache_is_refused(own_cache):
    model = latentlab.load("mnist_pca")
    assert find_directions(model) is None
    with pytest.raises(Cancelled):
        load_or_fit_directions(model, should_stop=lambda: True)
    assert not any(own_cache.rglob("*directions*"))
    folder = own_cache / model.info.name
    analysis_cache.write(folder, directions_key(model), {"names": [], "methods": []}, {"vectors": np.zeros((0, 4, 16))})
    (folder / f"{directions_key(model)}.npz").write_bytes(b"not an npz")
    with pytest.raises(CheckpointError):
        find_directions(model)


def test_one_slider_per_attribute_not_one_per_threshold(monkeypatch):
    import latentlab.latent.labels as labels_module
    from latentlab.latent.directions import edit_targets

    monkeypatch.setattr(labels_module, "MIN_CLASS", 1)
    labels = {**LABELS, "neutral": (np.abs(LABELS["smile"]) <= 0.33).astype(int)}
    names = list(edit_targets(labels, CATS))
    assert "smile" in names and "smiling" not in names and "neutral" not in names
    assert "glasses" in names and "hair_color: red" in names


def test_the_measured_direction_cancels_a_known_linear_leak():
    from latentlab.latent.directions import measured_directions

    rng = np.random.default_rng(0)
    z = rng.standard_normal((5000, 3)) * [1.0, 2.0, 0.5]
    # per std step of each dim: dim 0 moves smile +1 and glasses +1; dim 1 moves glasses +1 only
    effects = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    fam = {"smile": "smile", "glasses": "glasses"}
    v = measured_directions(effects, ["smile", "glasses"], z, ["smile"], fam)["smile"]
    std = z.std(0)
    per_unit = effects / std[:, None]  # change per latent unit
    change = v @ per_unit
    assert change[0] > 0 and abs(change[1]) < 1e-6 * abs(change[0])
