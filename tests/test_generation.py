"""Fréchet distance (latentlab.metrics.generation) on hand-made Gaussians with known answers."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.metrics.generation import frechet_distance, frechet_from_stats, sample_frechet


def test_identical_sets_are_at_distance_zero():
    a = np.random.default_rng(0).normal(size=(500, 6))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_a_shifted_copy_is_at_the_squared_shift():
    # same covariance exactly, means differ exactly by delta: FD = |delta|^2 in closed form
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    delta = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert frechet_distance(a, a + delta) == pytest.approx((delta**2).sum(), rel=1e-6)


def test_closed_form_for_different_covariances():
    # diagonal covariances commute: FD = |dmu|^2 + sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_from_stats(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)
    # rotating both Gaussians by one orthogonal matrix changes nothing
    q = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    rotated = frechet_from_stats(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-6)


def test_sample_estimate_approaches_the_population_value_and_is_symmetric():
    rng = np.random.default_rng(3)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal([0.5, 0.0], [2.0, 1.0], size=(20000, 2))
    expected = 0.25 + (2.0 - 1.0) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, abs=0.05)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_singular_covariances_still_give_a_finite_answer():
    a = np.zeros((50, 3))
    a[:, 0] = np.arange(50.0)  # rank-1 covariance
    assert np.isfinite(frechet_distance(a, a + 1.0))


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ConfigError):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ConfigError):
        frechet_distance(np.full((5, 2), np.nan), np.zeros((5, 2)))


class _Prior:
    """A 'model' whose samples are N(shift, 1) images of 2 pixels; features = pixels."""

    has_prior, label = True, "toy"

    def __init__(self, shift):
        self.shift = shift

    def sample(self, n, generator=None):
        return self.shift + torch.randn(n, 1, 1, 2, generator=generator)


def test_sample_frechet_ranks_a_closer_model_lower():
    reference = torch.randn(2000, 1, 1, 2, generator=torch.Generator().manual_seed(9))
    flat = lambda x: x.flatten(1)  # noqa: E731
    near = sample_frechet(_Prior(0.1), flat, reference, seed=0)
    far = sample_frechet(_Prior(1.0), flat, reference, seed=0)
    assert near < 0.1 and far == pytest.approx(2.0, abs=0.2) and near < far
    assert sample_frechet(_Prior(1.0), flat, reference, seed=0) == far  # seeded
