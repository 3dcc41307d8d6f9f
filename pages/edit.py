"""Edit: move one sample's code with a slider per latent dimension and per attribute direction."""

import numpy as np
import streamlit as st
import torch

from latentlab import render
from latentlab.replay import ViewState
from latentlab.ui import resources as res
from latentlab.ui import state, widgets
from latentlab.ui.components import live

TOP_DIMS = 12
TOP_ATTRIBUTES = 8
EXPORT_PX = 512
# How an attribute slider moves the code: the least-leaking direction measured for this checkpoint
# (latentlab.latent.directions), or one of the classic ones to compare against.
DIRECTION_METHODS = {"least leaking": None, "mean difference": "mean_difference", "classifier normal": "logistic"}


def dim_labels(model) -> list[str]:
    """Slider labels: "z14 · smile ↑" where a measurement says what the dimension mostly changes."""
    names = res.dim_names(model)
    if names is None:
        return [f"z{d}" for d in range(model.latent_dim)]
    return [f"z{n.dim}" + (f" · {n.label}" if n.family else "") for n in names]


def dim_sliders(z0: np.ndarray, order, score, score_name: str, ranges, labels: list[str]) -> np.ndarray:
    """One slider per latent dimension, most important first; the rest in an expander."""
    z = z0.copy()

    def slider(col, d: int) -> None:
        lo, hi = min(ranges[d, 0], z0[d]), max(ranges[d, 1], z0[d])
        z[d] = col.slider(labels[d], float(lo), float(hi), float(z0[d]), step=float(hi - lo) / 200,
                          format="%.2f", key=f"z{d}", bind="query-params", help=_dim_help(score_name, score[d]))

    _two_columns(order[:TOP_DIMS], slider)
    if len(order) > TOP_DIMS:
        with st.expander(f"{len(order) - TOP_DIMS} less important dimensions"):
            _two_columns(order[TOP_DIMS:], slider)
    return z


def _dim_help(score_name: str, value: float) -> str:
    if score_name == "KL":
        return (f"Mean KL {value:.2f} nats: how much information this dimension carries about an image "
                "(≈ 0: unused, decodes to nothing).")
    return f"Variance of the test codes along this dimension: {value:.3g} (larger: more of the data's spread)."


def _two_columns(items, draw_one) -> None:
    cols = st.columns(2)
    for k, item in enumerate(items):
        draw_one(cols[k % 2], item if isinstance(item, str) else int(item))


def attribute_label(dirs, name: str, method: str | None) -> str:
    """The slider's label says how much the edit leaks: "smile · leak 0.05"."""
    leak = dirs.measured(name, method)["leakage"]
    return f"{name} · leak {leak:.2f}" if np.isfinite(leak) else f"{name} · leak –"


def attribute_help(dirs, name: str, method: str | None) -> str:
    m = dirs.measured(name, method)
    return (f"One step moves '{name}' by {m['slope']:.2f} label standard deviations and any other attribute "
            f"by at most {m['leakage']:.2f} (the leak; most into '{dirs.worst_[name]}' for the least-leaking "
            f"direction), as read from edited test images by readers trained on real images. Direction: "
            f"{m['method'].replace('_', ' ')}.")


def attribute_sliders(model, z: np.ndarray, dirs, method: str | None) -> tuple[np.ndarray, dict[str, float]]:
    """One slider per attribute direction, in standard deviations of the codes along it."""
    if dirs is None:
        if not res.pending(model, "directions"):
            st.caption("This dataset has no labels to fit attribute directions on.")
        return z, {}
    names = list(dirs.directions_)
    strengths = {}

    def slider(col, name: str) -> None:
        strengths[name] = col.slider(attribute_label(dirs, name, method), -3.0, 3.0, 0.0, 0.1, key=f"a_{name}",
                                     bind="query-params", help=attribute_help(dirs, name, method))

    _two_columns(names[:TOP_ATTRIBUTES], slider)
    if len(names) > TOP_ATTRIBUTES:
        with st.expander(f"{len(names) - TOP_ATTRIBUTES} more attributes"):
            _two_columns(names[TOP_ATTRIBUTES:], slider)
    for name, s in strengths.items():
        if s:
            z = dirs.apply(z, name, s, method)
    return z, {k: v for k, v in strengths.items() if v}


def tag_slider(z: np.ndarray, tagged) -> tuple[np.ndarray, float]:
    """The direction from the user's hand-tagged groups on the map (B -> A), if both exist."""
    if tagged is None:
        st.caption("Tag two groups of points on Explore (A and B) to get a slider between them.")
        return z, 0.0
    vector, scale = tagged
    s = st.slider("your tags: B → A", -3.0, 3.0, 0.0, 0.1, key="tags_ba",
                  help="mean code of group A minus mean code of group B, in stds of the codes along it")
    return z + s * scale * vector.astype(z.dtype), s


def reset(z0: np.ndarray) -> None:
    """Sliders back to their defaults (the sample's own code, strength 0), in the URL too. Set,
    not deleted: the browser only redraws a slider whose value the session state sets."""
    defaults = {f"z{d}": float(v) for d, v in enumerate(z0)} | {"tags_ba": 0.0}
    defaults |= {k: 0.0 for k in st.session_state if isinstance(k, str) and k.startswith("a_")}
    for key, value in defaults.items():
        st.session_state[key] = value


def follow_sample(model, picked: widgets.Picked) -> None:
    """Put the sliders on a newly picked sample's code (Streamlit keeps a keyed slider's value
    when only its default changes). Not on the first run of a session: a link's values stand."""
    current = (model.info.hash, picked.ref.param)
    previous = st.session_state.get("_edit_for")
    st.session_state["_edit_for"] = current
    if previous is not None and previous != current:
        reset(picked.z)


def live_sliders(z_dims: np.ndarray, labels: list[str], dirs, method, strengths: dict[str, float],
                 tagged, tag: float) -> list:
    """The sliders above as the browser sees them (label, value, how far one step moves the code),
    so the edited image follows them while they are dragged: z = Σ value · vector."""
    d = len(z_dims)
    sliders = [live.dim_slider(labels[k], k, d, z_dims[k]) for k in range(d)]
    if dirs is not None:
        sliders += [live.Slider(attribute_label(dirs, name, method), strengths.get(name, 0.0), dirs.step(name, method))
                    for name in dirs.directions_]
    if tagged is not None:
        sliders.append(live.Slider("your tags: B → A", tag, tagged[1] * tagged[0]))
    return sliders


@st.fragment
def editor(model, data, picked: widgets.Picked, order, score, score_name: str, ranges, recon) -> None:
    """Sliders -> decode -> image. A fragment: moving a slider reruns only this block."""
    left, right = st.columns([3, 2], gap="large")
    # The sliders scroll inside a box of fixed height, so on a 1366×768 screen the edited image
    # beside them stays in view while they move.
    with left, st.container(height=380, border=False):
        tab_dims, tab_attr = st.tabs(["Latent dimensions", "Attribute directions"])
        with tab_dims:
            st.caption(f"Ordered by importance ({'mean posterior KL' if score_name == 'KL' else 'variance of the codes'}); "
                       "a slider's range covers 98% of the " + ("prior." if score_name == "KL" else "data's codes."))
            labels = dim_labels(model)
            z_dims = dim_sliders(picked.z, order, score, score_name, ranges, labels)
        with tab_attr:
            label = st.radio("Direction", list(DIRECTION_METHODS), horizontal=True, key="dir", bind="query-params",
                             help="Least leaking: of five candidate directions per attribute, the one that moves "
                                  "the other attributes least per step (measured). Mean difference: mean code of "
                                  "the samples with the attribute minus the mean code of those without. Classifier "
                                  "normal: the normal of a logistic regression separating them (InterFaceGAN).")
            st.caption("1 step = one standard deviation of the test codes along the direction; 'leak' = how "
                       "many label standard deviations the most-moved other attribute changes per step.")
            method = DIRECTION_METHODS[label]
            dirs = res.directions(model, block=False)
            if dirs is None and res.pending(model, "directions"):
                st.caption("The sliders appear when the directions are fitted (measured once per checkpoint).")
            z, strengths = attribute_sliders(model, z_dims, dirs, method)
            tagged = res.tag_direction(model, state.tags(model))
            z, tag = tag_slider(z, tagged)
    edited = res.decode(model, z[None])
    edits = {"dims": {int(d): float(v) for d, v in enumerate(z_dims) if v != picked.z[d]},
             "attributes": strengths, "direction": method or "least_leaking", "tags": tag}
    with right:
        widgets.show(render.png(edited, px=widgets.LARGE), f"edited {picked.label}")
        live.live_image(model, live_sliders(z_dims, labels, dirs, method, strengths, tagged, tag), np.zeros_like(picked.z),
                        target=f"edited {picked.label}", key=f"live_edit_{model.info.hash}")
        stem = f"{model.info.name}-edit"
        widgets.downloads(ViewState.of("edit", model, picked.ref.param, picked.z, z, edits, EXPORT_PX),
                          render.png(edited, px=EXPORT_PX), stem)
        st.button("Reset", icon=":material/restart_alt:", on_click=reset, args=(picked.z,),
                  key="edit_reset", width="stretch")
        widgets.show(render.png(torch.cat([picked.x, recon]), px=112),
                     "original · unedited reconstruction")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Edit", "Decode a sample's code after moving it: one slider per latent dimension "
                        "and one per attribute direction. The image follows a slider while you drag it (decoded in your "
                        "browser); on release the server's decode replaces it.")
    data = res.dataset(model)
    picked = widgets.sample_picker(model, data, "sample")
    follow_sample(model, picked)
    order, score, score_name = res.dimension_order(model, data)
    editor(model, data, picked, order, score, score_name, res.slider_ranges(model),
           res.decode(model, picked.z[None]))


main()
