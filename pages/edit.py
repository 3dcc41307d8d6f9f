"""Edit: move one sample's code with a slider per latent dimension and per attribute direction."""

import numpy as np
import streamlit as st
import torch

from pages import common, draw

TOP_DIMS = 12
TOP_ATTRIBUTES = 8
SOURCES = ["Test image", "My images"]


def apply_request(model, n: int) -> None:
    """A sample sent from Explore / Upload / Compare becomes this page's sample."""
    request = common.take_request("edit")
    if not request:
        return
    if "index" in request:
        st.session_state["edit_source"] = SOURCES[0]
        st.session_state[index_key(model)] = min(int(request["index"]), n - 1)
    elif request.get("pool") in common.pool(model):
        st.session_state["edit_source"] = SOURCES[1]
        st.session_state["edit_pool"] = request["pool"]


def index_key(model) -> str:
    return f"edit_index_{model.info.dataset['name']}"


def random_index(key: str, n: int) -> None:
    st.session_state[key] = int(np.random.default_rng().integers(n))


def pick_sample(model, data) -> tuple[str, torch.Tensor]:
    """(a name for the sample, its image `[1, C, H, W]`)."""
    n = len(data.x_test)
    apply_request(model, n)
    source = common.kept(st.radio, "Sample", "edit_source", SOURCES[0], options=SOURCES, horizontal=True)
    if source == SOURCES[0]:
        key = index_key(model)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        i = int(common.kept(c1.number_input, f"Test image (0–{n - 1})", key, 0,
                            min_value=0, max_value=n - 1, step=1))
        c2.button("Random", icon=":material/casino:", on_click=random_index, args=(key, n), key="edit_random", width="stretch")
        return f"test #{i}", data.x_test[i:i + 1]
    mine = common.pool(model)
    upload = st.file_uploader("Add an image", type=common.UPLOAD_TYPES, key="edit_upload")
    if upload is not None:
        common.add_upload(model, upload)
    if not mine:
        st.info("No images of yours yet: upload one here or on the Upload page.")
        st.stop()
    names = list(mine)
    name = common.kept(st.selectbox, "Image", "edit_pool", names[-1], options=names)
    return name, mine[name]


def dim_sliders(z0: np.ndarray, order, score, score_name: str, ranges, prefix: str) -> np.ndarray:
    """One slider per latent dimension, most important first; the rest in an expander."""
    z = z0.copy()

    def slider(col, d: int) -> None:
        lo, hi = min(ranges[d, 0], z0[d]), max(ranges[d, 1], z0[d])
        z[d] = col.slider(f"z{d}", float(lo), float(hi), float(z0[d]), step=float(hi - lo) / 200,
                          format="%.2f", key=f"{prefix}_z{d}", help=f"{score_name} {score[d]:.3g}")

    cols = st.columns(2)
    for k, d in enumerate(order[:TOP_DIMS]):
        slider(cols[k % 2], int(d))
    if len(order) > TOP_DIMS:
        with st.expander(f"{len(order) - TOP_DIMS} less important dimensions"):
            cols = st.columns(2)
            for k, d in enumerate(order[TOP_DIMS:]):
                slider(cols[k % 2], int(d))
    return z


def attribute_sliders(z: np.ndarray, dirs, prefix: str) -> np.ndarray:
    """One slider per attribute direction, in standard deviations of the codes along it."""
    if dirs is None:
        st.caption("This dataset has no labels to fit attribute directions on.")
        return z
    names = list(dirs.directions_)
    strengths = {}

    def slider(col, name: str) -> None:
        strengths[name] = col.slider(name, -3.0, 3.0, 0.0, 0.1, key=f"{prefix}_a_{name}",
                                     help=f"probe accuracy {dirs.accuracy_[name]:.0%}")

    cols = st.columns(2)
    for k, name in enumerate(names[:TOP_ATTRIBUTES]):
        slider(cols[k % 2], name)
    if len(names) > TOP_ATTRIBUTES:
        with st.expander(f"{len(names) - TOP_ATTRIBUTES} more attributes"):
            cols = st.columns(2)
            for k, name in enumerate(names[TOP_ATTRIBUTES:]):
                slider(cols[k % 2], name)
    for name, s in strengths.items():
        if s:
            z = dirs.apply(z, name, s)
    return z


def tag_slider(z: np.ndarray, tagged, prefix: str) -> np.ndarray:
    """The direction from the user's hand-tagged groups on the map (B -> A), if both exist."""
    if tagged is None:
        st.caption("Tag two groups of points on Explore (A and B) to get a slider between them.")
        return z
    vector, scale = tagged
    s = st.slider("your tags: B → A", -3.0, 3.0, 0.0, 0.1, key=f"{prefix}_tags",
                  help="mean code of group A minus mean code of group B, in stds of the codes along it")
    return z + s * scale * vector.astype(z.dtype)


def reset() -> None:
    st.session_state["edit_token"] = st.session_state.get("edit_token", 0) + 1


@st.fragment
def editor(model, x: torch.Tensor, sample: str, z0: np.ndarray, order, score, score_name: str,
           ranges, data, recon: torch.Tensor, tagged=None) -> None:
    """Sliders -> decode -> image. A fragment: moving a slider reruns only this block."""
    prefix = f"edit_{model.info.hash}_{sample}_{st.session_state.get('edit_token', 0)}"
    left, right = st.columns([3, 2], gap="large")
    with left:
        tab_dims, tab_attr = st.tabs(["Latent dimensions", "Attribute directions"])
        with tab_dims:
            st.caption(f"Ordered by importance ({'mean posterior KL' if score_name == 'KL' else 'variance of the codes'}); "
                       "a slider's range covers 98% of the " + ("prior." if score_name == "KL" else "data's codes."))
            z = dim_sliders(z0, order, score, score_name, ranges, prefix)
        with tab_attr:
            method = common.direction_method(st, f"{prefix}_method")
            st.caption("Fitted on the test codes; 1 step = one standard deviation of the codes along "
                       "the direction.")
            z = attribute_sliders(z, common.directions(model, data, method), prefix)
            z = tag_slider(z, tagged, prefix)
    edited = common.decode(model, z[None])[0]
    with right:
        st.image(draw.png(edited), caption=f"edited {sample}", width="content", output_format="PNG")
        c1, c2 = st.columns(2)
        c1.download_button("PNG", data=draw.png(edited, px=512), file_name=f"{model.info.name}-edit.png",
                           mime="image/png", icon=":material/download:", on_click="ignore", width="stretch")
        c2.button("Reset", icon=":material/restart_alt:", on_click=reset, key="edit_reset", width="stretch")
        st.image(draw.strip(torch.stack([x[0], recon]), px=112),
                 caption="original · unedited reconstruction", width="content", output_format="PNG")


def main() -> None:
    model = common.current_model()
    common.page_header("Edit", "Decode a sample's code after moving it: one slider per latent dimension "
                       "and one per attribute direction. The image updates when you release a slider.")
    data = common.dataset(model)
    sample, x = pick_sample(model, data)
    z0 = common.encode(model, x)[0]
    order, score, score_name = common.dimension_order(model, data)
    editor(model, x, sample, z0, order, score, score_name, common.slider_ranges(model),
           data, common.decode(model, z0[None])[0], common.tag_direction(model))


main()
