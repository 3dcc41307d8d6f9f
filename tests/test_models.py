"""The autoencoder family: surface, training steps, determinism, PCA against scikit-learn."""

import numpy as np
import pytest
import torch
from conftest import make_cfg
from sklearn.decomposition import PCA as SkPCA

from latentlab.config import TrainConfig
from latentlab.errors import CheckpointError, ConfigError
from latentlab.models import PCA, Batch, build_model, corrupt
from latentlab.models import pca as pca_module
from latentlab.train import build_for, train

FAMILIES = [
    ("ae", {}),
    ("ae", {"l1": 0.01, "l2": 0.01}),
    ("ae", {"noise": "gaussian", "noise_level": 0.2}),
    ("ae", {"noise": "masking", "noise_level": 0.3}),
    ("ae", {"noise": "salt_pepper", "noise_level": 0.1}),
    ("ae", {"arch": "mlp", "width": 64}),
    ("vae", {}),
    ("vae", {"beta": 4.0, "kl_warmup_steps": 10}),
]


@pytest.mark.parametrize("family,args", FAMILIES)
def test_surface_shapes_and_ranges(family, args):
    model = build_model(family, image_shape=[3, 28, 28], latent_dim=5, **args).eval()
    x = torch.rand(6, 3, 28, 28)
    z = model.encode(x)
    assert z.shape == (6, 5)
    out = model.decode(z)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert model.reconstruct(x).shape == x.shape


@pytest.mark.parametrize("family,args", FAMILIES)
def test_train_step_changes_weights_and_eval_does_not(family, args, tiny_data):
    model = build_model(family, image_shape=[1, 16, 16], latent_dim=4, **args)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opts = model.make_optimizers(1e-3, 0.0)
    batch = Batch(tiny_data.x_train[:16], torch.arange(16))
    terms = model.train_step(batch, 0, opts)
    assert np.isfinite(terms["loss"])
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)  # every parameter tensor moved
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval().evaluate(tiny_data.x_test)
    assert all(torch.equal(v, frozen[k]) for k, v in model.state_dict().items())


def test_vae_encode_is_posterior_mean_and_sample_has_prior_shape():
    vae = build_model("vae", image_shape=[1, 16, 16], latent_dim=3).eval()
    x = torch.rand(4, 1, 16, 16)
    mu, _ = vae.encode_stats(x)
    assert torch.equal(vae.encode(x), mu)
    assert vae.sample(5, torch.Generator().manual_seed(0)).shape == (5, 1, 16, 16)
    with pytest.raises(NotImplementedError):
        build_model("ae", image_shape=[1, 16, 16], latent_dim=3).sample(2)


def test_vae_evaluate_reports_elbo_kl_and_active_units(tiny_data):
    vae = build_model("vae", image_shape=[1, 16, 16], latent_dim=4).eval()
    m = vae.evaluate(tiny_data.x_test)
    assert len(m["kl_per_dim"]) == 4 and 0 <= m["active_units"] <= 4
    assert m["neg_elbo"] > 0 and m["kl"] >= 0


def test_beta_scales_the_kl_term_and_warmup_ramps_it(tiny_data):
    batch = Batch(tiny_data.x_train[:8], torch.arange(8))
    torch.manual_seed(0)
    base = build_model("vae", image_shape=[1, 16, 16], latent_dim=4)
    strong = build_model("vae", image_shape=[1, 16, 16], latent_dim=4, beta=4.0, kl_warmup_steps=100)
    strong.load_state_dict(base.state_dict())
    kl1 = base.loss(batch, 50, torch.Generator().manual_seed(1))["kl"]
    kl4 = strong.loss(batch, 50, torch.Generator().manual_seed(1))["kl"]
    assert torch.allclose(kl4, kl1 * 4 * 0.5, rtol=1e-5)
    assert strong.loss(batch, 0, torch.Generator().manual_seed(1))["kl"] == 0


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_pepper"])
def test_corruptions_stay_in_range_and_change_pixels(noise):
    x = torch.full((4, 1, 16, 16), 0.5)
    y = corrupt(x, noise, 0.3, torch.Generator().manual_seed(0))
    assert y.min() >= 0 and y.max() <= 1
    changed = (y != x).float().mean()
    assert 0.1 < changed <= 1.0
    assert torch.equal(corrupt(x, noise, 0.0), x)


def test_training_is_deterministic(tiny_data):
    a = train(make_cfg("vae"), data=tiny_data, save=False).model.state_dict()
    b = train(make_cfg("vae"), data=tiny_data, save=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = make_cfg("vae")
    c.seed = 1
    other = train(c, data=tiny_data, save=False).model.state_dict()
    assert not all(torch.equal(a[k], other[k]) for k in a)


def test_training_reduces_test_error(tiny_data):
    cfg = make_cfg("ae")
    cfg.epochs, cfg.lr = 15, 3e-3
    untrained = build_for(cfg, tiny_data).eval().evaluate(tiny_data.x_test)["mse"]
    result = train(cfg, data=tiny_data, save=False)
    assert result.status == "completed"
    assert result.test_metrics["mse"] < 0.5 * untrained
    assert [h["epoch"] for h in result.history] == list(range(1, 16))


def test_non_finite_loss_stops_with_diverged_and_writes_nothing(tiny_data, tmp_path):
    bad = tiny_data.x_train.clone()
    bad[3, 0, 5, 5] = float("nan")
    tiny_data.x_train = bad
    result = train(make_cfg("ae"), data=tiny_data, out_dir=tmp_path)
    assert result.status == "diverged" and "non-finite" in result.message
    assert not (tmp_path / "tiny_ae").exists()


def test_a_run_that_does_not_save_writes_nothing(tiny_data, tmp_path):
    result = train(make_cfg("vae"), data=tiny_data, out_dir=tmp_path, save=False, allow_collapse=True)
    assert result.status == "completed" and result.path is None
    assert list(tmp_path.iterdir()) == []  # no checkpoint and no resume state


def test_resume_continues_to_the_same_weights(tiny_data, tmp_path):
    cfg = make_cfg("vae")
    cfg.epochs = 2
    full = train(cfg, data=tiny_data, save=False).model.state_dict()
    cfg1 = make_cfg("vae")
    cfg1.epochs = 2
    # run epoch 1 only by interrupting after the first epoch's state is saved
    class Stop(Exception):
        pass

    def stop_after_first_epoch(event):
        if event["kind"] == "epoch":
            raise Stop

    with pytest.raises(Stop):
        train(cfg1, data=tiny_data, out_dir=tmp_path, progress=stop_after_first_epoch)
    assert (tmp_path / ".tiny_vae.resume" / "state.json").exists()
    resumed = train(cfg1, data=tiny_data, out_dir=tmp_path, resume=True, allow_collapse=True)
    assert len(resumed.history) == 2
    got = resumed.model.state_dict()
    assert all(torch.allclose(full[k], got[k], atol=1e-6) for k in full)
    assert not (tmp_path / ".tiny_vae.resume").exists()


def test_a_broken_resume_state_gets_a_clear_error(tiny_data, tmp_path):
    cfg = make_cfg("ae")
    cfg.epochs = 2

    def stop(event):
        if event["kind"] == "epoch":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, data=tiny_data, out_dir=tmp_path, progress=stop)
    state = tmp_path / ".tiny_ae.resume"
    weights = (state / "state.safetensors").read_bytes()
    (state / "state.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        train(cfg, data=tiny_data, out_dir=tmp_path, resume=True)
    (state / "state.safetensors").write_bytes(weights)
    (state / "state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="state.json"):
        train(cfg, data=tiny_data, out_dir=tmp_path, resume=True)
    assert not (tmp_path / "tiny_ae").exists()


def test_pca_matches_scikit_learn(tiny_data):
    x = tiny_data.x_train
    ours = PCA([1, 16, 16], 5).fit(x)
    sk = SkPCA(5, svd_solver="full").fit(x.flatten(1).numpy())
    theirs = sk.inverse_transform(sk.transform(x.flatten(1).numpy()))
    mine = (ours.encode(x) @ ours.components + ours.mean).numpy()
    np.testing.assert_allclose(mine, theirs, atol=1e-4)
    np.testing.assert_allclose(ours.explained_variance.numpy(), sk.explained_variance_, rtol=1e-3)
    np.testing.assert_allclose(np.abs(ours.components.numpy()), np.abs(sk.components_), atol=1e-4)


def test_pca_randomised_path_matches_full_svd_subspace(monkeypatch):
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 5000, generator=g)
    x = (torch.randn(300, 3, generator=g) @ basis + 0.01 * torch.randn(300, 5000, generator=g))
    x = (x - x.min()) / (x.max() - x.min())
    full = PCA([1, 1, 5000], 3).fit(x.view(300, 1, 1, 5000))
    monkeypatch.setattr(pca_module, "_FULL_SVD_LIMIT", 10)  # force torch.svd_lowrank
    fast = PCA([1, 1, 5000], 3).fit(x.view(300, 1, 1, 5000))
    overlap = (full.components @ fast.components.T).abs()
    assert torch.allclose(overlap, torch.eye(3), atol=1e-3)


@pytest.mark.parametrize("raw,fragment", [
    ({"epochs": "3"}, "epochs must be int"),
    ({"epoch": 3}, "unknown key(s) in config: epoch"),
    ({"lr": -1}, "lr must be a finite number > 0"),
    ({"name": "../evil"}, "name must be 1-64 letters"),
])
def test_bad_config_values_raise_clear_errors(raw, fragment):
    base = make_cfg("ae").to_dict()
    base.update(raw)
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig.from_dict(base)


def test_config_round_trips_through_json(tmp_path):
    cfg = make_cfg("vae", beta=4.0)
    path = tmp_path / "c.json"
    import json

    path.write_text(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_json(path) == cfg


@pytest.mark.parametrize("family,args,fragment", [
    ("gan", {}, "unknown model family"),
    ("ae", {"noise": "pink"}, "noise must be one of"),
    ("ae", {"colour": 1}, "bad arguments"),
    ("vae", {"beta": -1.0}, "beta must be non-negative"),
])
def test_bad_model_arguments(family, args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        build_model(family, image_shape=[1, 16, 16], latent_dim=2, **args)


def test_prior_attribute_and_dim_ranking_agree_across_families():
    """One attribute says what codes are drawn from; one function ranks dims (KL where the
    encoder has a posterior, code variance otherwise)."""
    from latentlab.latent.traverse import rank_dims

    x = torch.rand(64, 1, 16, 16)
    ae = build_model("ae", image_shape=[1, 16, 16], latent_dim=3).eval()
    vae = build_model("vae", image_shape=[1, 16, 16], latent_dim=3).eval()
    pca = PCA([1, 16, 16], 3).fit(x)
    assert (ae.prior, vae.prior, pca.prior) == (None, "normal", "pca")
    assert (ae.has_prior, vae.has_prior, pca.has_prior) == (False, True, True)
    with torch.no_grad():
        mu, logvar = ae.encode_stats(x[:4])
        assert logvar is None and torch.equal(mu, ae.encode(x[:4]))
        z = ae.encode(x)
    order, score, name = rank_dims(ae, x, z)
    assert name == "variance" and list(order) == list(np.argsort(-z.double().var(0).numpy(), kind="stable"))
    order, score, name = rank_dims(vae, x, None)
    assert name == "KL" and score.shape == (3,) and (score >= 0).all()
    assert score[order[0]] == score.max()
