"""Procedural dSprites-like sprites: white shapes on black, drawn from five known factors.

The factor grid is the one of dSprites (Matthey et al. 2017, "dSprites: Disentanglement testing
Sprites dataset"; used by Higgins et al. 2017, "beta-VAE"): 3 shapes x 6 scales x 40 orientations
x 32 x 32 positions = 737,280 combinations. Nothing is stored: every sprite is rendered on demand
by evaluating an implicit shape function at the pixel centres after undoing the sprite's
translation, rotation and scale, so any combination can be drawn, at any canvas size.

`GridFactors` (mixed-radix addressing and validation of a discrete factor grid) also serves
`faces.FacesFactors`.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.datasets.base import Dataset
from latentlab.errors import DatasetError

SHAPE_NAMES = ["square", "ellipse", "heart"]

# Half-side of the square at scale 1, in canvas units (the canvas spans [-1, 1]): a scale-1 square
# is 26% of the canvas wide, about the size of the largest dSprites square.
_BASE_RADIUS = 0.26
# Largest distance from a sprite's centre to its outline, in units of _BASE_RADIUS: the rotated
# square's corner (sqrt 2) is the farthest of the three shapes.
_CIRCUMRADIUS = float(np.sqrt(2.0))
# The centre of the heart's area in its implicit curve's own coordinates (y up); rotating about
# it keeps the heart in place while it turns.
_HEART_CENTROID_Y = 0.2935
# Rows rendered at once: bounds the [chunk, H, W] float temporaries to ~16 MB at 64 x 64.
_CHUNK = 1024


class GridFactors:
    """Names, sizes and mixed-radix addressing of a discrete factor grid.

    A factor row is integer indices `[K]` with `0 <= f[k] < factor_sizes[k]`; the flat index of a
    row is its position in C order over the grid (the last factor varies fastest).
    """

    factor_names: list[str]
    factor_sizes: list[int]

    @property
    def num_combinations(self) -> int:
        """Number of distinct factor rows, prod(factor_sizes)."""
        return int(np.prod(self.factor_sizes, dtype=np.int64))

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform random factor rows, int64 `[n, K]`."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DatasetError(f"sample_factors: n must be a non-negative int, got {n!r}")
        return rng.integers(0, self.factor_sizes, size=(int(n), len(self.factor_sizes)))

    def check_factors(self, factors: np.ndarray) -> np.ndarray:
        """Validate factor rows `[n, K]` -> int64 `[n, K]`; raise DatasetError naming the fault."""
        arr = np.asarray(factors)
        k = len(self.factor_sizes)
        if arr.ndim != 2 or arr.shape[1] != k:
            raise DatasetError(
                f"factor rows must have shape [n, {k}] ({', '.join(self.factor_names)}), "
                f"got {list(arr.shape)}"
            )
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise DatasetError(f"factor rows must be integer indices, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating) and not np.all(arr == np.round(arr)):
            raise DatasetError("factor rows must be integer indices, got non-integral values")
        rows = arr.astype(np.int64)
        sizes = np.asarray(self.factor_sizes)
        bad = (rows < 0) | (rows >= sizes)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DatasetError(
                f"factor {self.factor_names[j]!r} index {rows[i, j]} out of range "
                f"[0, {sizes[j] - 1}] in row {i}"
            )
        return rows

    def index_of(self, factors: np.ndarray) -> np.ndarray | int:
        """Flat grid index of factor rows: `[n, K]` -> int64 `[n]`, or one row `[K]` -> int."""
        arr = np.asarray(factors)
        if arr.ndim == 1:
            return int(self.index_of(arr[None])[0])
        rows = self.check_factors(arr)
        return np.ravel_multi_index(tuple(rows.T), self.factor_sizes).astype(np.int64)

    def factors_of(self, index: np.ndarray | int) -> np.ndarray:
        """Factor rows of flat indices: `[n]` -> int64 `[n, K]`, or one int -> `[K]`."""
        arr = np.asarray(index)
        if arr.ndim == 0:
            return self.factors_of(arr[None])[0]
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise DatasetError(
                f"flat indices must be a 1-D integer array, got {arr.dtype} {list(arr.shape)}"
            )
        total = self.num_combinations
        if arr.size and (arr.min() < 0 or arr.max() >= total):
            raise DatasetError(f"flat index out of range [0, {total - 1}]")
        return np.stack(np.unravel_index(arr, self.factor_sizes), axis=1).astype(np.int64)


class ShapesFactors(GridFactors):
    """dSprites factor grid rendered at `size` x `size`.

    Factors: shape (square, ellipse, heart), scale (0.5..1, 6), orientation (40 angles over one
    turn, radians, clockwise on screen), pos_x (32, 0 = left), pos_y (32, 0 = top). Positions are
    inset so that every sprite stays whole inside the canvas at every scale and angle.
    """

    def __init__(self, size: int = 64):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
            raise DatasetError(f"shapes: size must be an int >= 8, got {size!r}")
        self.size = int(size)
        self.factor_names = ["shape", "scale", "orientation", "pos_x", "pos_y"]
        self.factor_sizes = [3, 6, 40, 32, 32]
        self._values = [
            np.arange(3, dtype=np.float64),
            np.linspace(0.5, 1.0, 6),
            np.arange(40) * (2 * np.pi / 40),
            np.linspace(0.0, 1.0, 32),
            np.linspace(0.0, 1.0, 32),
        ]
        # Pixel centres in canvas units [-1, 1]; the inset keeps a scale-1 sprite plus a pixel of
        # air off the border at the extreme positions.
        self._coords = (np.arange(self.size) + 0.5) * (2.0 / self.size) - 1.0
        self._span = 1.0 - _BASE_RADIUS * _CIRCUMRADIUS - 1.0 / self.size

    def factor_values(self, k: int) -> np.ndarray:
        """The real value of each index of factor k, float64 `[factor_sizes[k]]`."""
        if not 0 <= k < len(self._values):
            raise DatasetError(f"factor index {k} out of range [0, {len(self._values) - 1}]")
        return self._values[k].copy()

    def render(self, factors: np.ndarray) -> torch.Tensor:
        """Factor rows `[n, 5]` -> binary float32 `[n, 1, size, size]` (1 = sprite)."""
        rows = self.check_factors(factors)
        out = np.zeros((len(rows), 1, self.size, self.size), dtype=np.float32)
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            out[start : start + len(chunk), 0] = self._render_chunk(chunk)
        return torch.from_numpy(out)

    def _render_chunk(self, rows: np.ndarray) -> np.ndarray:
        """Factor rows `[m, 5]` -> bool `[m, size, size]`."""
        p, q = self._local_coords(rows)
        mask = np.zeros(p.shape, dtype=bool)
        for k, inside in enumerate((_square, _ellipse, _heart)):
            sel = rows[:, 0] == k
            if sel.any():
                mask[sel] = inside(p[sel], q[sel])
        return mask

    def _local_coords(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel centres in each sprite's own frame, `[m, size, size]` twice.

        Undoing translation, then rotation, then scale maps every pixel into the frame where the
        shape's implicit function is defined with unit size, so one test per shape suffices.
        """
        scale = self._values[1][rows[:, 1]][:, None, None]
        angle = self._values[2][rows[:, 2]][:, None, None]
        cx = (2 * self._values[3][rows[:, 3]] - 1) * self._span
        cy = (2 * self._values[4][rows[:, 4]] - 1) * self._span
        dx = self._coords[None, None, :] - cx[:, None, None]  # [m, 1, W]
        dy = self._coords[None, :, None] - cy[:, None, None]  # [m, H, 1]
        cos, sin = np.cos(angle), np.sin(angle)
        radius = _BASE_RADIUS * scale
        p = (cos * dx + sin * dy) / radius
        q = (cos * dy - sin * dx) / radius
        return p, q


def _square(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Unit-half-side square."""
    return np.maximum(np.abs(p), np.abs(q)) <= 1.0


def _ellipse(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """A 2:1 ellipse, long along the sprite's x axis (like dSprites' oval)."""
    return (p / 1.2) ** 2 + (q / 0.6) ** 2 <= 1.0


def _heart(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Taubin's heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, y up, centred on its area centroid.

    Its area (~3.7) is close to the square's (4), and its farthest point (~1.3) stays inside the
    square's circumradius, so the position inset covers it.
    """
    x = p
    y = _HEART_CENTROID_Y - q  # screen q grows downward; the curve's y grows upward
    r = x * x + y * y - 1.0
    return r * r * r - x * x * y * y * y <= 0.0


class FactorStream:
    """Fresh training batches: uniform rows of a factor grid, rendered on demand.

    Rows of the held-out test split (`exclude`, flat grid indices) are redrawn, so the test split
    stays unseen. Rows come from the training loop's torch.Generator, so a run is deterministic
    from its seed and resumes where it stopped. `epoch_images` sets how many images make an epoch.
    """

    def __init__(self, source: GridFactors, exclude: np.ndarray, epoch_images: int):
        self.source = source
        self.epoch_images = int(epoch_images)
        self._exclude = np.unique(np.asarray(exclude, dtype=np.int64))
        if len(self._exclude) >= source.num_combinations:
            raise DatasetError("stream: the test split covers the whole grid; nothing to train on")

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """`n` fresh images `[n, C, H, W]` and their flat grid indices `[n]` (int64)."""
        index = self._draw(n, generator)
        held_out = self._held_out(index)
        while held_out.any():
            index[held_out] = self._draw(int(held_out.sum()), generator)
            held_out = self._held_out(index)
        return self.source.render(self.source.factors_of(index)), torch.from_numpy(index)

    def _draw(self, n: int, generator: torch.Generator) -> np.ndarray:
        return torch.randint(self.source.num_combinations, (n,), generator=generator).numpy()

    def _held_out(self, index: np.ndarray) -> np.ndarray:
        return np.isin(index, self._exclude, assume_unique=False)


def build_shapes(
    size: int = 64, n_train: int = 20000, n_test: int = 4000, seed: int = 0,
    stream: bool = False, epoch_images: int | None = None,
) -> Dataset:
    """Random sprites from the full factor grid, seeded.

    Returns a Dataset of binary float32 `[N, 1, size, size]` images. Labels: each factor's index
    (`shape`, `scale`, `orientation`, `pos_x`, `pos_y`, int64), its real value (`scale_value`,
    `orientation_value`, `pos_x_value`, `pos_y_value`, float32), and the flat grid `index`.
    Note the memory: 24,000 sprites at 64 x 64 take ~390 MB as float32.

    stream=True: training draws fresh rows of the whole 737,280-row grid every batch
    (`Dataset.stream`, a `FactorStream` of `epoch_images` per epoch, default n_train); the
    fixed splits are the same as without streaming, and test rows are never trained on.
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DatasetError(f"build_shapes: {name} must be a non-negative int, got {n!r}")
    if not isinstance(stream, bool):
        raise DatasetError(f"build_shapes: stream must be true or false, got {stream!r}")
    epoch_images = n_train if epoch_images is None else epoch_images
    if isinstance(epoch_images, bool) or not isinstance(epoch_images, (int, np.integer)) \
            or epoch_images < 1:
        raise DatasetError(f"build_shapes: epoch_images must be an int >= 1, got {epoch_images!r}")
    source = ShapesFactors(size)
    rows = source.sample_factors(n_train + n_test, np.random.default_rng(seed))
    images = source.render(rows)
    labels = _labels(source, rows)
    return Dataset(
        name="shapes",
        x_train=images[:n_train],
        x_test=images[n_train:],
        labels_train={k: v[:n_train] for k, v in labels.items()},
        labels_test={k: v[n_train:] for k, v in labels.items()},
        categories={"shape": list(SHAPE_NAMES)},
        factors=source,
        description=(
            "dSprites-like procedural sprites: square/ellipse/heart x 6 scales x 40 orientations "
            "x 32 x 32 positions, binary images."
        ),
        stream=FactorStream(source, labels["index"][n_train:], epoch_images) if stream else None,
    )


def _labels(source: ShapesFactors, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row labels from factor rows `[n, 5]`: indices, real values and the flat index."""
    labels: dict[str, np.ndarray] = {}
    for k, name in enumerate(source.factor_names):
        labels[name] = rows[:, k].astype(np.int64)
        if name != "shape":
            labels[f"{name}_value"] = source.factor_values(k)[rows[:, k]].astype(np.float32)
    labels["index"] = np.asarray(source.index_of(rows), dtype=np.int64)
    return labels
