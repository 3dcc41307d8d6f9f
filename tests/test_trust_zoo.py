"""Issue 15's library pieces on the shipped zoo: progress and cancel while encoding a split, and
the upload out-of-distribution verdict on images whose answer is known."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.datasets import load_dataset
from latentlab.errors import Cancelled
from latentlab.latent.cache import encode_split
from latentlab.metrics.ood import reconstruction_errors, upload_verdict


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_encoding_a_split_reports_progress(own_cache):
    model = latentlab.load("mnist_pca")
    seen = []
    lat = encode_split(model, "train", batch_size=1000, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(seen) >= 5 and all(isinstance(m, str) and m for _, m in seen)
    assert lat.z.shape == (4000, model.latent_dim)
    assert any(own_cache.rglob("*-latents-train.npz"))


def test_a_cancelled_encoding_writes_nothing(own_cache):
    model = latentlab.load("mnist_pca")
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2  # let two batches through, then ask to stop

    with pytest.raises(Cancelled):
        encode_split(model, "train", batch_size=500, should_stop=stop)
    assert not any(own_cache.rglob("*.npz"))


def test_a_test_digit_is_like_the_data_and_noise_is_not():
    model = latentlab.load("mnist_ae")
    x = load_dataset("mnist").x_test
    typical = upload_verdict(model, x[3])
    assert typical.level != "unlike" and typical.percentile < 99
    noise = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    odd = upload_verdict(model, noise)
    assert odd.level == "unlike" and odd.percentile == 100.0
    assert "unlike the training data" in odd.sentence


def test_test_images_land_at_uniform_percentiles():
    """A verdict is calibrated: the shipped test errors are the reference, so the test images'
    own errors recomputed now spread evenly over 0-100 (1 % of them at 99 or above)."""
    model = latentlab.load("mnist_ae")
    x = load_dataset("mnist").x_test
    ref = encode_split(model, "test").recon_error
    mine = reconstruction_errors(model, x)
    assert np.allclose(mine, ref, rtol=1e-3, atol=1e-6)
    above = np.mean([upload_verdict(model, x[i]).percentile >= 99 for i in range(0, 1000, 5)])
    assert above <= 0.03
