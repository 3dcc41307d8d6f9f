"""Properties of the procedural datasets: shapes (dSprites-like sprites) and cartoon faces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.datasets.faces import (
    FACTOR_NAMES,
    FacesFactors,
    build_faces,
    face_labels,
)
from latentlab.datasets.shapes import ShapesFactors, build_shapes
from latentlab.errors import DatasetError

torch.set_num_threads(1)

GRID = 3 * 6 * 40 * 32 * 32
# shape, scale, orientation, pos_x, pos_y: a large centred sprite.
CENTRED = [0, 5, 0, 16, 16]


@pytest.fixture(scope="module")
def shapes64() -> ShapesFactors:
    return ShapesFactors(64)


@pytest.fixture(scope="module")
def faces() -> FacesFactors:
    return FacesFactors(64)


def _rows(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


def _centroid(image: torch.Tensor) -> tuple[float, float]:
    """(x, y) centre of mass of a [1, H, W] image."""
    mass = image[0]
    ys, xs = torch.meshgrid(
        torch.arange(mass.shape[0], dtype=torch.float32),
        torch.arange(mass.shape[1], dtype=torch.float32),
        indexing="ij",
    )
    total = mass.sum()
    return float((xs * mass).sum() / total), float((ys * mass).sum() / total)


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("size", [32, 64])
def test_sprites_are_binary_float_images_of_the_requested_size(size):
    source = ShapesFactors(size)
    rows = source.sample_factors(200, np.random.default_rng(0))
    x = source.render(rows)
    assert x.dtype == torch.float32 and x.shape == (200, 1, size, size)
    assert torch.all((x == 0) | (x == 1))
    assert torch.all(x.sum(dim=(1, 2, 3)) > 0), "every sprite has pixels"


@pytest.mark.parametrize("size", [32, 64])
def test_sprites_stay_inside_the_canvas_at_extreme_positions(size):
    source = ShapesFactors(size)
    rows = _rows(*[
        [shape, 5, angle, px, py]
        for shape in range(3) for angle in range(0, 40, 3) for px in (0, 31) for py in (0, 31)
    ])
    x = source.render(rows)[:, 0]
    border = torch.cat([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], dim=1)
    assert border.sum() == 0


def test_factor_grid_is_the_dsprites_grid(shapes64):
    assert shapes64.factor_names == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    assert shapes64.factor_sizes == [3, 6, 40, 32, 32]
    assert shapes64.num_combinations == GRID
    angles = shapes64.factor_values(2)
    assert angles[0] == 0 and angles[-1] < 2 * np.pi
    assert np.allclose(np.diff(angles), 2 * np.pi / 40)
    assert np.allclose(shapes64.factor_values(1), np.linspace(0.5, 1, 6))


def test_flat_index_round_trips_over_random_and_edge_indices(shapes64):
    rng = np.random.default_rng(1)
    index = np.concatenate([[0, GRID - 1], rng.integers(0, GRID, 500)])
    rows = shapes64.factors_of(index)
    assert rows.shape == (502, 5)
    assert np.array_equal(shapes64.index_of(rows), index)
    assert np.array_equal(rows[0], [0, 0, 0, 0, 0])
    assert np.array_equal(rows[1], np.array(shapes64.factor_sizes) - 1)
    sampled = shapes64.sample_factors(300, rng)
    assert np.array_equal(shapes64.factors_of(shapes64.index_of(sampled)), sampled)
    assert shapes64.index_of(rows[1]) == GRID - 1


def test_rendering_is_deterministic_and_independent_of_the_batch(shapes64):
    rows = shapes64.sample_factors(50, np.random.default_rng(2))
    batch = shapes64.render(rows)
    assert torch.equal(batch, shapes64.render(rows))
    assert torch.equal(batch[7:8], shapes64.render(rows[7:8]))


def test_each_shape_looks_different_at_the_same_pose(shapes64):
    x = shapes64.render(_rows(*[[k, 5, 3, 16, 16] for k in range(3)]))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert (x[a] != x[b]).sum() > 20


@pytest.mark.parametrize("size", [32, 64])
def test_pos_x_moves_the_centroid_right_and_pos_y_moves_it_down(size):
    source = ShapesFactors(size)
    for shape in range(3):
        x = source.render(_rows([shape, 3, 7, 4, 10], [shape, 3, 7, 28, 10], [shape, 3, 7, 4, 26]))
        (x0, y0), (x1, y1), (x2, y2) = (_centroid(img) for img in x)
        # Sub-pixel sampling of the outline wobbles the other coordinate by a fraction of a pixel.
        assert x1 > x0 + size / 3 and abs(y1 - y0) < 0.5
        assert y2 > y0 + size / 4 and abs(x2 - x0) < 0.5


def test_rotation_changes_non_symmetric_sprites(shapes64):
    # A quarter turn (10 steps) changes the ellipse and the heart; the square is symmetric to it.
    for shape in (1, 2):
        x = shapes64.render(_rows([shape, 5, 0, 16, 16], [shape, 5, 10, 16, 16]))
        assert (x[0] != x[1]).sum() > 30
    heart = shapes64.render(_rows([2, 5, 0, 16, 16], [2, 5, 20, 16, 16]))
    assert (heart[0] != heart[1]).sum() > 30, "a half turn flips the heart"
    square = shapes64.render(_rows([0, 5, 0, 16, 16], [0, 5, 5, 16, 16]))
    assert (square[0] != square[1]).sum() > 30, "an eighth turn changes the square"


def test_area_grows_with_scale(shapes64):
    for shape in range(3):
        x = shapes64.render(_rows(*[[shape, s, 4, 16, 16] for s in range(6)]))
        area = x.sum(dim=(1, 2, 3))
        assert torch.all(area[1:] > area[:-1])
        assert 3.0 < float(area[-1] / area[0]) < 5.0, "area goes as scale squared"


def test_build_shapes_labels_rerender_the_images():
    data = build_shapes(size=32, n_train=40, n_test=10, seed=3)
    assert data.name == "shapes" and data.shape == (1, 32, 32)
    assert data.x_train.shape == (40, 1, 32, 32) and data.x_test.shape == (10, 1, 32, 32)
    assert data.categories["shape"] == ["square", "ellipse", "heart"]
    labels = data.labels_test
    rows = np.stack([labels[n] for n in data.factors.factor_names], axis=1)
    assert torch.equal(data.factors.render(rows), data.x_test)
    assert np.allclose(labels["scale_value"], data.factors.factor_values(1)[labels["scale"]])
    assert np.array_equal(labels["index"], data.factors.index_of(rows))
    again = build_shapes(size=32, n_train=40, n_test=10, seed=3)
    assert torch.equal(again.x_train, data.x_train)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 4), dtype=int),  # wrong number of factors
        np.zeros(5, dtype=int),  # not a batch of rows
        np.array([[3, 0, 0, 0, 0]]),  # shape index out of range
        np.array([[0, 0, 0, -1, 0]]),  # negative index
        np.array([[0, 0.5, 0, 0, 0]]),  # not an integer
        np.array([["a", "b", "c", "d", "e"]]),  # not numbers
    ],
)
def test_shapes_bad_factor_rows_raise(shapes64, bad):
    with pytest.raises(DatasetError):
        shapes64.render(bad)


def test_shapes_bad_arguments_raise(shapes64):
    with pytest.raises(DatasetError, match="out of range"):
        shapes64.factors_of(np.array([GRID]))
    with pytest.raises(DatasetError):
        shapes64.factors_of(np.array([0.5]))
    with pytest.raises(DatasetError):
        shapes64.factor_values(5)
    with pytest.raises(DatasetError):
        ShapesFactors(0)
    with pytest.raises(DatasetError):
        build_shapes(n_train=-1)


# ---------------------------------------------------------------- faces

# A mid-level face: mild smile index 4 (= 0), eyes open, no glasses, brown hair, medium skin.
BASE_FACE = [4, 6, 0, 1, 2, 4, 4, 0]


def _region(x: torch.Tensor, rows: tuple[float, float], cols: tuple[float, float]):
    """Crop of [.., 3, H, W] images by fractions of the height and width."""
    h, w = x.shape[-2:]
    return x[..., int(rows[0] * h) : int(rows[1] * h), int(cols[0] * w) : int(cols[1] * w)]


REGIONS = {
    "top": ((0.0, 0.2), (0.3, 0.7)),  # hair on top of the head
    "eyes": ((0.38, 0.56), (0.25, 0.75)),
    "mouth": ((0.62, 0.84), (0.3, 0.7)),
    "cheek": ((0.55, 0.64), (0.3, 0.36)),
    "corner": ((0.0, 0.1), (0.0, 0.1)),
}


def _change(faces: FacesFactors, factor: str, level: int) -> dict[str, float]:
    """Mean |pixel change| per region when only `factor` moves from BASE_FACE to `level`."""
    row = list(BASE_FACE)
    row[FACTOR_NAMES.index(factor)] = level
    a, b = faces.render(_rows(BASE_FACE, row))
    diff = (a - b).abs()
    out = {name: float(_region(diff, *box).mean()) for name, box in REGIONS.items()}
    out["all"] = float(diff.mean())
    out["changed"] = int((diff.amax(dim=0) > 0.1).sum())
    return out


def test_faces_are_rgb_images_in_unit_range(faces):
    x = faces.render(faces.sample_factors(20, np.random.default_rng(4)))
    assert x.dtype == torch.float32 and x.shape == (20, 3, 64, 64)
    assert x.min() >= 0 and x.max() <= 1
    assert x.std() > 0.1, "faces are not blank"


def test_faces_are_deterministic(faces):
    rows = faces.sample_factors(8, np.random.default_rng(5))
    assert torch.equal(faces.render(rows), faces.render(rows))
    a = build_faces(n_train=6, n_test=2, seed=9)
    b = build_faces(n_train=6, n_test=2, seed=9)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, b.x_test)


@pytest.mark.parametrize("factor", FACTOR_NAMES)
def test_every_attribute_changes_the_pixels(faces, factor):
    k = FACTOR_NAMES.index(factor)
    for level in range(faces.factor_sizes[k]):
        if level != BASE_FACE[k]:
            assert _change(faces, factor, level)["changed"] >= 10, (factor, level)


@pytest.mark.parametrize(
    "factor, level, where, not_where",
    [
        ("smile", 8, "mouth", "top"),
        ("smile", 0, "mouth", "top"),
        ("glasses", 1, "eyes", "mouth"),
        ("eye_openness", 0, "eyes", "mouth"),
        ("background_color", 3, "corner", "cheek"),
        ("skin_tone", 7, "cheek", "corner"),
        ("hair_color", 2, "top", "mouth"),
    ],
)
def test_attributes_change_their_own_region(faces, factor, level, where, not_where):
    change = _change(faces, factor, level)
    assert change[where] > 0.02, change
    assert change[where] > 5 * change[not_where] + 1e-3, change


def test_smile_bends_the_mouth_the_right_way(faces):
    # Smile: the mouth's middle sits below its corners (dark pixels lower in the middle).
    def mouth_darkness_centroid_y(smile_level, cols):
        row = list(BASE_FACE)
        row[0] = smile_level
        x = faces.render(_rows(row))[0]
        dark = (1 - x.mean(0)) * (x.mean(0) < 0.3)
        crop = _region(dark, (0.6, 0.85), cols)
        ys = torch.arange(crop.shape[0], dtype=torch.float32)[:, None]
        return float((crop * ys).sum() / crop.sum())

    middle, side = (0.47, 0.53), (0.36, 0.42)
    smile_gap = mouth_darkness_centroid_y(8, middle) - mouth_darkness_centroid_y(8, side)
    frown_gap = mouth_darkness_centroid_y(0, middle) - mouth_darkness_centroid_y(0, side)
    assert smile_gap > 1.0 and frown_gap < -1.0


def test_build_faces_labels_and_derived_smile_labels():
    data = build_faces(n_train=30, n_test=10, seed=1)
    assert data.name == "faces" and data.shape == (3, 64, 64)
    assert data.categories["hair_color"][:3] == ["black", "brown", "blond"]
    labels = data.labels_train
    for name in FACTOR_NAMES:
        assert labels[name].dtype == np.float32 and labels[name].shape == (30,)
    smile = labels["smile"]
    assert np.array_equal(labels["smiling"], smile > 0.33)
    assert np.array_equal(labels["frowning"], smile < -0.33)
    assert np.all(labels["smiling"] + labels["neutral"] + labels["frowning"] == 1)
    rows = np.stack([np.searchsorted(data.factors.factor_values(k), labels[n] - 1e-6)
                     for k, n in enumerate(FACTOR_NAMES)], axis=1)
    assert torch.equal(data.factors.render(rows), data.x_train)


def test_derived_labels_at_the_thresholds():
    values = np.zeros((4, 8))
    values[:, 0] = [-1.0, -0.33, 0.33, 0.5]
    labels = face_labels(values)
    assert labels["frowning"].tolist() == [1, 0, 0, 0]
    assert labels["neutral"].tolist() == [0, 1, 1, 0]
    assert labels["smiling"].tolist() == [0, 0, 0, 1]


def test_faces_bad_inputs_raise(faces):
    with pytest.raises(DatasetError):
        faces.render(np.zeros((1, 7), dtype=int))
    with pytest.raises(DatasetError, match="glasses"):
        faces.render(_rows([0, 0, 2, 0, 0, 0, 0, 0]))
    with pytest.raises(DatasetError):
        faces.render(_rows([-1, 0, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(DatasetError):
        FacesFactors(size=4)
    with pytest.raises(DatasetError):
        build_faces(n_train=2.5)
