"""Interpolate: walk between two samples' codes, decode every step, and judge the path."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from latentlab import render
from latentlab.latent import crossfade, path, path_quality
from latentlab.latent.interpolate import path_verdict
from latentlab.latent.labels import contrasting_index
from latentlab.replay import ViewState
from latentlab.ui import draw, widgets
from latentlab.ui import resources as res
from latentlab.ui.components import live
from latentlab.ui.glossary import TERMS

METHODS = {"linear": "linear", "slerp": "slerp"}


def controls() -> tuple[str, int]:
    c1, c2 = st.columns(2)
    method = c1.radio("Path", list(METHODS), horizontal=True, key="path", bind="query-params",
                      help="linear walks the straight chord; slerp follows the great circle between the codes "
                           "(White 2016), keeping the norm that a Gaussian prior expects.")
    steps = c2.slider("Steps", min_value=3, max_value=24, value=8, key="steps", bind="query-params")
    return METHODS[method], int(steps)


def path_on_map(model, codes) -> go.Figure:
    fitted, xy = res.get_map(model, "pca")
    fig = draw.map_figure(xy, None, height=420)
    fig.data[0].marker.color = "#d9d4ea"
    return draw.add_path(fig, fitted.transform(codes))


def show_quality(model, frames: torch.Tensor, fade: torch.Tensor) -> None:
    """Does the path stay on the data? The dataset's classifier, trained on real images only, judges
    every frame (a single clear digit / face / sprite, not a double exposure); see docs/path_quality.md."""
    smooth = path_quality(frames, frames[:1])  # step sizes only; realism is the classifier's job
    classifier = res.classifier(model.info.dataset["name"])
    if classifier is None:
        st.caption(f"No data classifier ships for the {model.info.dataset['name']} dataset, so there is no "
                   "on-data verdict here; step evenness: " f"CV {smooth['smoothness_cv']:.2f} (0 = even).")
        return
    verdict = path_verdict(frames, fade, classifier)
    st.markdown(verdict["sentence"])
    per_frame = pd.DataFrame({"latent path": verdict["path"]["realness"],
                              "pixel crossfade": verdict["crossfade"]["realness"]})
    c1, c2 = st.columns([3, 2])
    c1.line_chart(per_frame, height=220, x_label="frame", y_label="P(one real image)")
    c2.metric("frames on the data: path / crossfade", f"{verdict['path_on']} / {verdict['crossfade_on']}",
              help=TERMS["on the data"])
    c2.metric("step evenness (CV, 0 = even)", f"{smooth['smoothness_cv']:.2f}",
              help="Coefficient of variation of the pixel change between consecutive frames.")


def scrub(model, za: np.ndarray, zb: np.ndarray, method: str) -> None:
    """Any position along the path, not only the strip's steps; the frame follows the slider
    while it is dragged (decoded in the browser), the server's decode replaces it on release."""
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    t = c1.slider("position along the path", 0.0, 1.0, 0.5, 0.005, key="interp_t",
                  help="0 is A, 1 is B, on the same linear or great-circle path as the strip")
    with c2:
        widgets.show(render.png(res.decode(model, live.point_on_path(za, zb, t, method)[None]), px=128),
                     "frame at this position")
    live.live_image(model, [live.Slider("position along the path", t)], target="frame at this position",
                    path=(za, zb, method), key=f"live_interp_{model.info.hash}")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Interpolate", "Encode two samples, walk between their codes, decode every step. "
                        "A good latent space morphs one into the other through realistic images; a pixel "
                        "crossfade only ghosts them.")
    data = res.dataset(model)
    ca, cb = st.columns(2)
    with ca:
        a = widgets.sample_picker(model, data, "a", 0, title="A")
    with cb:
        b = widgets.sample_picker(model, data, "b", contrasting_index(res.latents(model).labels), title="B")
    method, steps = controls()
    codes = path(np.stack([a.z, b.z]), steps, method).numpy()
    frames = res.decode(model, codes)
    st.subheader(f"{a.label} → {b.label}")
    strip = render.png(frames, px=widgets.TILE)
    widgets.show(strip, f"{method} path in latent space, {steps} frames")
    fade = crossfade(a.x, b.x, steps)
    widgets.show(render.png(fade, px=widgets.TILE), "pixel crossfade, for contrast")
    scrub(model, a.z, b.z, method)
    c1, c2 = st.columns([3, 1])
    with c1:
        st.plotly_chart(path_on_map(model, codes), key="interp_map")
        st.caption("The path's codes placed on the PCA map of the test codes.")
    with c2:
        animation = render.gif(frames, duration_ms=90, pingpong=True, px=160)
        st.image(animation, caption="there and back", width="content", output_format="GIF")
        state = ViewState.of("interpolate", model, f"{a.ref.param} → {b.ref.param}", a.z, codes,
                             {"method": method, "steps": steps, "b": b.ref.param}, widgets.TILE)
        widgets.downloads(state, strip, f"{model.info.name}-{method}", gif=animation)
    st.subheader("Does the path stay on the data?")
    show_quality(model, frames, fade)


main()
