"""A 2-D map of many points in WebGL with click, lasso and box selection (a Streamlit v2 component
on regl-scatterplot, Lekschas 2023).

Points travel as one Arrow table (x, y, colour value, row index), never as per-trace lists, so
a selection always returns the dataset's row indices whatever the colouring (plotly numbers
points per trace, which mislabels indices when a discrete colouring splits the points into
traces). Selection modes: lasso (default), box, pan; a click selects the nearest point in any
mode, a double click on empty space clears.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from latentlab.ui.components import assets

# Plotly's default qualitative colours (as the SVG maps), then Set3's for more categories.
PALETTE = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880",
           "#FF97FF", "#FECB52", "#8dd3c7", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f"]
MAX_CATEGORIES = len(PALETTE)

_COMPONENT = st.components.v2.component(
    "latentlab.scatter_map", js=(assets.JS / "scatter.js").read_text(), css=(assets.JS / "scatter.css").read_text())


def viridis(n: int = 64) -> list[str]:
    """`n` hex colours of matplotlib's viridis, for continuous values."""
    from matplotlib import colormaps

    rgb = (colormaps["viridis"](np.linspace(0, 1, n))[:, :3] * 255).round().astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def normalise(xy: np.ndarray) -> np.ndarray:
    """`[N, 2]` -> float32 in [-0.95, 0.95], same scale on both axes (distances keep their meaning)."""
    xy = np.asarray(xy, dtype=np.float64)
    centre = (xy.max(0) + xy.min(0)) / 2
    half = max(float((xy.max(0) - xy.min(0)).max()) / 2, 1e-12)
    return ((xy - centre) / half * 0.95).astype(np.float32)


def points_table(xy: np.ndarray, values, categorical: bool, names: Sequence[str] | None = None
                 ) -> tuple[pd.DataFrame, list[str]]:
    """(table x, y, v, value, row; category names), one line per point in drawing order; `row`
    is the point's index in `xy`, v the colour channel: a category code (int) or the value
    scaled to [0, 1]; `value` the raw number shown on hover."""
    n = len(xy)
    pos = normalise(xy)
    # Drawn in a seeded random order: datasets are often sorted by class, and drawing in row
    # order would paint the last classes over the first. The row index rides with each point.
    order = np.random.default_rng(n).permutation(n).astype(np.int32)
    table = pd.DataFrame({"x": pos[order, 0], "y": pos[order, 1], "row": order})
    values = None if values is None else np.asarray(values)[order]
    if values is None:
        table["v"] = np.zeros(n, dtype=np.int32)
        return table, []
    if categorical:
        cats, codes = np.unique(np.asarray(values), return_inverse=True)
        if len(cats) > MAX_CATEGORIES:  # too many for distinct colours: a continuous scale
            table["v"] = (codes / max(len(cats) - 1, 1)).astype(np.float32)
            table["value"] = codes.astype(np.float32)
            return table, []
        table["v"] = codes.astype(np.int32)
        labels = [str(c) for c in cats] if names is None else [str(x) for x in names]
        return table, labels
    v = np.asarray(values, dtype=np.float64)
    lo, hi = np.nanmin(v), np.nanmax(v)
    table["v"] = np.nan_to_num((v - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
    table["value"] = v.astype(np.float32)
    return table, []


def scatter_map(xy: np.ndarray, values, colour: str, text: Sequence[str] | None = None, *,
                categorical: bool = True, key: str, height: int = 520,
                category_names: Sequence[str] | None = None) -> list[int] | None:
    """Draw `xy` `[N, 2]` coloured by `values` (`[N]`, categories or numbers; None = one colour).

    Returns the selected row indices (into xy), [] when nothing is selected, or None when the
    component's browser files are not installed (the caller then draws its fallback map).
    `text` is unused for large maps (hover shows the row and its value); kept for the plotly
    signature."""
    if assets.missing("scatter"):
        return None
    table, cats = points_table(xy, values, categorical, category_names)
    if cats and category_names is None:
        cats = _category_labels(values, text, len(cats))
    palette = PALETTE[:max(1, len(cats))] if values is None or cats else viridis()
    data = {"points": table, "categories": cats, "palette": palette, "colour": colour,
            "continuous": bool(values is not None and not cats), "assets": assets.PREFIX, "height": height,
            "n": len(table), "name": key,
            "range": [float(np.nanmin(values)), float(np.nanmax(values))] if values is not None and not cats else None}
    result = _COMPONENT(key=key, data=data, default={"selection": []}, on_selection_change=lambda: None)
    rows = result.get("selection") if isinstance(result, dict) else getattr(result, "selection", None)
    rows = rows or []
    return [int(r) for r in rows if 0 <= int(r) < len(table)]


def _category_labels(values, text: Sequence[str] | None, k: int) -> list[str]:
    """A readable name per category: the hover text of its first point when given."""
    cats, first = np.unique(np.asarray(values), return_index=True)
    if text is None:
        return [str(c) for c in cats]
    return [str(text[i]) for i in first][:k]
