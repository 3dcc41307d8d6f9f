"""Figures for pages: codes -> plotly maps, reconstruction error -> heat maps. No Streamlit, no
models (images themselves are rendered by latentlab.render). Maps are `xy [N, 2]` embeddings."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from latentlab.render import scale_for


def error_map(x: torch.Tensor, x_hat: torch.Tensor, px: int = 256) -> tuple[bytes, float]:
    """|x - x̂| averaged over channels as a heat map (magma, 0 = black) and its max."""
    from matplotlib import colormaps

    err = (x - x_hat).abs().reshape(-1, *x.shape[-2:]).mean(0).numpy()
    top = float(err.max())
    rgb = colormaps["magma"](err / max(top, 1e-6))[..., :3]
    image = Image.fromarray((rgb * 255).astype(np.uint8))
    s = scale_for(err.shape[-1], px)
    buf = io.BytesIO()
    image.resize((image.width * s, image.height * s), Image.NEAREST).save(buf, format="PNG")
    return buf.getvalue(), top


# -- maps ------------------------------------------------------------------------------------------
# Up to this many points a map is drawn as SVG: in headless Chromium on 2 cores, plotly's WebGL
# scatter spent 0.8 s setting up (software GL) before the first 1,000 points showed, SVG 0.2 s.
# Beyond it (training splits of 12,000-20,000 codes) WebGL keeps panning and lasso smooth.
SVG_MAX_POINTS = 5000
# Categories get distinct hues (Streamlit's theme would start with two blues); 10 colours, then repeat.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _points(xy, idx, text, name, gl: bool, **marker) -> go.Scatter | go.Scattergl:
    trace = go.Scattergl if gl else go.Scatter
    return trace(
        x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=name,
        customdata=np.stack([idx, np.asarray(text, dtype=object)[idx]], axis=1),
        hovertemplate="sample #%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        marker={"size": 5, "opacity": 0.75, **marker},
    )


def map_figure(xy: np.ndarray, colour: np.ndarray | None = None, colour_name: str = "",
               text: list[str] | None = None, categorical: bool = False,
               height: int = 520, show_legend: bool = True) -> go.Figure:
    """Scatter of an embedding; the row index rides in `customdata[0]` so selections map back.

    colour: per-point values (categorical: integer codes with `text` naming them).
    """
    n = len(xy)
    gl = n > SVG_MAX_POINTS
    text = text if text is not None else [""] * n
    hover = [f"{colour_name}: {t}" if colour_name else t for t in text]
    fig = go.Figure()
    if colour is None:
        fig.add_trace(_points(xy, np.arange(n), hover, "samples", gl, color="#9b8fc4"))
    elif categorical:
        for k, value in enumerate(np.unique(colour)):
            idx = np.flatnonzero(colour == value)
            fig.add_trace(_points(xy, idx, hover, text[idx[0]], gl, color=PALETTE[k % len(PALETTE)]))
    else:
        fig.add_trace(_points(xy, np.arange(n), hover, colour_name, gl, color=np.asarray(colour, float),
                              colorscale="Viridis", showscale=True,
                              colorbar={"title": {"text": colour_name}, "thickness": 12}))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="pan",
        # Streamlit turns a click into a selection only outside the lasso/box modes: pan by default,
        # so one click selects a point; lasso and box are on the toolbar.
        showlegend=show_legend and categorical, legend={"orientation": "h", "y": 1.06, "x": 0,
                                                        "title": {"text": colour_name}},
        xaxis={"showticklabels": False, "title": None, "zeroline": False},
        yaxis={"showticklabels": False, "title": None, "zeroline": False},
    )
    return fig


def add_path(fig: go.Figure, xy: np.ndarray, name: str = "path") -> go.Figure:
    """Overlay a walk `[T, 2]` (line with numbered frames, start and end marked)."""
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name,
                             line={"color": "#d62728", "width": 3},
                             marker={"size": 7, "color": "#d62728"},
                             hovertemplate="frame %{text}<extra></extra>",
                             text=[str(i) for i in range(len(xy))]))
    for i, label in ((0, "A"), (len(xy) - 1, "B")):
        fig.add_annotation(x=xy[i, 0], y=xy[i, 1], text=f"<b>{label}</b>", showarrow=True,
                           arrowhead=0, ax=14, ay=-18, font={"size": 14, "color": "#d62728"})
    return fig


def add_marks(fig: go.Figure, xy: np.ndarray, names: list[str]) -> go.Figure:
    """Overlay named points `[M, 2]` (e.g. uploads) as large stars."""
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text", name="your images",
                             text=names, textposition="top center",
                             marker={"symbol": "star", "size": 16, "color": "#d62728",
                                     "line": {"width": 1, "color": "white"}},
                             hovertemplate="%{text}<extra></extra>"))
    return fig


# -- anomaly scores --------------------------------------------------------------------------------
def score_histogram(ev, kind: str, marks: list[tuple[str, float, float]]) -> tuple[go.Figure, int]:
    """Score histograms of an `Evaluation` (percent of each group: normal, anomalies), the axis cut
    at the 99.5th percentile of all scores (or the largest mark); marks are (name, score,
    percentile) drawn as dashed lines. Returns the figure and the number of scores beyond the cut."""
    lo, hi = float(ev.scores.min()), float(np.percentile(ev.scores, 99.5))
    hi = max([hi] + [v for _, v, _ in marks])
    size = (hi - lo) / 40 or 1.0
    bins = {"start": lo, "end": float(ev.scores.max()) + size, "size": size}
    fig = go.Figure()
    for name, scores, colour in (("normal", ev.normal_scores, "#1f77b4"), ("anomalies", ev.anomaly_scores, "#d62728")):
        fig.add_trace(go.Histogram(x=scores, name=f"{name} ({len(scores)})", histnorm="percent", opacity=0.6,
                                   marker_color=colour, xbins=bins))
    for name, value, pct in marks:
        fig.add_vline(x=value, line={"dash": "dash", "color": "#222", "width": 2},
                      annotation={"text": f"{name}: {pct:.0f}th percentile", "textangle": -90,
                                  "xanchor": "left", "yanchor": "top"})
    fig.update_layout(barmode="overlay", height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis={"title": f"{kind} score (higher = more anomalous)", "range": [lo - size, hi + size]},
                      yaxis={"title": "% of the group"}, legend={"orientation": "h", "y": 1.1})
    return fig, int((ev.scores > hi + size).sum())


def roc_figure(ev, kind: str) -> go.Figure:
    """An `Evaluation`'s ROC curve beside the chance diagonal."""
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance (AUROC 0.5)",
                                line={"dash": "dot", "color": "#999"}),
                     go.Scatter(x=ev.fpr, y=ev.tpr, mode="lines", name=f"{kind}: AUROC {ev.auroc:.3f}",
                                line={"color": "#d62728", "width": 3})])
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": 1.1},
                      xaxis={"title": "false-positive rate (normal images flagged)", "range": [0, 1]},
                      yaxis={"title": "true-positive rate (anomalies caught)", "range": [0, 1.02]})
    return fig
