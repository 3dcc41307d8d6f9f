"""Conditional synthesis with a frozen decoder, code densities, and the probe additions."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.conditional import (
    CodeDensity,
    ConditionalGaussian,
    agreement,
    decode_codes,
    prior_codes,
)
from latentlab.metrics import probes
from latentlab.models import PCA, build_model


def clustered_codes(n_per=200, d=4, seed=0):
    """Three well separated classes of codes `[3 * n_per, d]` and labels."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, d) * 6
    z = np.concatenate([c + rng.normal(0, 1, (n_per, d)) for c in centres])
    return z, np.repeat([0, 1, 2], n_per)


def test_samples_of_a_class_are_closest_to_that_class_codes():
    z, y = clustered_codes()
    sampler = ConditionalGaussian().fit(z, {"digit": y})
    for k in range(3):
        s = sampler.sample({"digit": k}, 100, seed=k)
        dist = [np.linalg.norm(s[:, None] - z[y == j][None], axis=2).mean() for j in range(3)]
        assert int(np.argmin(dist)) == k


def test_conditional_gaussian_matches_the_class_statistics_and_is_seeded():
    z, y = clustered_codes(n_per=2000)
    sampler = ConditionalGaussian().fit(z, {"digit": y})
    s = sampler.sample({"digit": 1}, 4000, seed=0)
    assert np.allclose(s.mean(0), z[y == 1].mean(0), atol=0.1)
    assert np.allclose(s.std(0), z[y == 1].std(0), atol=0.1)
    assert np.array_equal(s, sampler.sample({"digit": 1}, 4000, seed=0))
    cold = ConditionalGaussian(temperature=0.5).fit(z, {"digit": y}).sample({"digit": 1}, 4000)
    assert np.allclose(cold.std(0), 0.5 * z[y == 1].std(0), atol=0.1)


def test_several_labels_select_the_codes_matching_all():
    z, y = clustered_codes()
    other = np.tile([0, 1], len(y) // 2)
    sampler = ConditionalGaussian().fit(z, {"digit": y, "odd": other})
    assert sampler.matches({"digit": 2, "odd": 1}).sum() == 100
    with pytest.raises(ConfigError, match="only 0 training images"):
        sampler.sample({"digit": 2, "odd": 5}, 3)
    with pytest.raises(ConfigError, match="unknown label"):
        sampler.sample({"colour": 1}, 3)


def test_conditional_rejects_bad_input():
    z, y = clustered_codes()
    with pytest.raises(ConfigError):
        ConditionalGaussian().fit(z, {"digit": y[:-1]})
    with pytest.raises(ConfigError):
        ConditionalGaussian(temperature=-1)
    with pytest.raises(ConfigError, match="fit"):
        ConditionalGaussian().sample({"digit": 0}, 3)
    with pytest.raises(ConfigError):
        ConditionalGaussian().fit(np.full((5, 2), np.nan), {"digit": np.zeros(5)})


def test_code_density_samples_where_the_codes_are():
    z, _ = clustered_codes()
    density = CodeDensity(n_components=3).fit(z)
    s = density.sample(600, seed=0)
    assert s.shape == (600, 4)
    # every sample lies near one of the three clusters, none in the empty middle
    nearest = np.min([np.linalg.norm(s - c, axis=1) for c in np.eye(3, 4) * 6], axis=0)
    assert np.quantile(nearest, 0.95) < 4
    assert density.score(z).mean() > density.score(np.zeros((5, 4)) + 3).mean()


def test_decoding_and_agreement_with_a_perfect_and_a_useless_classifier():
    torch.manual_seed(0)
    model = build_model("ae", image_shape=[1, 8, 8], latent_dim=4, arch="mlp", width=16).eval()
    z, y = clustered_codes(n_per=50)
    sampler = ConditionalGaussian().fit(z, {"digit": y})
    images = decode_codes(model, sampler.sample({"digit": 0}, 5))
    assert images.shape == (5, 1, 8, 8) and 0 <= images.min() and images.max() <= 1
    # a "classifier" that reads the class off the code the image was decoded from is perfect:
    # here a stand-in that always says 0 agrees only for digit 0
    res = agreement(lambda x: np.zeros(len(x)), model, sampler, "digit", [0, 1, 2], n=10)
    assert res["per_value"] == {0: 1.0, 1: 0.0, 2: 0.0} and res["mean"] == pytest.approx(1 / 3)
    with pytest.raises(ConfigError):
        decode_codes(model, np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="no prior"):
        prior_codes(model, 2)
    pca = PCA([1, 8, 8], 2).fit(torch.rand(20, 1, 8, 8))
    assert prior_codes(pca, 3).shape == (3, 1, 8, 8)


# -- probes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("probe", probes.PROBES)
def test_every_probe_beats_chance_on_separable_codes_and_not_on_noise(probe):
    z, y = clustered_codes(n_per=100)
    zt, yt = clustered_codes(n_per=50, seed=1)
    assert probes.probe_accuracy(z, y, zt, yt, 6, seed=0, probe=probe) > 0.9
    noise = np.random.default_rng(0).normal(size=z.shape)
    noise_t = np.random.default_rng(1).normal(size=zt.shape)
    assert probes.probe_accuracy(noise, y, noise_t, yt, 30, seed=0, probe=probe) < 0.55


def test_per_class_curve_skips_counts_a_class_cannot_give():
    z, y = clustered_codes(n_per=20)
    zt, yt = clustered_codes(n_per=10, seed=1)
    seen = []
    curves = probes.learning_curve({"codes": (z, zt)}, y, yt, (1, 5, 50), seeds=(0,),
                                   per_class=True, progress=seen.append)
    assert list(curves["codes"]) == [1, 5] and seen[-1] == 1.0
    with pytest.raises(ConfigError, match="unknown probe"):
        probes.probe_accuracy(z, y, zt, yt, 6, probe="oracle")


def test_probe_target_splits_continuous_labels_at_the_training_median():
    train = {"tone": np.linspace(0, 1, 11), "glasses": np.array([0, 1] * 5 + [1])}
    test = {"tone": np.array([0.1, 0.9]), "glasses": np.array([1, 0])}
    y_train, y_test, names = probes.probe_target(train, test, "tone")
    assert y_train.sum() == 5 and list(y_test) == [0, 1] and names[0].startswith("tone ≤")
    y_train, y_test, names = probes.probe_target(train, test, "glasses", {"glasses": ["no", "yes"]})
    assert names == ["no", "yes"] and list(y_test) == [1, 0]
    with pytest.raises(ConfigError):
        probes.probe_target(train, test, "hat")
