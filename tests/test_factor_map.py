"""Which factor each latent carries, the diagonal ordering, and cached per-checkpoint scores."""

import json

import numpy as np
import pytest
import torch

from latentlab import checkpoint
from latentlab.config import TrainConfig
from latentlab.datasets.shapes import GridFactors
from latentlab.errors import ConfigError
from latentlab.metrics import scorecard, sweep
from latentlab.metrics.factor_map import diagonal_order, dim_factors, normalised_mi
from latentlab.train import train

TINY = scorecard.ScoreSettings(samples=600, votes=60, group_size=8)


class ToyFactors(GridFactors):
    """Three factors; an 'image' `[n, 1, 1, 3]` holds the factor indices scaled to [0, 1]."""

    factor_names, factor_sizes = ["a", "b", "c"], [5, 4, 6]

    def render(self, factors):
        rows = self.check_factors(factors) / (np.array(self.factor_sizes) - 1)
        return torch.as_tensor(rows, dtype=torch.float32).reshape(-1, 1, 1, 3)


def perfect(x):  # z_j = factor j, plus one dead dim
    return torch.cat([x.flatten(1), torch.zeros(len(x), 1)], 1)


def mixed(x):  # every dim mixes every factor
    rot = torch.tensor([[0.6, 0.5, 0.62], [-0.7, 0.6, 0.38], [0.4, -0.62, 0.68]])
    return x.flatten(1) @ rot


def test_normalised_mi_is_diagonal_for_a_perfect_code_and_follows_a_permutation():
    source, rng = ToyFactors(), np.random.default_rng(0)
    factors = source.sample_factors(3000, rng)
    codes = factors[:, [2, 0, 1]] + rng.normal(0, 0.01, (3000, 3))  # z0 = c, z1 = a, z2 = b
    m = normalised_mi(codes, factors)
    assert m.shape == (3, 3) and (m >= 0).all() and (m <= 1 + 1e-9).all()
    assert [int(k) for k in m.argmax(1)] == [2, 0, 1]
    assert m[[0, 1, 2], [2, 0, 1]].min() > 0.9 and m[[0, 1, 2], [0, 1, 2]].max() < 0.05


def test_dim_factors_names_the_strongest_factor_its_share_and_dead_dims():
    matrix = np.array([[0.0, 0.8, 0.2],   # mostly b
                       [0.5, 0.0, 0.0],   # only a
                       [0.04, 0.0, 0.005]])  # carries nothing (MI bias level)
    got = dim_factors(matrix, ["a", "b", "c"])
    assert [(d.dim, d.factor) for d in got] == [(0, "b"), (1, "a"), (2, None)]
    assert got[0].amount == pytest.approx(0.8) and got[0].share == pytest.approx(0.8)
    assert got[1].share == pytest.approx(1.0)
    assert got[0].text() == "b · 0.80 (80% of z0)" and got[2].text() == "no factor"
    assert got[0].text(kl=1.2) == got[0].text()  # a live VAE dim keeps its factor
    assert "collapsed" in got[0].text(kl=0.001) and "b ·" not in got[0].text(kl=0.001)
    with pytest.raises(ConfigError, match="2 factor names"):
        dim_factors(matrix, ["a", "b"])
    with pytest.raises(ConfigError, match="non-negative"):
        dim_factors(-matrix, ["a", "b", "c"])


def test_diagonal_order_puts_each_factors_dim_on_the_diagonal():
    rng = np.random.default_rng(1)
    diag = np.zeros((6, 3))
    diag[[0, 1, 2], [0, 1, 2]] = [0.9, 0.7, 0.8]
    diag[3] = [0.3, 0.0, 0.0]   # a second, weaker dim for factor a
    diag[4] = [0.0, 0.0, 0.04]  # carries nothing (MI bias level)
    diag[5] = [0.0, 0.2, 0.05]  # a second dim for b
    perm = rng.permutation(6)
    shuffled = diag[perm] + rng.uniform(0, 0.005, (6, 3))
    order = diagonal_order(shuffled)
    assert sorted(order.tolist()) == list(range(6))
    assert perm[order].tolist() == [0, 1, 2, 3, 5, 4]
    top = shuffled[order][:3]
    assert (top.argmax(1) == [0, 1, 2]).all()


def test_scores_rank_a_perfect_code_above_a_mixed_one_and_report_progress():
    seen = []
    good = scorecard.compute_scores(ToyFactors(), perfect, TINY, lambda f, s: seen.append(f))
    bad = scorecard.compute_scores(ToyFactors(), mixed, TINY)
    assert good["mig"] > 0.8 and good["dci_d"] > 0.8 and good["factorvae"] > 0.9
    assert good["betavae"] > 0.9 and good["active_dims"] == 3
    for key in ("mig", "dci_d", "sap", "factorvae"):
        assert good[key] > bad[key] + 0.1, key
    assert np.asarray(good["mi"]).shape == (4, 3) and good["factor_names"] == ["a", "b", "c"]
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def test_cancel_stops_scoring_with_cancelled():
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(scorecard.Cancelled):
        scorecard.compute_scores(ToyFactors(), perfect, TINY, cancel=cancel)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="votes must be an int >= 2"):
        scorecard.ScoreSettings(votes=1)
    with pytest.raises(ConfigError, match="seed must be an int >= 0"):
        scorecard.ScoreSettings(seed=-1)


@pytest.fixture
def shapes_checkpoint(tmp_path):
    cfg = TrainConfig.from_dict({
        "name": "tiny_shapes", "epochs": 1, "batch_size": 32, "threads": 1,
        "data": {"name": "shapes", "options": {"size": 16, "n_train": 64, "n_test": 32}},
        "model": {"family": "vae", "latent_dim": 3, "args": {"width": 8}}})
    train(cfg, out_dir=tmp_path / "zoo", allow_collapse=True)  # only the files are needed
    return checkpoint.load(tmp_path / "zoo" / "tiny_shapes")


def test_checkpoint_scores_are_computed_once_then_read_from_the_cache(
        shapes_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "user"))
    model = shapes_checkpoint
    assert scorecard.cached_scores(model, TINY) is None
    first = scorecard.checkpoint_scores(model, TINY)
    written = list((tmp_path / "user" / "tiny_shapes").glob("*.json"))
    assert [p.name for p in written] == [f"{model.info.hash}-disentanglement-{TINY.key()}.json"]
    assert first["hash"] == model.info.hash and first["factor_names"][0] == "shape"
    assert 0 <= first["mig"] <= 1 and first["test_mse"] > 0
    monkeypatch.setattr(scorecard, "compute_scores", lambda *a, **k: pytest.fail("recomputed"))
    assert scorecard.checkpoint_scores(model, TINY) == json.loads(written[0].read_text()) == first
    other = scorecard.ScoreSettings(samples=500, votes=60, group_size=8)
    assert scorecard.cached_scores(model, other) is None  # other sizes, other file


def test_a_cancelled_scoring_writes_nothing(shapes_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "user"))
    with pytest.raises(scorecard.Cancelled):
        scorecard.checkpoint_scores(shapes_checkpoint, TINY, cancel=lambda: True)
    assert not list((tmp_path / "user").rglob("*.json"))


def test_zoo_sweep_lists_scored_checkpoints_and_names_the_rest(shapes_checkpoint, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "user"))
    zoo = tmp_path / "zoo"
    assert sweep.zoo_sweep("shapes", zoo, TINY) == ([], ["tiny_shapes"])
    assert sweep.zoo_sweep("faces", zoo, TINY) == ([], [])
    scores = scorecard.checkpoint_scores(shapes_checkpoint, TINY, write_to=zoo / "tiny_shapes" / "cache")
    rows, unscored = sweep.zoo_sweep("shapes", zoo, TINY)
    assert unscored == [] and len(rows) == 1
    row = sweep.flat(rows[0])
    assert row["mig"] == scores["mig"] and row["label"] == "VAE" and row["seed"] == 0
    assert row["group"] == "VAE" and row["images_seen"] == 64 and not row["streamed"]


def test_zoo_sweep_by_default_covers_the_users_checkpoints_too(shapes_checkpoint, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "user"))
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    mine = checkpoint.user_root() / "my_shapes"
    mine.parent.mkdir(parents=True)
    (tmp_path / "zoo" / "tiny_shapes").rename(mine)
    _, unscored = sweep.zoo_sweep("shapes", settings=TINY)
    assert "my_shapes" in unscored
    scores = scorecard.checkpoint_scores(checkpoint.load("my_shapes"), TINY)  # into the user cache
    rows, unscored = sweep.zoo_sweep("shapes", settings=TINY)
    assert "my_shapes" not in unscored
    assert [r["scores"]["mig"] for r in rows if r["name"] == "my_shapes"] == [scores["mig"]]


def test_summarise_gives_median_and_range_per_setting():
    rows = [{"name": f"m{i}", "group": g, "label": g, "family": "vae", "streamed": True,
             "knob": 4.0, "mig": v, "test_mse": 0.01 * v}
            for i, (g, v) in enumerate([("a", 0.1), ("b", 0.5), ("a", 0.3), ("a", 0.2)])]
    out = sweep.summarise(rows, keys=("mig", "test_mse"))
    assert [g["group"] for g in out] == ["a", "b"] and [g["n"] for g in out] == [3, 1]
    assert out[0]["mig"] == {"median": 0.2, "min": 0.1, "max": 0.3}
    assert out[0]["names"] == ["m0", "m2", "m3"] and out[1]["mig"]["median"] == 0.5
