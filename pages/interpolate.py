"""Interpolate: walk between two samples' codes, decode every step, and judge the path."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from latentlab import render
from latentlab.latent import crossfade, path, path_quality
from latentlab.latent.labels import contrasting_index
from latentlab.replay import ViewState
from latentlab.ui import draw, widgets
from latentlab.ui import resources as res
from latentlab.ui.components import live

METHODS = {"linear": "linear", "slerp": "slerp"}
REFERENCE = 1000  # test images the realism readout compares frames with


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


def quality_table(latent: dict, fade: dict) -> pd.DataFrame:
    rows = {"realism: mean MSE to nearest real image": "realism_mean",
            "realism: worst frame": "realism_max",
            "smoothness: step-size CV (0 = even)": "smoothness_cv",
            "largest step / mean step": "smoothness_max_ratio"}
    return pd.DataFrame({"readout": list(rows),
                         "latent path": [latent[k] for k in rows.values()],
                         "pixel crossfade": [fade[k] for k in rows.values()]})


def show_quality(frames: torch.Tensor, fade: torch.Tensor, reference: torch.Tensor) -> None:
    latent_q, fade_q = path_quality(frames, reference), path_quality(fade, reference)
    c1, c2 = st.columns([3, 2])
    c1.dataframe(quality_table(latent_q, fade_q), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.4f")
                                for k in ("latent path", "pixel crossfade")})
    per_frame = pd.DataFrame({"latent path": latent_q["realism_per_frame"],
                              "pixel crossfade": fade_q["realism_per_frame"]})
    c2.line_chart(per_frame, height=220, x_label="frame", y_label="MSE to nearest")
    better = latent_q["realism_mean"] < fade_q["realism_mean"]
    st.caption(f"Each frame's distance to its nearest of {len(reference)} real test images: lower "
               "means the frame looks like data. " + ("The latent path stays closer to real images "
                                                     "than the crossfade." if better else
                                                     "Here the crossfade is closer to real images."))


@st.fragment
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
    st.subheader("Path quality")
    show_quality(frames, fade, data.x_test[:REFERENCE])


main()
