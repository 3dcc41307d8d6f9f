"""One-class anomaly detection: the dataset `keep` option, ROC / percentile / standardising
helpers, the fitted scorer, galleries and scoring one image. Small seeded models, CPU."""

import numpy as np
import pytest
import torch

from latentlab.config import TrainConfig
from latentlab.datasets import load_dataset
from latentlab.errors import ConfigError, DatasetError
from latentlab.metrics import anomaly, one_class
from latentlab.models import PCA, build_model


# -- the keep option ------------------------------------------------------------------------------
def test_keep_filters_both_splits_inside_the_same_split():
    full, only3 = load_dataset("mnist"), load_dataset("mnist", keep={"digit": [3]})
    assert set(only3.labels_train["digit"]) == {3} and set(only3.labels_test["digit"]) == {3}
    assert len(only3.x_train) == int((full.labels_train["digit"] == 3).sum())
    # every kept test image is a test image of the full split (no train image leaks into test)
    test3 = full.x_test[torch.as_tensor(full.labels_test["digit"] == 3)]
    assert torch.equal(only3.x_test, test3)
    two = load_dataset("mnist", keep={"digit": [1, 7]})
    assert set(two.labels_train["digit"]) == {1, 7}


@pytest.mark.parametrize("keep", [{"digit": 3}, {"colour": [1]}, {"digit": [42]}, {},
                                  {"digit": ["3"]}, {"digit": [True]}])
def test_keep_rejects_bad_requests_clearly(keep):
    with pytest.raises(DatasetError, match="keep"):
        load_dataset("mnist", keep=keep)


def test_a_config_says_what_its_model_was_trained_on(tmp_path):
    cfg = TrainConfig.from_json("configs/mnist_ae_only3.json")
    assert cfg.data.options == {"keep": {"digit": [3]}}


# -- array helpers --------------------------------------------------------------------------------
def test_roc_curve_runs_from_corner_to_corner_and_its_area_is_the_auroc():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = labels + rng.normal(0, 0.8, 300)
    fpr, tpr, _ = anomaly.roc_curve(scores, labels)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(anomaly.auroc(scores, labels))
    perfect = anomaly.roc_curve(labels.astype(float), labels)
    assert np.trapezoid(perfect[1], perfect[0]) == 1.0


def test_percentile_and_standardise():
    ref = np.arange(100.0)
    assert anomaly.percentile_of(-1, ref) == 0 and anomaly.percentile_of(1000, ref) == 100
    assert anomaly.percentile_of(49.5, ref) == 50
    z = anomaly.standardise(ref, ref)
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    with pytest.raises(ConfigError):
        anomaly.percentile_of(float("nan"), ref)


def test_relative_error_does_not_reward_little_ink():
    """A faint image with a wrong blob scores lower MSE than a bold image with a small
    mistake; the relative error ranks them the other way."""
    bold, faint = torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)
    bold[..., :, :4], faint[..., 0, 0] = 1.0, 1.0
    bold_hat = bold.clone()
    bold_hat[..., 0, :2] = 0.0  # 2 of 32 lit pixels missed
    faint_hat = torch.zeros_like(faint)  # its only pixel missed
    x, x_hat = torch.cat([bold, faint]), torch.cat([bold_hat, faint_hat])
    mse = anomaly.reconstruction_scores(x, x_hat, "mse")
    rel = anomaly.reconstruction_scores(x, x_hat, "relative")
    assert mse[1] < mse[0] and rel[1] > rel[0]
    assert rel[1] == pytest.approx(1.0) and np.allclose(anomaly.reconstruction_scores(x, x, "relative"), 0)


# -- scorer on a model ----------------------------------------------------------------------------
def blobs(n, centre, seed):
    """Gaussian blobs `[n, 1, 12, 12]` around one centre: one 'class' per centre."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    c = torch.tensor(centre) + torch.randn(n, 2, generator=g) * 0.5
    d2 = (xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2
    return torch.exp(-d2 / 4).unsqueeze(1)


@pytest.fixture(scope="module")
def fitted():
    normal_train, normal_test = blobs(200, (4.0, 4.0), 0), blobs(50, (4.0, 4.0), 1)
    odd = blobs(50, (8.0, 7.0), 2)
    model = PCA([1, 12, 12], 3).fit(normal_train).eval()
    x = torch.cat([normal_test, odd])
    flags = np.r_[np.zeros(50, bool), np.ones(50, bool)]
    return model, normal_train, x, flags


@pytest.mark.parametrize("kind", ["recon", "relative", "latent", "combined"])
def test_every_score_separates_an_obvious_anomaly(fitted, kind):
    model, normal_train, x, flags = fitted
    scorer = one_class.AnomalyScorer(kind).fit(model, normal_train)
    ev = one_class.evaluate(scorer, x, flags)
    assert ev.auroc > 0.95
    shuffled = np.random.default_rng(0).permutation(flags)
    assert abs(anomaly.auroc(ev.scores, shuffled) - 0.5) < 0.15
    assert ev.anomaly_scores.mean() > ev.normal_scores.mean()


def test_combined_score_is_a_sum_of_z_scores_on_the_normal_images(fitted):
    model, normal_train, _, _ = fitted
    scorer = one_class.AnomalyScorer("combined").fit(model, normal_train)
    assert scorer.train_scores_.mean() == pytest.approx(0, abs=1e-6)  # each part has mean 0 there


def test_elbo_score_needs_a_vae(fitted):
    model, normal_train, _, _ = fitted
    assert "elbo" not in one_class.available_scores(model)
    with pytest.raises(ConfigError, match="VAE"):
        one_class.AnomalyScorer("elbo").fit(model, normal_train)
    torch.manual_seed(0)
    vae = build_model("vae", image_shape=[1, 12, 12], latent_dim=2, arch="mlp", width=16).eval()
    scores = one_class.AnomalyScorer("elbo").fit(vae, normal_train).score(normal_train[:5])
    assert scores.shape == (5,) and np.all(scores > 0)


def test_gallery_is_the_top_scores_with_maps(fitted):
    model, normal_train, x, flags = fitted
    scorer = one_class.AnomalyScorer("recon").fit(model, normal_train)
    ev = one_class.evaluate(scorer, x, flags)
    g = one_class.most_anomalous(model, ev, k=5)
    assert np.all(np.diff(g.scores) <= 0) and g.scores[0] == ev.scores.max()
    assert g.images.shape == (5, 1, 12, 12) and g.error_maps.shape == (5, 12, 12)
    # the error map's mean is the image's MSE (the recon score)
    assert np.allclose(g.error_maps.reshape(5, -1).mean(1), g.scores, rtol=1e-5)
    false_alarms = one_class.most_anomalous(model, ev, k=3, among="normal")
    assert not flags[false_alarms.index].any()
    heat = one_class.heatmap(g.error_maps)
    assert heat.shape == (5, 3, 12, 12) and float(heat.max()) == pytest.approx(1.0)


def test_scoring_one_image_gives_its_percentile(fitted):
    model, normal_train, x, flags = fitted
    scorer = one_class.AnomalyScorer("combined").fit(model, normal_train)
    ev = one_class.evaluate(scorer, x, flags)
    _, p_odd = one_class.score_image(scorer, x[-1], ev)
    _, p_normal = one_class.score_image(scorer, x[0], ev)
    assert p_odd > 95 and p_normal < p_odd
    with pytest.raises(ConfigError):
        scorer.score(torch.rand(1, 3, 12, 12))


def test_scorer_rejects_bad_input(fitted):
    model, normal_train, _, _ = fitted
    with pytest.raises(ConfigError, match="unknown anomaly score"):
        one_class.AnomalyScorer("psychic")
    with pytest.raises(ConfigError, match="fit"):
        one_class.AnomalyScorer().score(normal_train)
    with pytest.raises(ConfigError):
        one_class.AnomalyScorer().fit(model, torch.rand(10, 1, 8, 8))


# -- what is normal -------------------------------------------------------------------------------
def test_normal_spec_from_a_config_and_its_evaluation_set():
    class Info:
        dataset = {"name": "mnist", "options": {"keep": {"digit": [3]}}}

    class Model:
        info = Info()

    spec = one_class.normal_of(Model())
    assert spec == one_class.Normal("mnist", "digit", (3,))
    es = one_class.evaluation_set(spec)
    full = load_dataset("mnist")
    assert len(es.x) == len(full.x_test)  # the whole test split is scored
    assert np.array_equal(es.is_anomaly, full.labels_test["digit"] != 3)
    assert len(es.x_normal_train) == int((full.labels_train["digit"] == 3).sum())
    with pytest.raises(ConfigError):
        one_class.Normal("mnist")  # neither a label nor another dataset


def test_conform_converts_channels_and_size():
    rgb = torch.rand(2, 3, 64, 64)
    grey = one_class.conform(rgb, (1, 28, 28))
    assert grey.shape == (2, 1, 28, 28) and 0 <= grey.min() and grey.max() <= 1
    assert one_class.conform(torch.rand(2, 1, 8, 8), (3, 16, 16)).shape == (2, 3, 16, 16)


def test_dataset_against_another():
    small = {"n_train": 32, "n_test": 16, "size": 32}
    es = one_class.evaluation_set(one_class.Normal("faces", other="mnist", options=small))
    assert es.x.shape == (32, 3, 32, 32) and es.is_anomaly.sum() == 16
    assert not es.is_anomaly[:16].any() and len(es.x_normal_train) == 32


# -- what is normal, in words and as choices ------------------------------------------------------
def test_normal_in_words_uses_category_names():
    glasses = one_class.Normal("faces", "glasses", (0,))
    assert glasses.words({"glasses": ["no", "yes"]}) == "faces with glasses = no"
    assert one_class.Normal("mnist", "digit", (1, 7)).words({}) == "mnist with digit = 1 or 7"
    assert one_class.Normal("mnist", other="faces").words({}) == "all of mnist against faces"


def test_value_groups_split_many_values_at_the_median_and_keep_few_apart():
    from latentlab.latent.labels import value_groups

    few = value_groups("digit", np.array([3, 1, 1, 2]), {})
    assert few == {"1": (1,), "2": (2,), "3": (3,)}
    many = value_groups("angle", np.linspace(0, 1, 51), {})
    low, high = many.values()
    assert set(low) | set(high) == set(np.linspace(0, 1, 51).tolist()) and max(low) < min(high)


def test_rows_text_names_each_images_label_or_dataset():
    from types import SimpleNamespace

    ev = SimpleNamespace(is_anomaly=np.array([False, True]), labels={"digit": np.array([1, 7])})
    assert one_class.Normal("mnist", "digit", (1,)).rows_text(ev, [0, 1], {}) == "#0 (digit 1), #1 (digit 7)"
    assert one_class.Normal("mnist", other="faces").rows_text(ev, [1, 0], {}) == "#1 (faces), #0 (mnist)"
