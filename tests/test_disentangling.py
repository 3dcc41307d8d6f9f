"""VAEs aimed at disentanglement (β-TCVAE, FactorVAE, annealed β-VAE) and their TC estimates."""

import math

import numpy as np
import pytest
import torch
from conftest import make_cfg

from latentlab import checkpoint, losses
from latentlab.errors import ConfigError
from latentlab.models import Batch, build_model
from latentlab.train import train

SHAPE = [1, 16, 16]
FAMILIES = [
    ("tcvae", {"beta": 6.0, "dataset_size": 64}),
    ("tcvae", {"beta": 3.0, "dataset_size": 1000, "tc_estimator": "mws"}),
    ("factorvae", {"gamma": 10.0, "disc_width": 32, "disc_depth": 2}),
    ("annealed_vae", {"gamma": 50.0, "capacity": 10.0, "capacity_steps": 20}),
]


def gaussian_codes(rho: float, n: int = 1024, d: int = 3, sigma: float = 0.5, seed: int = 0):
    """Posterior means with pairwise correlation rho, posterior std sigma, one sample each; and
    the exact TC of the aggregate posterior N(0, C + sigma² I)."""
    g = torch.Generator().manual_seed(seed)
    cov = torch.full((d, d), rho) + (1 - rho) * torch.eye(d)
    mu = torch.randn(n, d, generator=g) @ torch.linalg.cholesky(cov).T
    z = mu + sigma * torch.randn(n, d, generator=g)
    logvar = torch.full((n, d), 2 * math.log(sigma))
    agg = cov + sigma**2 * torch.eye(d)
    exact = 0.5 * (torch.log(torch.diag(agg)).sum() - torch.logdet(agg))
    return z, mu, logvar, float(exact)


def test_tc_is_near_zero_for_independent_codes_and_tracks_the_exact_value():
    estimates, exact = [], []
    for rho in (0.0, 0.5, 0.9):
        z, mu, logvar, tc = gaussian_codes(rho)
        estimates.append(float(losses.total_correlation(z, mu, logvar, len(z))))
        exact.append(tc)
    assert exact[0] == pytest.approx(0.0, abs=1e-6)
    assert abs(estimates[0]) < 0.05
    assert estimates[0] < estimates[1] < estimates[2]
    assert np.allclose(estimates, exact, atol=0.08)


def test_weighted_sampling_differs_from_stratified_by_its_constant():
    """MWS weights sum to 1/N, so its TC sits (d - 1) log N above the stratified one when the own
    posterior and the others are weighted alike (N = M)."""
    for rho in (0.0, 0.8):
        z, mu, logvar, _ = gaussian_codes(rho, n=256)
        mss = losses.total_correlation(z, mu, logvar, 256, "mss")
        mws = losses.total_correlation(z, mu, logvar, 256, "mws")
        assert float(mws - mss) == pytest.approx(2 * math.log(256), abs=1e-3)


def test_tc_rejects_a_bad_estimator_or_batch():
    z = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="unknown TC estimator"):
        losses.total_correlation(z, z, z, 10, "exact")
    with pytest.raises(ValueError, match="dataset_size >= batch"):
        losses.total_correlation(z, z, z, 3)


def test_permute_dims_keeps_each_column_and_breaks_dependence():
    z, *_ = gaussian_codes(0.95, n=2000)
    p = losses.permute_dims(z, torch.Generator().manual_seed(0))
    assert torch.equal(p.sort(0).values, z.sort(0).values)  # same marginal samples
    corr = lambda t: float(torch.corrcoef(t.T)[0, 1])  # noqa: E731
    assert corr(z) > 0.7 and abs(corr(p)) < 0.1  # 0.95 / (1 + 0.5²) = 0.76 before


@pytest.mark.parametrize("family,args", FAMILIES)
def test_surface_label_prior_and_a_train_step(family, args, tiny_data):
    model = build_model(family, image_shape=SHAPE, latent_dim=4, **args)
    assert model.prior == "normal" and model.has_prior
    assert model.label.split(" ")[0] in ("β-TCVAE", "FactorVAE", "Annealed")
    key = "γ" if family != "tcvae" else "β"
    assert f"{key}={args.get('gamma', args.get('beta')):g}" in model.label
    before = {k: v.clone() for k, v in model.state_dict().items()}
    terms = model.train_step(Batch(tiny_data.x_train[:16], torch.arange(16)), 0,
                             model.make_optimizers(1e-3, 0.0), torch.Generator().manual_seed(0))
    assert all(np.isfinite(v) for v in terms.values())
    assert all(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    x = tiny_data.x_test[:3]
    model.eval()
    assert model.encode(x).shape == (3, 4) and model.reconstruct(x).shape == x.shape


@pytest.mark.parametrize("family,args", FAMILIES)
def test_each_family_saves_and_loads_through_the_checkpoint_module(family, args, tiny_data, tmp_path):
    cfg = make_cfg(family, **args)
    result = train(cfg, data=tiny_data, out_dir=tmp_path, allow_collapse=True)  # 1-epoch smoke run
    assert result.status == "completed"
    loaded = checkpoint.load(tmp_path / cfg.name)
    assert type(loaded) is type(result.model) and loaded.label == result.model.label
    saved = result.model.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in loaded.state_dict().items())
    assert torch.equal(loaded.encode(tiny_data.x_test), result.model.encode(tiny_data.x_test))
    assert not list(tmp_path.rglob("*.pt")) and not list(tmp_path.rglob("*.pkl"))


def test_tcvae_regularizer_is_kl_plus_beta_minus_one_tc(tiny_data):
    torch.manual_seed(0)
    model = build_model("tcvae", image_shape=SHAPE, latent_dim=4, beta=6.0, dataset_size=500)
    out = model(tiny_data.x_train[:16], torch.Generator().manual_seed(1))
    terms = model.regularizer(out, step=0)
    kl = losses.gaussian_kl_per_dim(out.mu, out.logvar).sum(1).mean()
    tc = losses.total_correlation(out.z, out.mu, out.logvar, 500)
    assert torch.allclose(terms["kl"], kl) and torch.allclose(terms["tc"], 5.0 * tc)
    beta_one = build_model("tcvae", image_shape=SHAPE, latent_dim=4, beta=1.0, dataset_size=500)
    beta_one.load_state_dict(model.state_dict())
    assert float(beta_one.regularizer(out, 0)["tc"].detach()) == 0.0  # β = 1 is the plain VAE
    assert "tc" not in model.regularizer(model(tiny_data.x_train[:1]), 0)  # no pairs in one row


def test_factorvae_steps_touch_only_their_own_weights(tiny_data):
    torch.manual_seed(0)
    model = build_model("factorvae", image_shape=SHAPE, latent_dim=4, gamma=10.0, disc_width=32)
    vae_opt, disc_opt = model.make_optimizers(1e-3, 0.0)
    names = dict(model.state_dict())
    is_disc = {k: k.startswith("discriminator.") for k in names}
    assert any(is_disc.values()) and not all(is_disc.values())

    def changed(before):
        return {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}

    before = {k: v.clone() for k, v in model.state_dict().items()}
    terms, z = model.vae_step(Batch(tiny_data.x_train[:16], torch.arange(16)), 0, vae_opt)
    assert changed(before) == {k for k, d in is_disc.items() if not d} and "tc" in terms
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss = model.discriminator_step(z, disc_opt, 0, torch.Generator().manual_seed(0))
    assert changed(before) == {k for k, d in is_disc.items() if d} and loss > 0


def test_factorvae_discriminator_learns_to_spot_dependent_codes():
    """On codes with strongly dependent dims, the discriminator's TC estimate grows from ~0."""
    torch.manual_seed(0)
    model = build_model("factorvae", image_shape=SHAPE, latent_dim=3, disc_width=64)
    _, disc_opt = model.make_optimizers(3e-3, 0.0)
    g = torch.Generator().manual_seed(0)
    for step in range(300):
        z, *_ = gaussian_codes(0.95, n=128, seed=step)
        model.discriminator_step(z, disc_opt, step, g)
    z, *_ = gaussian_codes(0.95, n=2000, seed=999)
    with torch.no_grad():
        logits = model.discriminator(z)
        tc = float((logits[:, 0] - logits[:, 1]).mean())
    assert tc > 0.5  # the exact TC of these codes is 1.0 nats


def test_capacity_rises_linearly_then_holds(tiny_data):
    model = build_model("annealed_vae", image_shape=SHAPE, latent_dim=4, gamma=100.0,
                        capacity=20.0, capacity_steps=100)
    assert [model.capacity_at(s) for s in (0, 50, 100, 500)] == [0.0, 10.0, 20.0, 20.0]
    out = model(tiny_data.x_train[:8])
    kl = losses.gaussian_kl_per_dim(out.mu, out.logvar).sum(1).mean()
    assert torch.allclose(model.regularizer(out, 50)["kl"], 100.0 * (kl - 10.0).abs())


@pytest.mark.parametrize("family,args,fragment", [
    ("tcvae", {}, "needs dataset_size"),
    ("tcvae", {"dataset_size": 100, "tc_estimator": "exact"}, "tc_estimator must be one of"),
    ("factorvae", {"gamma": -1.0}, "gamma must be non-negative"),
    ("factorvae", {"beta": 4.0}, "leave beta at 1"),
    ("annealed_vae", {"capacity_steps": 1.5}, "capacity_steps must be an int"),
    ("annealed_vae", {"capacity": -3.0}, "must be non-negative"),
])
def test_bad_arguments_raise_config_errors(family, args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        build_model(family, image_shape=SHAPE, latent_dim=2, **args)


def test_tcvae_batch_larger_than_dataset_is_a_config_error(tiny_data):
    model = build_model("tcvae", image_shape=SHAPE, latent_dim=2, dataset_size=8)
    with pytest.raises(ConfigError, match="exceeds dataset_size"):
        model.loss(Batch(tiny_data.x_train[:16], torch.arange(16)), 0)
