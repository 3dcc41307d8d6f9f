"""Interpolate: walk between two samples' codes, decode every step, and judge the path."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from latentlab.latent import crossfade, gif, path_quality
from pages import common, draw

SOURCES = ["Test image", "My images"]
METHODS = {"linear": "linear", "slerp (great circle)": "slerp"}
REFERENCE = 1000  # test images the realism readout compares frames with


def apply_request(model, n: int) -> None:
    request = common.take_request("interpolate")
    for end in ("a", "b"):
        ref = (request or {}).get(end)
        if not ref:
            continue
        if "index" in ref:
            st.session_state[f"interp_source_{end}"] = SOURCES[0]
            st.session_state[index_key(model, end)] = min(int(ref["index"]), n - 1)
        elif ref.get("pool") in common.pool(model):
            st.session_state[f"interp_source_{end}"] = SOURCES[1]
            st.session_state[f"interp_pool_{end}"] = ref["pool"]


def index_key(model, end: str) -> str:
    return f"interp_index_{end}_{model.info.dataset['name']}"


def endpoint(model, data, end: str, default: int) -> tuple[str, torch.Tensor]:
    """(name, image `[1, C, H, W]`) of endpoint A or B."""
    st.markdown(f"**{end.upper()}**")
    mine = common.pool(model)
    source = common.kept(st.radio, "from", f"interp_source_{end}", SOURCES[0], options=SOURCES,
                         horizontal=True, label_visibility="collapsed")
    if source == SOURCES[1] and mine:
        names = list(mine)
        name = common.kept(st.selectbox, "Image", f"interp_pool_{end}", names[-1], options=names)
        return name, mine[name]
    if source == SOURCES[1]:
        st.caption("No images of yours yet (add some on the Upload page); using a test image.")
    n = len(data.x_test)
    i = int(common.kept(st.number_input, f"Test image (0–{n - 1})", index_key(model, end), default,
                        min_value=0, max_value=n - 1, step=1))
    return f"test #{i}", data.x_test[i:i + 1]


def controls() -> tuple[str, int]:
    c1, c2 = st.columns(2)
    method = common.kept(c1.radio, "Path", "interp_method", "linear", options=list(METHODS), horizontal=True,
                         help="slerp follows the great circle between the codes (White 2016), "
                              "keeping the norm that a Gaussian prior expects.")
    steps = common.kept(c2.slider, "Steps", "interp_steps", 8, min_value=3, max_value=24)
    return METHODS[method], int(steps)


def path_on_map(model, codes: np.ndarray) -> go.Figure:
    fitted, xy = common.get_map(model, "pca")
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


def main() -> None:
    model = common.current_model()
    common.page_header("Interpolate", "Encode two samples, walk between their codes, decode every step. "
                       "A good latent space morphs one into the other through realistic images; a pixel "
                       "crossfade only ghosts them.")
    data = common.dataset(model)
    apply_request(model, len(data.x_test))
    ca, cb = st.columns(2)
    with ca:
        name_a, xa = endpoint(model, data, "a", 0)
    with cb:
        name_b, xb = endpoint(model, data, "b", common.contrasting_index(common.latents(model).labels))
    method, steps = controls()
    codes, frames = common.latent_path(model, xa, xb, steps, method)
    st.subheader(f"{name_a} → {name_b}")
    st.image(draw.strip(frames), caption=f"{method} path in latent space, {steps} frames", width="content", output_format="PNG")
    fade = crossfade(xa, xb, steps)
    st.image(draw.strip(fade), caption="pixel crossfade, for contrast", width="content", output_format="PNG")
    c1, c2 = st.columns([3, 1])
    with c1:
        st.plotly_chart(path_on_map(model, codes), key="interp_map")
        st.caption("The path's codes placed on the PCA map of the test codes.")
    with c2:
        animation = gif(frames, duration_ms=90, pingpong=True, scale=max(1, 160 // frames.shape[-1]))
        st.image(animation, caption="there and back", width="content", output_format="GIF")
        st.download_button("GIF", data=animation, file_name=f"{model.info.name}-{method}.gif",
                           mime="image/gif", icon=":material/download:", on_click="ignore")
    st.subheader("Path quality")
    show_quality(frames, fade, data.x_test[:REFERENCE])


main()
