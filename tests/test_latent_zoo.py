"""Every latent operation works on every zoo family (AE, DAE, VAE, β-VAE, PCA), on real
checkpoints: the app relies on this."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.checkpoint import zoo_names
from latentlab.latent import (
    AttributeDirections,
    crossfade,
    direction_sweep,
    encode_split,
    interpolate,
    latent_map,
    latent_neighbours,
    path_quality,
    traversal_grid,
)
from latentlab.zoo import dataset_of

MODELS = [n for n in zoo_names() if n.startswith("mnist_")]


@pytest.fixture(scope="module", params=MODELS)
def loaded(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # a private latent cache, restored afterwards
        mp.setenv("LATENTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        model = latentlab.load(request.param)
        yield model, dataset_of(model)


def test_cache_is_keyed_by_hash_and_reused(loaded):
    model, data = loaded
    first = encode_split(model, "test")
    assert first.z.shape == (len(data.x_test), model.latent_dim) and first.hash == model.info.hash
    with torch.inference_mode():
        direct = model.encode(data.x_test[:5]).numpy()
    np.testing.assert_allclose(first.z[:5], direct, atol=1e-5)
    again = encode_split(model, "test")
    assert np.array_equal(again.z, first.z) and "digit" in again.labels


def test_interpolation_endpoints_and_quality(loaded):
    model, data = loaded
    x0, x1 = data.x_test[0], data.x_test[1]
    for method in ("linear", "slerp"):
        frames = interpolate(model, x0, x1, 8, method)
        assert frames.shape == (8, *x0.shape)
        with torch.inference_mode():
            ends = model.reconstruct(torch.stack([x0, x1]))
        assert torch.allclose(frames[0], ends[0], atol=1e-4) and torch.allclose(frames[-1], ends[1], atol=1e-4)
        reference = data.x_test[:200]
        q = path_quality(frames, reference)
        assert q["realism_mean"] > 0 and q["realism_max"] >= q["realism_mean"]  # decoded, not real
        assert 0 <= q["smoothness_cv"] < 2
    real = path_quality(reference[:8], reference)
    assert real["realism_max"] == pytest.approx(0, abs=1e-9)  # real images are their own nearest
    even = path_quality(crossfade(x0, x1, 8), reference)
    assert even["smoothness_cv"] < 1e-6 and even["smoothness_max_ratio"] == pytest.approx(1)


def test_attribute_direction_edit_and_traversal(loaded):
    model, data = loaded
    lat = encode_split(model, "test")
    if len(np.unique(lat.labels["digit"])) < 2:
        pytest.skip("a one-class checkpoint (dataset option keep) has one digit in its test split")
    labels = {"is_one": lat.labels["digit"] == 1, "is_zero": lat.labels["digit"] == 0}
    dirs = AttributeDirections().fit(lat.z, labels)
    assert dirs.accuracy_["is_one"] > 0.8  # digit identity is linearly readable from every zoo latent
    z0 = torch.as_tensor(lat.z[:1])
    edited = torch.as_tensor(dirs.apply(lat.z[:1], "is_one", 2.0))
    assert not torch.allclose(edited, z0)
    sweep = direction_sweep(model, z0[0], torch.as_tensor(dirs.directions_["is_one"]), [-2.0, 0.0, 2.0])
    assert sweep.shape == (3, *data.x_test.shape[1:])
    with torch.inference_mode():
        unedited = model.decode(z0)[0]
    assert torch.allclose(sweep[1], unedited, atol=1e-5)  # strength 0 is the sample itself
    assert not torch.allclose(sweep[0], sweep[2], atol=1e-3)
    grid = traversal_grid(model, z0[0], steps=5, z_data=lat.z, max_dims=4)
    assert grid.images.shape[:2] == (4, 5)


def test_map_places_a_training_point_near_itself_and_neighbours_find_it(loaded):
    model, _ = loaded
    lat = encode_split(model, "test")
    fitted, emb = latent_map(model, "pca")
    placed = fitted.transform(lat.z[:3])
    np.testing.assert_allclose(placed, emb[:3], atol=1e-4)
    dist, idx = latent_neighbours(lat.z, lat.z[7:8], 3)
    assert idx[0, 0] == 7 and dist[0, 0] == pytest.approx(0, abs=1e-5)
