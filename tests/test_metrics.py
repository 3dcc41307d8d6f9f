"""Metrics: properties on synthetic sources and hand-made arrays (disentanglement_lib style:
a perfect representation scores near 1, noise near 0). Seeded, CPU, small sample sizes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from latentlab.errors import ConfigError
from latentlab.metrics import anomaly, probes, restoration
from latentlab.metrics import disentanglement as dis


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class ToySource:
    """Three factors of sizes 4, 5, 6; the "image" `[n, 1, 1, 3]` is the factor values in [0, 1]."""

    factor_names = ["a", "b", "c"]

    def __init__(self, sizes=(4, 5, 6)):
        self.factor_sizes = list(sizes)

    def factor_values(self, k):
        return np.linspace(0, 1, self.factor_sizes[k])

    def sample_factors(self, n, rng):
        return rng.integers(0, self.factor_sizes, size=(n, len(self.factor_sizes)))

    def render(self, factors):
        values = np.asarray(factors) / np.maximum(np.asarray(self.factor_sizes) - 1, 1)
        return torch.as_tensor(values, dtype=torch.float32).view(len(factors), 1, 1, -1)


def perfect(x):
    return x.flatten(1)


def duplicated(x):
    return torch.cat([x.flatten(1), x.flatten(1)], 1)


def make_noise():
    g = torch.Generator().manual_seed(0)
    return lambda x: torch.randn(len(x), 3, generator=g)


def make_mixed():
    """An orthogonal mix (Householder reflection about (1, 1, 1)): code i = (f_i - 2 f_j - 2 f_k)/3,
    so no code is dominated by one factor."""
    v = torch.ones(3, 1) / 3**0.5
    q = torch.eye(3) - 2 * v @ v.T
    return lambda x: x.flatten(1) @ q


SRC = ToySource()


# -- MIG --------------------------------------------------------------------------------------------
def test_mig_perfect_noise_duplicated_mixed():
    score = {name: dis.compute_mig(SRC, enc, seed=0, num_train=2000)
             for name, enc in [("perfect", perfect), ("noise", make_noise()),
                               ("dup", duplicated), ("mixed", make_mixed())]}
    assert 0.9 < score["perfect"]["mig"] <= 1.0
    assert score["perfect"]["best_code"] == [0, 1, 2]
    assert score["noise"]["mig"] < 0.1
    assert score["dup"]["mig"] < 0.1  # two codes carry each factor: no gap
    assert score["mixed"]["mig"] < 0.5 < score["perfect"]["mig"]


def test_mig_is_seeded_and_skips_constant_factors():
    assert dis.compute_mig(SRC, perfect, 3, 500) == dis.compute_mig(SRC, perfect, 3, 500)
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 4, 500), np.zeros(500, int)], 1)
    out = dis.mig_from_codes(factors + 0.01 * rng.normal(size=(500, 2)), factors)
    assert np.isnan(out["per_factor"][1]) and out["mig"] == out["per_factor"][0] > 0.9
    with pytest.raises(ConfigError, match="constant"):
        dis.mig_from_codes(np.zeros((10, 2)), np.zeros((10, 2), int))
    with pytest.raises(ConfigError, match="NaN"):
        dis.compute_mig(SRC, lambda x: x.flatten(1) / 0 * 0, 0, 100)


# -- DCI --------------------------------------------------------------------------------------------
def test_dci_importance_matrix_cases():
    diag = np.diag(5.0 * np.ones(5))
    assert dis.dci_from_importance(diag) == pytest.approx((1.0, 1.0))
    assert dis.dci_from_importance(np.zeros((10, 10)))[0] == pytest.approx(0.0)
    target = 1 - np.log(2) / np.log(10)
    d, c = dis.dci_from_importance(np.vstack([diag, diag]))  # redundant codes
    assert (d, c) == pytest.approx((1.0, target))
    d, c = dis.dci_from_importance(np.hstack([diag, diag]))  # one code, two factors
    assert (d, c) == pytest.approx((target, 1.0))


def test_dci_sampled_representations():
    def dci(enc):
        return dis.compute_dci(SRC, enc, seed=0, num_train=1000, num_test=500)

    good, noise, dup, mixed = dci(perfect), dci(make_noise()), dci(duplicated), dci(make_mixed())
    assert good["disentanglement"] > 0.9 and good["completeness"] > 0.9
    assert good["informativeness_test"] > 0.95
    assert noise["disentanglement"] < 0.2 and noise["informativeness_test"] < 0.4
    assert dup["disentanglement"] > 0.9
    assert dup["completeness"] == pytest.approx(1 - np.log(2) / np.log(6), abs=0.1)
    assert mixed["disentanglement"] < good["disentanglement"] - 0.5
    assert mixed["informativeness_test"] > 0.9  # mixing loses disentanglement, not information


@pytest.mark.parametrize("model", ["gbt", "lasso"])
def test_dci_other_models_agree_on_perfect_codes(model):
    rng = np.random.default_rng(0)
    factors = SRC.sample_factors(400, rng)
    out = dis.dci_from_codes(factors, factors, factors, factors, model=model)
    assert out["disentanglement"] > 0.9 and out["informativeness_test"] > 0.9
    with pytest.raises(ConfigError):
        dis.compute_dci(SRC, perfect, 0, 100, 100, model="xgboost")


# -- SAP --------------------------------------------------------------------------------------------
def test_sap_sampled_representations():
    def sap(enc, **kw):
        return dis.compute_sap(SRC, enc, seed=0, num_train=1000, num_test=500, **kw)["sap"]

    # Best possible with accuracy scores: mean over factors of 1 - 1/size = 0.79.
    assert sap(perfect) > 0.7
    assert sap(perfect, continuous=True) > 0.95
    assert sap(perfect, classifier="svm") > 0.15  # disentanglement_lib's classifier, see docstring
    assert sap(make_noise()) < 0.05 and sap(duplicated) < 0.05
    assert sap(make_mixed()) < 0.3


def test_sap_threshold_is_scale_invariant():
    rng = np.random.default_rng(0)
    factors = SRC.sample_factors(600, rng)
    codes = factors + 0.1 * rng.normal(size=factors.shape)
    a = dis.sap_from_codes(codes[:400], factors[:400], codes[400:], factors[400:])
    b = dis.sap_from_codes(0.01 * codes[:400], factors[:400], 0.01 * codes[400:], factors[400:])
    assert a == b


# -- FactorVAE score --------------------------------------------------------------------------------
def test_factor_vae_votes_and_majority_classifier():
    group = np.zeros((2, 4, 3))
    group[:, :, 1] = np.arange(4)  # code 1 varies, codes 0 and 2 constant within each group
    group[:, :, 2] = np.arange(4) * 10
    votes = dis.factor_vae_votes(group, np.array([1, 1]), np.array([1.0, 1e-6, 100.0]), 2)
    # code 1 is pruned (std 0.001 < 0.05): the least-varying active code is 0
    assert votes.tolist() == [[0, 0, 0], [2, 0, 0]]
    out = dis.factor_vae_from_votes(np.array([[3, 0], [1, 4]]), np.array([[0, 1], [1, 0]]))
    assert out == {"train_accuracy": 7 / 8, "eval_accuracy": 0.0, "code_to_factor": [0, 1]}


def test_factor_vae_score():
    def fvae(enc, votes):
        return dis.compute_factor_vae(SRC, enc, seed=0, num_train=votes, num_eval=votes,
                                      num_variance_estimate=1000)

    good = fvae(perfect, 300)
    assert good["eval_accuracy"] == good["train_accuracy"] == 1.0
    assert good["code_to_factor"] == [0, 1, 2]
    collapsed = fvae(lambda x: torch.cat([x.flatten(1), torch.zeros(len(x), 1)], 1), 300)
    assert collapsed["eval_accuracy"] == 1.0 and collapsed["num_active_dims"] == 3
    assert fvae(make_noise(), 1000)["eval_accuracy"] < 0.42  # chance is 1/3
    assert fvae(make_mixed(), 300)["eval_accuracy"] < 0.9


def test_fixed_factor_metrics_ignore_size_one_factors():
    src = ToySource((4, 1, 6))
    out = dis.compute_factor_vae(src, perfect, 0, 200, 200, num_variance_estimate=500)
    # code 1 is constant, so pruned: a group holding factor 1 fixed would vote wrongly
    assert out["num_active_dims"] == 2 and out["eval_accuracy"] == 1.0
    with pytest.raises(ConfigError):
        dis.compute_beta_vae(ToySource((4, 1, 1)), perfect, 0, 10, 10)


# -- BetaVAE score ----------------------------------------------------------------------------------
def test_beta_vae_score():
    def bvae(enc, n):
        return dis.compute_beta_vae(SRC, enc, seed=0, num_train=n, num_eval=n)

    good = bvae(perfect, 300)
    assert good["train_accuracy"] == 1.0 and good["eval_accuracy"] >= 0.99
    assert bvae(make_noise(), 600)["eval_accuracy"] < 0.45  # chance is 1/3
    feats = dis.beta_vae_features(np.ones((2, 5, 3)), np.zeros((2, 5, 3)))
    assert feats.shape == (2, 3) and np.all(feats == 1)
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 3)), rng.integers(0, 3, 60)
    x[np.arange(60), y] -= 0.5  # the fixed factor's code differs least
    small = dis.beta_vae_from_features(x[:40], y[:40], x[40:], y[40:])
    assert dis.beta_vae_from_features(1e3 * x[:40], y[:40], 1e3 * x[40:], y[40:]) == small


# -- anomaly ----------------------------------------------------------------------------------------
def test_auroc_perfect_reversed_random_and_missing_class():
    labels = np.r_[np.zeros(2000), np.ones(2000)]
    assert anomaly.auroc(labels, labels) == 1.0
    assert anomaly.auroc(-labels, labels) == 0.0
    noise = np.random.default_rng(0).random(4000)
    assert anomaly.auroc(noise, labels) == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ConfigError, match="both classes"):
        anomaly.auroc(noise[:10], np.zeros(10))


def test_reconstruction_scores_and_error_map():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 4, 5, generator=g)
    near, far = (x + 0.05).clamp(0, 1), 1 - x
    assert np.allclose(anomaly.reconstruction_scores(x, x), 0.0)
    mse = anomaly.reconstruction_scores(x, far)
    assert np.allclose(mse, ((far - x) ** 2).flatten(1).mean(1).numpy())
    assert np.all(anomaly.reconstruction_scores(x, near, "bce")
                  < anomaly.reconstruction_scores(x, far, "bce"))
    emap = anomaly.pixel_error_map(x, far)
    assert emap.shape == (6, 4, 5) and np.allclose(emap.mean(axis=(1, 2)), mse)


def test_latent_density_scores_flag_outliers():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 0.1]])
    z_train = rng.multivariate_normal(np.zeros(3), cov, 2000)
    inliers = rng.multivariate_normal(np.zeros(3), cov, 200)
    outliers = inliers + np.array([0.0, 0.0, 2.0])  # off the training manifold in a thin direction
    z = np.vstack([inliers, outliers])
    labels = np.r_[np.zeros(200), np.ones(200)]
    for method in ("gaussian", "knn"):
        assert anomaly.auroc(anomaly.latent_density_scores(z_train, z, method), labels) > 0.95
    nll = anomaly.latent_density_scores(z_train, inliers)
    assert np.allclose(nll, -scipy.stats.multivariate_normal(z_train.mean(0), cov).logpdf(inliers),
                       rtol=0.1)


def test_one_class_protocol_trains_on_normal_class_only():
    rng = np.random.default_rng(0)
    centres = np.array([[0.2, 0.2], [0.8, 0.2], [0.5, 0.8]])

    def blobs(n):
        y = rng.integers(0, 3, n)
        return torch.as_tensor(centres[y] + 0.05 * rng.normal(size=(n, 2))).view(n, 1, 1, 2), y

    (x_train, y_train), (x_test, y_test) = blobs(600), blobs(300)
    seen = []

    def fit_model(x_normal):
        seen.append(len(x_normal))
        return x_normal.flatten(1).mean(0)

    def score_fn(mean, x):
        return (x.flatten(1) - mean).norm(dim=1)

    out = anomaly.one_class_protocol(x_train, y_train, x_test, y_test, 2, fit_model, score_fn)
    assert seen == [int((y_train == 2).sum())] == [out["n_train"]]
    assert out["auroc"] > 0.99 and out["n_test_normal"] + out["n_test_anomalous"] == 300


# -- probes -----------------------------------------------------------------------------------------
def test_balanced_label_subset():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 40)
    counts = np.bincount(y[probes.balanced_label_subset(y, 12, rng)], minlength=5)
    assert counts.sum() == 12 and set(counts) <= {2, 3}
    y = np.r_[np.zeros(50), np.ones(50), 2]  # class 2 has one member
    counts = np.bincount(y[probes.balanced_label_subset(y, 10, rng)].astype(int))
    assert counts[2] == 1 and sorted(counts[:2]) == [4, 5]


def _separable(n, rng):
    y = rng.integers(0, 4, n)
    z = rng.normal(size=(n, 10))
    z[:, :4] += 3.0 * np.eye(4)[y]
    return z, y


def test_probe_beats_chance_and_learning_curve_shape():
    rng = np.random.default_rng(0)
    (z_train, y_train), (z_test, y_test) = _separable(2000, rng), _separable(1000, rng)
    assert probes.probe_accuracy(z_train, y_train, z_test, y_test, 100, seed=0) > 0.25 + 0.5
    noise_train, noise_test = rng.normal(size=(2000, 10)), rng.normal(size=(1000, 10))
    curves = probes.learning_curve({"good": (z_train, z_test), "noise": (noise_train, noise_test)},
                                   y_train, y_test, label_counts=(10, 100, 5000), seeds=(0, 1))
    assert set(curves) == {"good", "noise"} and set(curves["good"]) == {10, 100}  # 5000 > N
    assert curves["good"][100][0] > curves["noise"][100][0] + 0.4
    assert all(0 <= m <= 1 and s >= 0 for c in curves.values() for m, s in c.values())


# -- restoration ------------------------------------------------------------------------------------
class LinearModel(torch.nn.Module):
    """encode = projection onto a 4-D subspace of 8x8 images (around grey), decode = back."""

    def __init__(self):
        super().__init__()
        basis = torch.linalg.qr(torch.randn(64, 4, generator=torch.Generator().manual_seed(0)))[0]
        self.basis = torch.nn.Parameter(basis)

    def encode(self, x):
        return (x.flatten(1) - 0.5) @ self.basis

    def decode(self, z):
        return (0.5 + z @ self.basis.T).view(-1, 1, 8, 8)


def _clean(model, n=16):
    z = 0.4 * torch.randn(n, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x = model.decode(z)
    assert 0 <= x.min() and x.max() <= 1
    return x


def test_corruptions():
    x = _clean(LinearModel())
    assert torch.equal(restoration.add_gaussian_noise(x, 0.1, 3),
                       restoration.add_gaussian_noise(x, 0.1, 3))
    x_box, mask = restoration.mask_region(x, box=(2, 1, 3, 4))
    assert mask.shape == (16, 1, 8, 8) and int(mask[0].sum()) == 12
    assert torch.all(x_box[mask.expand_as(x)] == 0) and torch.equal(x_box[~mask], x[~mask])
    _, mask = restoration.mask_region(x, fraction=0.25, seed=0)
    assert torch.all(mask.flatten(1).sum(1) == 16)
    with pytest.raises(ConfigError):
        restoration.mask_region(x, box=(6, 6, 4, 4))


def test_restorations_improve_psnr_and_leave_model_untouched():
    model = LinearModel()
    before = model.basis.detach().clone()
    x = _clean(model)
    noisy = restoration.add_gaussian_noise(x, 0.1, seed=0)
    masked, mask = restoration.mask_region(x, fraction=0.25, seed=0)
    base_noisy, base_masked = restoration.psnr(noisy, x), restoration.psnr(masked, x)
    assert torch.all(restoration.psnr(restoration.restore_by_reconstruction(model, noisy), x)
                     > base_noisy + 3)
    assert torch.all(restoration.psnr(restoration.restore_by_reconstruction(model, masked), x)
                     > base_masked)
    with torch.inference_mode():  # callers often are; the optimiser must still get gradients
        fixed_noise = restoration.restore_by_latent_optimisation(model, noisy, steps=100)
        fixed_mask = restoration.restore_by_latent_optimisation(model, masked, mask, steps=300)
    assert torch.all(restoration.psnr(fixed_noise, x) > base_noisy + 3)
    assert torch.all(restoration.psnr(fixed_mask, x) > base_masked + 10)  # exact up to the prior
    assert model.basis.grad is None and torch.equal(model.basis.detach(), before)
