"""Encode by optimisation (latentlab.latent.optimise) and restoration's corruptions and SSIM."""

import numpy as np
import pytest
import torch
from test_metrics import LinearModel, _clean

from latentlab.errors import ConfigError
from latentlab.latent.optimise import OptimisationCancelled, encode_by_optimisation
from latentlab.metrics import restoration


def test_recovers_the_codes_of_a_linear_decoder_even_under_inference_mode():
    model = LinearModel()
    z_true = 0.4 * torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    x = model.decode(z_true).detach()
    with torch.inference_mode():
        z = encode_by_optimisation(model.decode, x, torch.zeros(8, 4), steps=400, lr=0.05)
    assert torch.allclose(z, z_true, atol=1e-3)
    assert model.basis.grad is None


def test_images_are_independent_and_runs_are_deterministic():
    model = LinearModel()
    x = _clean(model)[:6]
    together = encode_by_optimisation(model.decode, x, torch.zeros(6, 4), steps=30)
    alone = torch.cat([encode_by_optimisation(model.decode, x[i:i + 1], torch.zeros(1, 4), steps=30)
                       for i in range(6)])
    assert torch.allclose(together, alone, atol=1e-5)
    assert torch.equal(together, encode_by_optimisation(model.decode, x, torch.zeros(6, 4), steps=30))


def test_projection_keeps_codes_on_the_sphere_and_progress_is_reported():
    model = LinearModel()
    x = _clean(model)[:5]
    seen = []
    z = encode_by_optimisation(model.decode, x, torch.randn(5, 4), steps=20,
                               project=lambda z: torch.nn.functional.normalize(z, dim=1),
                               progress=lambda f, message: seen.append((f, message)))
    assert torch.allclose(z.norm(dim=1), torch.ones(5), atol=1e-5)
    assert [f for f, _ in seen] == pytest.approx([t / 20 for t in range(1, 21)])
    losses = [float(m.rsplit(" ", 1)[1]) for _, m in seen]
    assert seen[0][1].startswith("step 1/20") and losses[-1] < losses[0]  # the loss went down


def test_cancel_raises_with_the_codes_reached_so_far():
    model = LinearModel()
    x = _clean(model)[:3]
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(OptimisationCancelled) as info:
        encode_by_optimisation(model.decode, x, torch.zeros(3, 4), steps=100, should_stop=stop)
    assert info.value.step == 5 and info.value.codes.shape == (3, 4)
    assert not torch.equal(info.value.codes, torch.zeros(3, 4))


@pytest.mark.parametrize("kwargs", [{"steps": -1}, {"lr": 0.0}, {"prior_weight": -1.0},
                                    {"mask": torch.zeros(3, 1, 4, 4, dtype=torch.bool)}])
def test_bad_settings_are_config_errors(kwargs):
    model = LinearModel()
    with pytest.raises(ConfigError):
        encode_by_optimisation(model.decode, _clean(model)[:3], torch.zeros(3, 4), **kwargs)


def test_masked_pixels_do_not_pull_the_codes():
    model = LinearModel()
    x = _clean(model)[:4]
    mask = torch.zeros(4, 1, 8, 8, dtype=torch.bool)
    mask[:, :, :3] = True
    garbage = x.masked_fill(mask, 1.0)  # the hidden rows say "white"; the fit must ignore them
    z = encode_by_optimisation(model.decode, garbage, torch.zeros(4, 4), mask, steps=400)
    assert restoration.psnr(model.decode(z).detach(), x).min() > 40


# -- corruptions and SSIM --------------------------------------------------------------------------
def test_salt_and_pepper_hits_the_fraction_it_says_and_only_there():
    x = torch.full((20, 3, 16, 16), 0.5)
    bad, hit = restoration.add_salt_and_pepper(x, 0.2, seed=1)
    assert hit.shape == (20, 1, 16, 16)
    assert abs(hit.float().mean().item() - 0.2) < 0.03
    hit3 = hit.expand_as(x)
    assert torch.equal(bad[~hit3], x[~hit3])
    values = bad[hit3]
    assert set(values.unique().tolist()) == {0.0, 1.0} and abs(values.mean().item() - 0.5) < 0.1
    assert torch.equal(bad, restoration.add_salt_and_pepper(x, 0.2, seed=1)[0])
    with pytest.raises(ConfigError):
        restoration.add_salt_and_pepper(x, 1.5)


def test_painted_mask_in_every_accepted_form():
    x = torch.rand(3, 1, 8, 8)
    painted = np.zeros((8, 8), dtype=np.uint8)
    painted[2:4, 5:7] = 255  # a brush stroke on a canvas
    bad, mask = restoration.mask_from_array(painted, x)
    assert mask.shape == (3, 1, 8, 8) and int(mask.sum()) == 3 * 4
    assert torch.all(bad[mask.expand_as(x)] == 0) and torch.equal(bad[~mask], x[~mask])
    per_image = np.zeros((3, 8, 8), dtype=bool)
    per_image[1, 0, 0] = True
    _, mask = restoration.mask_from_array(per_image, x)
    assert mask[:, 0].sum((1, 2)).tolist() == [0, 1, 0]
    for wrong in (np.zeros((7, 8)), np.zeros((2, 8, 8)), np.full((8, 8), np.nan)):
        with pytest.raises(ConfigError):
            restoration.mask_from_array(wrong, x)


def test_ssim_is_one_for_identical_images_and_falls_with_damage():
    x = _clean(LinearModel())[:6].repeat(1, 3, 2, 2)  # RGB 16x16
    assert torch.allclose(restoration.ssim(x, x), torch.ones(6), atol=1e-6)
    mild = restoration.add_gaussian_noise(x, 0.05, seed=0)
    strong = restoration.add_gaussian_noise(x, 0.3, seed=0)
    s_mild, s_strong = restoration.ssim(mild, x), restoration.ssim(strong, x)
    assert torch.all(s_mild < 1) and torch.all(s_strong < s_mild)
    assert torch.allclose(restoration.ssim(mild, x), restoration.ssim(x, mild), atol=1e-6)
    with pytest.raises(ConfigError):
        restoration.ssim(x, x[:, :1])


def test_encode_with_progress_reports_only_for_slow_encoders():
    from latentlab.latent.optimise import encode_with_progress
    from latentlab.models import build_model

    x = torch.rand(2, 1, 16, 16)
    seen = []
    ae = build_model("ae", image_shape=[1, 16, 16], latent_dim=3, width=4).eval()
    assert torch.equal(encode_with_progress(ae, x, lambda *a: seen.append(a)), ae.encode(x))
    assert seen == []
    glo = build_model("glo", image_shape=[1, 16, 16], latent_dim=3, n_codes=8, width=4,
                      encode_steps=4).eval()
    z = encode_with_progress(glo, x, lambda *a: seen.append(a))
    assert z.shape == (2, 3) and [s[0] for s in seen] == [0.25, 0.5, 0.75, 1.0]
