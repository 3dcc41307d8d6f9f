"""Properties of the latent-operations engine, on toy linear models and synthetic codes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from latentlab.errors import ConfigError
from latentlab.latent import (  # the package's public names (some resolve lazily)
    AttributeDirections,
    LatentMap,
    NearestNeighbours,
    attribute_report,
    cached_map,
    classifier_direction,
    conditional_direction,
    crossfade,
    direction_sweep,
    directions_from_groups,
    fit_attribute_regressors,
    interpolate,
    latent_neighbours,
    lerp,
    mean_difference,
    order_dims,
    path,
    path_quality,
    pixel_neighbours,
    slerp,
    traversal_grid,
)
from latentlab.latent.attributes import binarize
from latentlab.latent.project import params_key

torch.set_num_threads(1)


class Toy:
    """Linear 'autoencoder': encode flattens, decode reshapes, so images show the codes."""

    def __init__(self, shape=(1, 3, 4), prior=None):
        self.shape, self.prior = shape, prior
        self.latent_dim = math.prod(shape)

    def encode(self, x):
        return torch.as_tensor(x).flatten(1)

    def decode(self, z):
        return torch.as_tensor(z).reshape(-1, *self.shape)


def _cos(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _blobs(n, side=8, seed=0) -> torch.Tensor:
    """Smooth single-blob greyscale images `[n, 1, side, side]` in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    c = torch.rand(n, 2, generator=g) * (side - 1)
    yy, xx = torch.meshgrid(torch.arange(float(side)), torch.arange(float(side)), indexing="ij")
    d2 = (yy[None] - c[:, 0, None, None]) ** 2 + (xx[None] - c[:, 1, None, None]) ** 2
    return torch.exp(-d2 / 4.0)[:, None]


# -- interpolation ---------------------------------------------------------------------------

def test_slerp_hits_endpoints_and_keeps_norm():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(16, generator=g), torch.randn(16, generator=g)
    z1 = z1 * z0.norm() / z1.norm()
    p = slerp(z0, z1, 9)
    assert p.shape == (9, 16)
    assert torch.equal(p[0], z0) and torch.equal(p[-1], z1)
    assert torch.allclose(p.norm(dim=1), z0.norm().expand(9), rtol=1e-5)
    assert (lerp(z0, z1, 9).norm(dim=1)[4] < z0.norm() * 0.99)  # the chord dips inside


def test_slerp_near_parallel_falls_back_to_lerp():
    z0 = torch.tensor([1.0, 0.0, 0.0])
    p = slerp(z0, 2 * z0, 5)
    assert torch.isfinite(p).all() and torch.allclose(p, lerp(z0, 2 * z0, 5))
    assert torch.isfinite(slerp(torch.zeros(3), z0, 4)).all()


def test_lerp_midpoint_and_bad_steps():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    assert torch.allclose(lerp(z0, z1, 3)[1], torch.tensor([2.0, 0.0]))
    with pytest.raises(ConfigError):
        lerp(z0, z1, 1)
    with pytest.raises(ConfigError):
        path(torch.stack([z0, z1]), 4, method="cubic")


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_path_passes_through_every_waypoint(method):
    pts = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    p = path(pts, 5, method)
    assert p.shape == (3 * 4 + 1, 6)
    for k in range(4):
        assert torch.allclose(p[4 * k], pts[k], atol=1e-6)


def test_interpolate_and_crossfade_with_toy_model():
    x0, x1 = torch.zeros(1, 3, 4), torch.ones(1, 3, 4)
    frames = interpolate(Toy(), x0, x1, 5)
    assert frames.shape == (5, 1, 3, 4)
    assert torch.allclose(frames[2], torch.full((1, 3, 4), 0.5))
    fade = crossfade(x0, x1, 5)
    assert fade.shape == (5, 1, 3, 4) and torch.equal(fade[0], x0) and torch.equal(fade[-1], x1)


def test_path_quality_prefers_real_images_and_even_steps():
    reference = _blobs(300, seed=0)
    real = _blobs(8, seed=1)
    noise = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    q_real, q_noise = path_quality(real, reference), path_quality(noise, reference)
    assert q_real["realism_mean"] < q_noise["realism_mean"]
    assert q_real["realism_max"] >= q_real["realism_mean"]
    assert path_quality(reference[:5], reference)["realism_max"] < 1e-9  # frames in the set
    even = crossfade(real[0], real[1], 9)
    jumpy = torch.cat([even[:1].repeat(4, 1, 1, 1), even[-1:].repeat(5, 1, 1, 1)])
    q_even, q_jump = path_quality(even, reference), path_quality(jumpy, reference)
    assert q_even["smoothness_cv"] < 1e-6 and abs(q_even["smoothness_max_ratio"] - 1) < 1e-6
    assert q_jump["smoothness_cv"] > 1.0 and q_jump["smoothness_max_ratio"] > 4.0


# -- attribute directions --------------------------------------------------------------------

def test_mean_difference_recovers_known_direction():
    rng = np.random.default_rng(0)
    true = rng.normal(size=10)
    true /= np.linalg.norm(true)
    y = rng.random(2000) < 0.4
    z = rng.normal(size=(2000, 10)) + np.where(y, 1.0, -1.0)[:, None] * true
    d = mean_difference(z, y)
    assert _cos(d.vector, true) > 0.95 and abs(np.linalg.norm(d.vector) - 1) < 1e-9
    assert 1.5 < d.raw_norm < 2.5 and d.accuracy > 0.8


def test_classifier_beats_mean_difference_under_correlated_nuisance():
    # One high-variance nuisance axis v = (e0 + e1)/√2 overlaps the label axis e0, so the class
    # means differ along Σe0 ∝ 13e0 + 12e1 (cos ≈ 0.73 to e0); a linear classifier finds e0.
    rng = np.random.default_rng(0)
    d, n = 8, 3000
    v = np.zeros(d)
    v[:2] = 1 / np.sqrt(2)
    z = rng.normal(size=(n, d)) + rng.normal(scale=5.0, size=(n, 1)) * v
    true = np.eye(d)[0]
    y = z @ true + 0.1 * rng.normal(size=n) > 0
    md = mean_difference(z, y).vector
    for method in ("logistic", "svm"):
        clf = classifier_direction(z, y, method=method)
        assert _cos(clf.vector, true) > 0.95 > _cos(md, true) + 0.1
        assert clf.accuracy > 0.95


def test_conditional_direction_is_orthogonal_to_conditions():
    rng = np.random.default_rng(1)
    primary, others = rng.normal(size=12), [rng.normal(size=12) for _ in range(3)]
    c = conditional_direction(primary, others + [others[0] * 2])  # duplicates are harmless
    assert abs(np.linalg.norm(c) - 1) < 1e-9
    assert max(abs(c @ o) for o in others) < 1e-9 and c @ primary > 0
    with pytest.raises(ConfigError):
        conditional_direction(others[0] + others[1], others)


def test_attribute_directions_fit_apply_and_conditions():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(800, 6))
    labels = {"a": z[:, 0] + 0.5 * z[:, 1] > 0, "b": z[:, 1] > 0}
    ad = AttributeDirections(method="logistic", conditions={"a": ["b"]}).fit(z, labels)
    assert set(ad.directions_) == {"a", "b"} and ad.accuracy_["b"] > 0.9
    assert abs(ad.directions_["a"] @ ad.candidates_["b"]["logistic"].vector) < 1e-9
    assert set(ad.cosines_["a"]) == {"mean_difference~logistic", "mean_difference~svm",
                                     "logistic~svm"}
    moved = ad.apply(torch.as_tensor(z[:5], dtype=torch.float32), "b", 2.0)
    shift = (moved.double().numpy() - z[:5]) @ ad.directions_["b"]
    assert isinstance(moved, torch.Tensor) and np.allclose(shift, 2.0 * ad.scale_["b"], atol=1e-5)
    with pytest.raises(ConfigError):
        ad.apply(z, "c", 1.0)
    with pytest.raises(ConfigError):
        AttributeDirections(method="pca").fit(z, labels)


def test_groups_and_label_checks():
    z = np.concatenate([np.zeros((3, 2)), np.ones((3, 2))])
    d = directions_from_groups(z, [3, 4, 5], [0, 1, 2])
    assert np.allclose(d.vector, np.ones(2) / np.sqrt(2)) and math.isnan(d.accuracy)
    with pytest.raises(ConfigError):
        directions_from_groups(z, [0, 1], [1, 2])
    with pytest.raises(ConfigError):
        mean_difference(z, np.ones(6, bool))
    assert binarize(np.arange(6)).sum() == 3


def test_regressors_and_report_on_linear_toy():
    """Images show the codes; attribute a reads pixel 0, b reads pixel 5. Editing along a's
    direction must move a (slope ≈ 1 label std per std of edit) and leave b alone."""
    rng = np.random.default_rng(3)
    model = Toy(shape=(1, 3, 4))
    z = rng.normal(size=(1500, 12)).astype(np.float32)
    values = {"a": z[:, 0].astype(np.float64), "b": z[:, 5].astype(np.float64)}
    regs = fit_attribute_regressors(model.decode(torch.as_tensor(z)), values, seed=0)
    assert all(r.r2_ > 0.99 for r in regs.values())
    assert regs["a"](model.decode(torch.as_tensor(z[:7]))).shape == (7,)
    ad = AttributeDirections(method="logistic").fit(z, {k: binarize(v) for k, v in values.items()})
    report = attribute_report(ad, z, model, regs, n_samples=16)
    assert 0.8 < report["a"]["slope"] < 1.2 and report["a"]["leaks"]["b"] < 0.1
    assert report["b"]["accuracy"] > 0.9 and "logistic~svm" in report["b"]["cosines"]


# -- traversals ------------------------------------------------------------------------------

def test_traversal_grid_varies_only_the_swept_dim():
    model = Toy()
    rng = np.random.default_rng(4)
    z_data = rng.normal(size=(500, 12)) * np.arange(1, 13)
    z = torch.as_tensor(z_data[0], dtype=torch.float32)
    grid = traversal_grid(model, z, dims=[2, 7], steps=5, z_data=z_data)
    assert grid.images.shape == (2, 5, 1, 3, 4) and grid.values.shape == (2, 5)
    codes = grid.images.flatten(2)  # the toy decoder shows the codes
    for row, dim in enumerate(grid.dims):
        others = np.delete(np.arange(12), dim)
        assert torch.equal(codes[row][:, others], z[others].expand(5, -1))
        assert np.allclose(codes[row][:, dim].numpy(), grid.values[row], atol=1e-5)
        assert np.allclose(grid.values[row, [0, -1]],
                           np.quantile(z_data[:, dim], [0.05, 0.95]), atol=1e-5)
    with pytest.raises(ConfigError):
        traversal_grid(model, z, range_mode="data")  # no z_data to take percentiles from


def test_traversal_prior_range_for_vae_and_ordering():
    vae = Toy(prior="normal")
    grid = traversal_grid(vae, torch.zeros(1, 1, 3, 4), steps=7, max_dims=3,
                          kl_per_dim=np.arange(12.0))
    assert list(grid.dims) == [11, 10, 9] and grid.images.shape == (3, 7, 1, 3, 4)
    assert np.allclose(grid.values[0], norm.ppf(np.linspace(0.05, 0.95, 7)))
    z_data = np.random.default_rng(5).normal(size=(400, 3)) * [1.0, 3.0, 2.0]
    assert list(order_dims(z_data)) == [1, 2, 0]
    with pytest.raises(ConfigError):
        order_dims()


def test_direction_sweep_shapes_and_values():
    model, direction = Toy(), np.eye(12)[3]
    single = direction_sweep(model, torch.zeros(12), direction, [-1.0, 0.0, 2.0])
    assert single.shape == (3, 1, 3, 4)
    assert torch.allclose(single.flatten(1)[:, 3], torch.tensor([-1.0, 0.0, 2.0]))
    assert direction_sweep(model, torch.zeros(4, 12), direction, [0.0, 1.0]).shape == (4, 2, 1, 3, 4)


# -- maps ------------------------------------------------------------------------------------

def _clusters(n=240, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(4.0 * c, 1.0, (n // 4, d)) for c in range(4)])


def _assert_near_fitted(m, z, frac):
    spread = m.embedding_.std(0).mean()
    err = np.linalg.norm(m.transform(z[:20]) - m.embedding_[:20], axis=1)
    assert err.max() < frac * spread


def test_pca_map_exact_and_round_trip(tmp_path):
    z = _clusters()
    m = LatentMap("pca").fit(z)
    assert m.embedding_.shape == (240, 2)
    assert np.allclose(m.transform(z), m.embedding_)
    loaded = LatentMap.load(m.save(tmp_path / "pca"))
    assert np.array_equal(loaded.embedding_, m.embedding_)
    assert np.allclose(loaded.transform(z[:9]), m.transform(z[:9]))
    with pytest.raises(ConfigError):
        LatentMap("isomap").fit(z)


def test_tsne_map_transform_and_round_trip(tmp_path):
    z = _clusters()
    m = LatentMap("tsne", n_iter=250).fit(z)
    _assert_near_fitted(m, z, 0.05)  # openTSNE's own transform
    loaded = LatentMap.load(m.save(tmp_path / "tsne"))
    assert np.array_equal(loaded.embedding_, m.embedding_)
    _assert_near_fitted(loaded, z, 0.05)  # rebuilt openTSNE embedding
    assert type(loaded._backend).__name__ == "TSNEEmbedding"
    loaded.fast_transform = True
    _assert_near_fitted(loaded, z, 1e-6)  # neighbour fallback: a training code maps onto itself


def test_umap_map_fallback_and_round_trip(tmp_path):
    pytest.importorskip("umap")
    z = _clusters(n=160)
    m = LatentMap("umap", n_epochs=50).fit(z)
    _assert_near_fitted(m, z, 1e-6)
    loaded = LatentMap.load(m.save(tmp_path / "umap"))
    assert np.array_equal(loaded.embedding_, m.embedding_)
    new = z[:5] + 0.1
    assert np.allclose(loaded.transform(new), m.transform(new))


def test_cached_map_fits_once_then_loads(tmp_path):
    z = _clusters()
    key = "ckpt1-" + params_key("pca", n_components=2)
    first = cached_map(tmp_path, key, z, "pca")
    second = cached_map(tmp_path, key, z * 0, "pca")  # would give a different map if refitted
    assert np.array_equal(first.embedding_, second.embedding_)
    assert sorted(p.name for p in tmp_path.iterdir()) == [key]
    with pytest.raises(ConfigError):
        cached_map(tmp_path, "../escape", z, "pca")


# -- neighbours ------------------------------------------------------------------------------

def test_neighbours_include_the_point_itself():
    rng = np.random.default_rng(6)
    bank = rng.normal(size=(100, 8))
    dist, idx = latent_neighbours(bank, bank[[3, 40]], k=4)
    assert dist.shape == (2, 4) and list(idx[:, 0]) == [3, 40] and np.all(dist[:, 0] == 0)
    assert np.all(np.diff(dist, axis=1) >= 0)
    images = _blobs(50)
    dist, idx = pixel_neighbours(images, images[7:8], k=3)
    assert idx[0, 0] == 7 and dist[0, 0] < 1e-5
    nn = NearestNeighbours(metric="cosine").fit(bank)
    assert nn.kneighbors(bank[:1] * 3.0, k=500)[1].shape == (1, 100)  # k capped at bank size
    with pytest.raises(ConfigError):
        nn.kneighbors(bank[:1, :4])
