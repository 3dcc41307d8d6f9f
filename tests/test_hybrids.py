"""GLO, the adversarial autoencoder and the VAE-GAN: surface, per-player steps, save/load."""

import numpy as np
import pytest
import torch
from conftest import make_cfg

from latentlab import checkpoint
from latentlab.errors import ConfigError
from latentlab.latent.optimise import OptimisationCancelled
from latentlab.models import Batch, build_model
from latentlab.models.glo import lap_l1, laplacian_pyramid
from latentlab.train import train

SHAPE = [1, 16, 16]


def glo(n_codes=64, **kw):
    torch.manual_seed(0)
    return build_model("glo", image_shape=SHAPE, latent_dim=4, n_codes=n_codes, width=8, **kw)


# -- GLO -------------------------------------------------------------------------------------------
def test_laplacian_pyramid_reconstructs_the_image_and_lap_l1_is_a_distance():
    x = torch.rand(3, 2, 32, 32)
    levels = laplacian_pyramid(x, 3)
    assert [lv.shape[-1] for lv in levels] == [32, 16, 8, 4]
    assert torch.allclose(levels[0] + (x - levels[0]), x)  # band 0 = x - blur(x)
    assert torch.all(lap_l1(x, x, 3) == 0)
    y = x.flip(-1)
    assert torch.all(lap_l1(x, y, 3) > 0) and torch.allclose(lap_l1(x, y, 3), lap_l1(y, x, 3))


def test_glo_surface_codes_on_the_sphere_and_decode_reads_only_direction(tiny_data):
    model = glo().eval()
    x = tiny_data.x_test[:5]
    z = model.encode(x)
    assert z.shape == (5, 4) and torch.allclose(z.norm(dim=1), torch.ones(5), atol=1e-5)
    assert torch.allclose(model.decode(z), model.decode(3 * z), atol=1e-6)
    out = model.decode(z)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert model.slow_encode and model.has_prior and model.prior == "fitted"
    assert model.sample(7, torch.Generator().manual_seed(0)).shape == (7, *SHAPE)


def test_glo_encode_finds_an_image_the_decoder_can_draw():
    model = glo(encode_steps=300).eval()
    target = model.project_codes(torch.randn(4, 4, generator=torch.Generator().manual_seed(5)))
    x = model.decode(target).detach()
    start = model.decode(model.init_codes(x)).detach()
    with torch.inference_mode():  # as the app and the latent cache call it
        fitted = model.reconstruct(x)
    assert (fitted - x).pow(2).mean() < 0.1 * (start - x).pow(2).mean()


def test_glo_encode_reports_progress_and_can_be_cancelled(tiny_data):
    model = glo(encode_steps=12).eval()
    seen = []
    model.encode(tiny_data.x_test[:2], progress=lambda f, message: seen.append(f))
    assert seen == pytest.approx([t / 12 for t in range(1, 13)])
    with pytest.raises(OptimisationCancelled):
        model.encode(tiny_data.x_test[:2], should_stop=lambda: len(seen) > 14,
                     progress=lambda f, message: seen.append(f))


def test_glo_step_moves_the_decoder_and_only_the_batch_codes(tiny_data):
    model = glo()
    model.prepare_training(tiny_data.x_train)
    assert torch.allclose(model.codes.norm(dim=1), torch.ones(64), atol=1e-5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opts = model.make_optimizers(1e-2, 0.0)
    idx = torch.arange(10, 26)
    model.train_step(Batch(tiny_data.x_train[idx], idx), 0, opts)
    shift = (model.codes.detach() - before["codes"]).abs().max(1).values
    outside = torch.cat([shift[:10], shift[26:]])
    assert shift[idx].min() > 1e-4 and outside.max() < 1e-6  # re-projection only rounds the rest
    assert torch.allclose(model.codes.norm(dim=1), torch.ones(64), atol=1e-5)
    decoder = [k for k in before if k.startswith("decoder.")]
    assert all(not torch.equal(model.state_dict()[k], before[k]) for k in decoder)


def test_glo_learns_its_training_images(tiny_data):
    model = glo()
    model.prepare_training(tiny_data.x_train)
    opts = model.make_optimizers(1e-2, 0.0)
    batch = Batch(tiny_data.x_train, torch.arange(64))
    first = model.train_step(batch, 0, opts)["loss"]
    for step in range(1, 150):
        last = model.train_step(batch, step, opts)["loss"]
    assert last < 0.5 * first


def test_glo_table_must_match_the_training_split(tiny_data):
    with pytest.raises(ConfigError, match="n_codes"):
        glo(n_codes=10).prepare_training(tiny_data.x_train)
    for bad in ({"n_codes": 0}, {"levels": -1}, {"encode_lr": 0}, {"lap_weight": 0, "l2_weight": 0}):
        with pytest.raises(ConfigError):
            glo(**bad)


# -- adversarial hybrids ---------------------------------------------------------------------------
HYBRIDS = [("aae", {"adv_weight": 5.0, "disc_width": 16}),
           ("aae", {"adv_weight": 5.0, "disc_width": 16, "r1": 1.0}),
           ("vaegan", {"adv_weight": 0.05, "disc_width": 8}),
           ("vaegan", {"adv_weight": 0.05, "disc_width": 8, "r1": 1.0, "beta": 2.0})]


def hybrid(family, args):
    torch.manual_seed(0)
    return build_model(family, image_shape=SHAPE, latent_dim=4, width=8, **args)


def _params(model, disc: bool) -> dict:
    return {k: p.detach().clone() for k, p in model.named_parameters() if k.startswith("disc.") == disc}


def _moved(before: dict, model) -> list[bool]:
    now = dict(model.named_parameters())
    return [not torch.equal(now[k].detach(), v) for k, v in before.items()]


@pytest.mark.parametrize("family,args", HYBRIDS)
def test_each_player_updates_only_its_own_parameters(family, args, tiny_data):
    model = hybrid(family, args)
    gen_opt, disc_opt = model.make_optimizers(1e-3, 0.0)
    batch = Batch(tiny_data.x_train[:16], torch.arange(16))
    g0, d0 = _params(model, False), _params(model, True)
    terms, fakes = model.generator_step(batch, 0, gen_opt)
    assert "adv" in terms and all(_moved(g0, model)) and not any(_moved(d0, model))
    g1, d1 = _params(model, False), _params(model, True)
    d_terms = model.discriminator_step(batch, fakes, disc_opt)
    assert all(_moved(d1, model)) and not any(_moved(g1, model))
    assert ("r1" in d_terms) == (args.get("r1", 0) > 0)
    both = model.train_step(batch, 1, [gen_opt, disc_opt])
    assert {"loss", "recon", "adv", "d_loss", "d_real", "d_fake"} <= set(both)
    assert all(np.isfinite(v) for v in both.values())


def test_adversarial_term_waits_for_adv_start(tiny_data):
    model = hybrid("aae", {"adv_weight": 5.0, "adv_start": 3, "disc_width": 16})
    batch = Batch(tiny_data.x_train[:16], torch.arange(16))
    assert "adv" not in model.loss(batch, 2) and "adv" in model.loss(batch, 3)


def test_aae_pulls_codes_towards_the_prior(tiny_data):
    """Same data, seed and steps: the code discriminator must bring the codes' mean and spread
    closer to N(0, I) than the plain reconstruction objective leaves them."""
    def gap(adv_weight):
        model = hybrid("aae", {"adv_weight": adv_weight, "disc_width": 32})
        opts = model.make_optimizers(3e-3, 0.0)
        gen = torch.Generator().manual_seed(0)
        for step in range(250):
            idx = torch.randint(0, 64, (32,), generator=gen)
            model.train_step(Batch(tiny_data.x_train[idx], idx), step, opts, gen)
        z = model.eval().encode(tiny_data.x_train).detach()
        return float(z.mean(0).abs().mean() + (z.std(0) - 1).abs().mean())

    assert gap(20.0) < 0.5 * gap(0.0)


def test_hybrid_arguments_are_checked():
    for family, bad in (("aae", {"adv_weight": -1.0}), ("vaegan", {"disc_width": 0}),
                        ("aae", {"r1": -0.5}), ("vaegan", {"no_such_arg": 1})):
        with pytest.raises(ConfigError):
            build_model(family, image_shape=SHAPE, latent_dim=4, **bad)


# -- save / load through latentlab.checkpoint -------------------------------------------------------
@pytest.mark.parametrize("family,args", [("glo", {"n_codes": 64, "width": 8, "eval_images": 8}),
                                         ("aae", {"width": 8, "disc_width": 16}),
                                         ("vaegan", {"width": 8, "disc_width": 8})])
def test_train_save_load_round_trip(family, args, tiny_data, tmp_path):
    cfg = make_cfg(family, **args)
    result = train(cfg, out_dir=tmp_path, data=tiny_data, allow_collapse=True)  # 1-epoch smoke model
    assert result.status == "completed"
    folder = tmp_path / cfg.name
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "training.json"]
    loaded = checkpoint.load(folder)
    trained = result.model.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in loaded.state_dict().items())
    assert loaded.label == result.model.label and loaded.prior == result.model.prior
    a = loaded.sample(3, torch.Generator().manual_seed(1))
    b = result.model.sample(3, torch.Generator().manual_seed(1))
    assert torch.allclose(a, b)
    if family == "glo":
        assert "eval_images" in result.test_metrics and result.test_metrics["eval_images"] == 8
