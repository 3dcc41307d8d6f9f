"""Procedural cartoon faces: RGB portraits drawn from eight known attributes.

A stand-in for face datasets with attribute labels (CelebA, Liu et al. 2015, "Deep Learning Face
Attributes in the Wild") that ships with the install: the attributes are the generative factors,
so "mean smiling minus mean neutral" attribute vectors, traversals and disentanglement metrics
have an exact ground truth. Each face is drawn with PIL at 4x the target size and downsampled
with a box filter, which anti-aliases every edge.

Attributes (factor grid, uniform sampling over levels):
  smile            -1 (strong frown) .. 0 (straight mouth) .. +1 (big open smile), 9 levels
  eye_openness     0.1 (almost shut) .. 1 (wide open), 8 levels
  glasses          0 / 1
  hair_color       palette index into HAIR_COLORS (black, brown, blond, red, grey)
  skin_tone        0 (light) .. 1 (dark), 8 levels
  face_width       0 (narrow) .. 1 (wide), 8 levels
  head_turn        -1 (features to the viewer's left) .. +1 (to the right), 9 levels
  background_color palette index into BACKGROUND_COLORS
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from latentlab.datasets.base import Dataset
from latentlab.datasets.shapes import GridFactors
from latentlab.errors import DatasetError

HAIR_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (28, 24, 24),
    "brown": (105, 62, 30),
    "blond": (230, 196, 110),
    "red": (176, 62, 24),
    "grey": (165, 165, 168),
}
BACKGROUND_COLORS: dict[str, tuple[int, int, int]] = {
    "sky": (150, 200, 240),
    "mint": (160, 225, 185),
    "peach": (250, 200, 160),
    "lavender": (195, 175, 235),
    "lemon": (245, 235, 140),
    "rose": (240, 160, 185),
    "slate": (95, 110, 130),
    "teal": (40, 140, 150),
}
# Light -> dark skin ramp; skin_tone in [0, 1] interpolates linearly along these stops.
_SKIN_STOPS = np.array(
    [(255, 224, 200), (236, 188, 150), (205, 145, 100), (160, 102, 66), (112, 72, 48)], dtype=float
)
_SHIRT = (60, 75, 110)
_INK = (22, 16, 18)  # outlines, pupils, glasses rims
_SUPERSAMPLE = 4

FACTOR_NAMES = [
    "smile", "eye_openness", "glasses", "hair_color",
    "skin_tone", "face_width", "head_turn", "background_color",
]
_FACTOR_VALUES = [
    np.linspace(-1.0, 1.0, 9),
    np.linspace(0.1, 1.0, 8),
    np.array([0.0, 1.0]),
    np.arange(len(HAIR_COLORS), dtype=np.float64),
    np.linspace(0.0, 1.0, 8),
    np.linspace(0.0, 1.0, 8),
    np.linspace(-1.0, 1.0, 9),
    np.arange(len(BACKGROUND_COLORS), dtype=np.float64),
]
# The smile thresholds of the derived binary labels (smiling / neutral / frowning).
SMILE_THRESHOLD = 0.33


class FacesFactors(GridFactors):
    """Cartoon-face attribute grid rendered at `size` x `size` RGB (see the module docstring)."""

    def __init__(self, size: int = 64):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
            raise DatasetError(f"faces: size must be an int >= 16, got {size!r}")
        self.size = int(size)
        self.factor_names = list(FACTOR_NAMES)
        self.factor_sizes = [len(v) for v in _FACTOR_VALUES]

    def factor_values(self, k: int) -> np.ndarray:
        """The real value of each index of factor k, float64 `[factor_sizes[k]]`."""
        if not 0 <= k < len(_FACTOR_VALUES):
            raise DatasetError(f"factor index {k} out of range [0, {len(_FACTOR_VALUES) - 1}]")
        return _FACTOR_VALUES[k].copy()

    def values_of(self, factors: np.ndarray) -> np.ndarray:
        """Factor rows `[n, 8]` (indices) -> real attribute values float64 `[n, 8]`."""
        rows = self.check_factors(factors)
        return np.stack([v[rows[:, k]] for k, v in enumerate(_FACTOR_VALUES)], axis=1)

    def render(self, factors: np.ndarray) -> torch.Tensor:
        """Factor rows `[n, 8]` -> float32 `[n, 3, size, size]` in [0, 1]."""
        values = self.values_of(factors)
        pixels = np.empty((len(values), self.size, self.size, 3), dtype=np.uint8)
        for i, row in enumerate(values):
            pixels[i] = np.asarray(draw_face(dict(zip(FACTOR_NAMES, row)), self.size))
        return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous().float().div_(255.0)


def draw_face(attrs: dict[str, float], size: int = 64) -> Image.Image:
    """One face from real attribute values (names as FACTOR_NAMES) -> RGB PIL image."""
    canvas = size * _SUPERSAMPLE
    g = _geometry(attrs)
    image = Image.new("RGB", (canvas, canvas), g["background"])
    pen = _Pen(ImageDraw.Draw(image), canvas)
    _draw_body_and_hair_back(pen, g)
    _draw_head(pen, g)
    _draw_eyes(pen, g, attrs["eye_openness"])
    _draw_nose(pen, g)
    _draw_mouth(pen, g, attrs["smile"])
    if attrs["glasses"] > 0.5:
        _draw_glasses(pen, g)
    # A box filter over each 4x4 block is exact area anti-aliasing for the supersampled drawing.
    return image.reduce(_SUPERSAMPLE)


def _geometry(attrs: dict[str, float]) -> dict:
    """Colours and positions (canvas units, [0, 1] with y down) derived from the attributes."""
    skin = _skin_color(attrs["skin_tone"])
    turn = float(attrs["head_turn"])
    half_width = 0.22 + 0.12 * float(attrs["face_width"])
    return {
        "background": list(BACKGROUND_COLORS.values())[int(attrs["background_color"])],
        "hair": list(HAIR_COLORS.values())[int(attrs["hair_color"])],
        "skin": skin,
        "shade": tuple(int(c * 0.82) for c in skin),
        "turn": turn,
        "head": (0.5, 0.5, half_width, 0.34),  # centre x, centre y, half-width, half-height
        # Features slide with the turn, in proportion to the face so they stay on it; the nose,
        # nearer the viewer, slides further, and the eyes draw together (foreshortening).
        "feature_x": 0.5 + 0.2 * half_width * turn,
        "nose_x": 0.5 + 0.32 * half_width * turn,
        "eye_dx": (0.10 + 0.35 * (half_width - 0.25)) * (1 - 0.12 * abs(turn)),
        "eye_y": 0.47,
    }


def _skin_color(tone: float) -> tuple[int, int, int]:
    """Piecewise-linear position along the light -> dark ramp."""
    pos = float(np.clip(tone, 0.0, 1.0)) * (len(_SKIN_STOPS) - 1)
    i = min(int(pos), len(_SKIN_STOPS) - 2)
    rgb = _SKIN_STOPS[i] + (pos - i) * (_SKIN_STOPS[i + 1] - _SKIN_STOPS[i])
    return tuple(round(c) for c in rgb)


class _Pen:
    """ImageDraw in canvas units: x, y in [0, 1], widths in fractions of the canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, canvas: int):
        self.draw, self.canvas = draw, canvas

    def px(self, value: float) -> float:
        return value * self.canvas

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=0.0):
        box = [self.px(cx - rx), self.px(cy - ry), self.px(cx + rx), self.px(cy + ry)]
        self.draw.ellipse(box, fill=fill, outline=outline, width=max(1, round(self.px(width))))

    def polygon(self, points, fill):
        self.draw.polygon([(self.px(x), self.px(y)) for x, y in points], fill=fill)

    def line(self, points, fill, width):
        pts = [(self.px(x), self.px(y)) for x, y in points]
        self.draw.line(pts, fill=fill, width=max(1, round(self.px(width))), joint="curve")

    def rect(self, x0, y0, x1, y1, fill):
        self.draw.rectangle([self.px(x0), self.px(y0), self.px(x1), self.px(y1)], fill=fill)


def _draw_body_and_hair_back(pen: _Pen, g: dict) -> None:
    """Shoulders, neck, and the hair mass behind the head (shows as hair at the sides)."""
    cx, cy, hw, hh = g["head"]
    pen.ellipse(0.5, 1.12, 0.40, 0.26, fill=_SHIRT)
    pen.rect(0.5 - 0.09, cy + 0.15, 0.5 + 0.09, 0.92, fill=g["shade"])
    pen.ellipse(cx + 0.01 * g["turn"], cy - 0.07, hw + 0.05, hh + 0.02, fill=g["hair"])


def _draw_head(pen: _Pen, g: dict) -> None:
    """Ears, the face oval and the fringe of hair over the forehead."""
    cx, cy, hw, hh = g["head"]
    turn = g["turn"]
    # The ear on the side the face turns away from shows more.
    for side in (-1, 1):
        ear_w = 0.035 * (1 - 0.5 * side * turn)
        pen.ellipse(cx + side * (hw + 0.005), cy + 0.01, ear_w, 0.055, fill=g["shade"])
    pen.ellipse(cx, cy, hw, hh, fill=g["skin"])
    _draw_fringe(pen, g)


def _draw_fringe(pen: _Pen, g: dict) -> None:
    """Hair over the top of the head: the upper cap of the head oval, with a swept hairline."""
    cx, cy, hw, hh = g["head"]
    part = g["feature_x"] - 0.35 * hw  # side parting, moving with the turn
    top = []
    for a in np.linspace(np.pi, 2 * np.pi, 24):
        top.append((cx + (hw + 0.012) * np.cos(a), cy - 0.02 + (hh + 0.02) * np.sin(a)))
    hairline = []
    for x in np.linspace(cx + hw + 0.012, cx - hw - 0.012, 16):
        # Lowest at the temples, highest at the parting: a swept fringe.
        dist = abs(x - part) / (2 * hw)
        hairline.append((x, cy - 0.25 + 0.14 * min(1.0, dist * 1.6) ** 0.7))
    pen.polygon(top + hairline, fill=g["hair"])


def _draw_eyes(pen: _Pen, g: dict, openness: float) -> None:
    """Whites, iris and pupil; the upper lid comes down as openness falls; brows above."""
    rx, ry, y = 0.062, 0.05, g["eye_y"]
    look = 0.018 * g["turn"]
    brow = tuple(int(c * 0.7) for c in g["hair"])
    for side in (-1, 1):
        x = g["feature_x"] + side * g["eye_dx"]
        pen.ellipse(x, y, rx, ry, fill=(250, 250, 250), outline=_INK, width=0.012)
        pen.ellipse(x + look, y + 0.005, 0.033, 0.033, fill=(70, 110, 150))
        pen.ellipse(x + look, y + 0.005, 0.017, 0.017, fill=_INK)
        lid = y - ry + (1.0 - openness) * 2 * ry
        pen.rect(x - rx - 0.006, y - ry - 0.01, x + rx + 0.006, lid, fill=g["skin"])
        half = rx * np.sqrt(max(0.0, 1.0 - ((lid - y) / ry) ** 2))
        pen.line([(x - half - 0.004, lid), (x + half + 0.004, lid)], fill=_INK, width=0.016)
        by = y - ry - 0.04
        pen.line([(x - 0.06, by + 0.012), (x, by - 0.004), (x + 0.06, by + 0.012)], brow, 0.022)


def _draw_nose(pen: _Pen, g: dict) -> None:
    """A shaded nose tip with a ridge line on the side the head turns towards."""
    x = g["nose_x"]
    pen.line([(x - 0.01 * g["turn"], 0.53), (x + 0.012, 0.61)], fill=g["shade"], width=0.014)
    pen.ellipse(x, 0.615, 0.035, 0.022, fill=g["shade"])


def _draw_mouth(pen: _Pen, g: dict, smile: float) -> None:
    """A curve whose bend is the smile: corners up for smile > 0, down for a frown.

    Past a small smile the mouth opens: the lower lip bends further than the upper, so the
    opening grows with the smile.
    """
    x0, y0, half = g["feature_x"], 0.71, 0.11
    t = np.linspace(-1.0, 1.0, 21)
    bend = 0.065 * smile * (1 - t * t) - 0.0325 * smile  # corners rise by the bend's half
    upper = [(x0 + half * ti, y0 + b) for ti, b in zip(t, bend)]
    if smile > 0.1:
        drop = 0.07 * smile * (1 - t * t)
        lower = [(x0 + half * ti, y0 + b + d) for ti, b, d in zip(t, bend, drop)]
        pen.polygon(upper + lower[::-1], fill=(120, 25, 40))
        teeth = [(x, y + 0.3 * (ly - y)) for (x, y), (_, ly) in zip(upper, lower)]
        pen.polygon(upper + teeth[::-1], fill=(250, 250, 245))
        pen.line(lower, fill=_INK, width=0.014)
    pen.line(upper, fill=_INK, width=0.02)


def _draw_glasses(pen: _Pen, g: dict) -> None:
    """Two round rims around the eyes, a bridge, and temples running to the ears."""
    rim, y = 0.088, g["eye_y"]
    cx, _, hw, _ = g["head"]
    xs = [g["feature_x"] - g["eye_dx"], g["feature_x"] + g["eye_dx"]]
    for x in xs:
        pen.ellipse(x, y, rim, rim * 0.85, outline=_INK, width=0.02)
    pen.line([(xs[0] + rim, y - 0.01), (xs[1] - rim, y - 0.01)], fill=_INK, width=0.02)
    pen.line([(xs[0] - rim, y - 0.01), (cx - hw, y - 0.02)], fill=_INK, width=0.018)
    pen.line([(xs[1] + rim, y - 0.01), (cx + hw, y - 0.02)], fill=_INK, width=0.018)


def build_faces(
    n_train: int = 12000, n_test: int = 2000, seed: int = 0, size: int = 64
) -> Dataset:
    """Random faces, uniform over the attribute grid, seeded.

    Returns a Dataset of float32 `[N, 3, size, size]` images in [0, 1]. Labels: each attribute's
    real value (float32, names as FACTOR_NAMES) and derived int64 `smiling` (smile > 0.33),
    `neutral` (|smile| <= 0.33), `frowning` (smile < -0.33). 14,000 faces at 64 x 64 take
    ~690 MB as float32.
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DatasetError(f"build_faces: {name} must be a non-negative int, got {n!r}")
    source = FacesFactors(size)
    rows = source.sample_factors(n_train + n_test, np.random.default_rng(seed))
    images = source.render(rows)
    labels = face_labels(source.values_of(rows))
    return Dataset(
        name="faces",
        x_train=images[:n_train],
        x_test=images[n_train:],
        labels_train={k: v[:n_train] for k, v in labels.items()},
        labels_test={k: v[n_train:] for k, v in labels.items()},
        categories={
            "hair_color": list(HAIR_COLORS),
            "background_color": list(BACKGROUND_COLORS),
            "glasses": ["no", "yes"],
        },
        factors=source,
        description="Procedural cartoon faces with 8 attribute factors (smile, eyes, glasses, ...).",
    )


def face_labels(values: np.ndarray) -> dict[str, np.ndarray]:
    """Real attribute values `[n, 8]` -> labels: each attribute float32 `[n]` + derived int64."""
    labels = {name: values[:, k].astype(np.float32) for k, name in enumerate(FACTOR_NAMES)}
    smile = values[:, 0]
    labels["smiling"] = (smile > SMILE_THRESHOLD).astype(np.int64)
    labels["neutral"] = (np.abs(smile) <= SMILE_THRESHOLD).astype(np.int64)
    labels["frowning"] = (smile < -SMILE_THRESHOLD).astype(np.int64)
    return labels
