"""Explore: a 2-D map of a split's latent codes; select points to see them and send them on."""

import re

import numpy as np
import streamlit as st

from latentlab import render
from latentlab.latent.labels import colour_names, is_categorical, label_text
from latentlab.sample import SampleRef
from latentlab.ui import components, draw, state, widgets
from latentlab.ui import resources as res

MAX_SHOWN = 32
ERROR = "reconstruction error"


def map_controls(lat) -> tuple[str, str, str]:
    c1, c2, c3 = st.columns([2, 3, 1])
    method = c1.radio("Projection", list(res.MAP_METHODS), horizontal=True, key="map", bind="query-params")
    options = [*colour_names(lat.labels), ERROR]
    colour = c2.selectbox("Colour by", options, key="colour", bind="query-params")
    split = c3.radio("Split", ["test", "train"], horizontal=True, key="split", bind="query-params")
    return res.MAP_METHODS[method], colour, split


def fitted_map(model, method: str, split: str):
    """The map from the cache; UMAP/t-SNE are fitted only behind an explicit button."""
    label = next(k for k, v in res.MAP_METHODS.items() if v == method)
    if res.map_is_cached(model, method, split) or st.session_state.get(f"fit_{method}_{split}"):
        return res.get_map(model, method, split)
    st.info(f"No precomputed {label} map for this checkpoint's {split} split. Fitting one takes "
            "from a few seconds to a minute on a CPU; PCA is instant.")
    if st.button(f"Fit {label} now", key=f"fit_button_{method}"):
        st.session_state[f"fit_{method}_{split}"] = True
        st.rerun()
    st.stop()


def colour_values(model, lat, colour: str):
    """(values, hover text, categorical?) for the chosen colouring."""
    if colour == ERROR:
        return lat.recon_error, [f"{e:.4f}" for e in lat.recon_error], False
    cats = res.categories(model)
    values = np.asarray(lat.labels[colour])
    return values, label_text(colour, values, cats), is_categorical(colour, values, cats)


def parse_indices(text: str, n: int) -> list[int]:
    """'3, 17 42' -> [3, 17, 42]; out-of-range numbers are reported and dropped."""
    found = [int(t) for t in re.findall(r"\d+", text)]
    bad = [i for i in found if i >= n]
    if bad:
        st.warning(f"No sample {', '.join(map(str, bad[:5]))}: this split has {n} samples (0–{n - 1}).")
    return [i for i in found if i < n]


def selected_indices(picked, typed: list[int]) -> list[int]:
    """The map's selection (row indices from the WebGL map, or a plotly selection event whose
    points carry their row in customdata) followed by the typed indices, without repeats."""
    if isinstance(picked, list):
        from_map = picked
    else:
        points = picked.selection.points if picked is not None else []
        from_map = [int(p["customdata"][0]) for p in points if p.get("customdata") is not None]
    return list(dict.fromkeys(from_map + typed))


def show_selection(model, lat, split: str, idx: list[int]) -> None:
    st.subheader(f"{len(idx)} selected")
    shown = idx[:MAX_SHOWN]
    if len(idx) > MAX_SHOWN:
        st.caption(f"Showing the first {MAX_SHOWN}.")
    x = res.dataset(model).split(split)[0][shown]
    ncol = min(len(shown), 8)
    c1, c2 = st.columns(2)
    c1.image(render.png(x, ncol, widgets.TILE), caption="originals", width="content", output_format="PNG")
    c2.image(render.png(res.reconstruct(model, x), ncol, widgets.TILE), caption="reconstructions",
             width="content", output_format="PNG")
    st.caption("Samples: " + ", ".join(f"#{i}" for i in shown)
               + f" · mean reconstruction MSE {lat.recon_error[shown].mean():.4f}")
    refs = [sample_ref(model, split, i, x[k:k + 1]) for k, i in enumerate(shown[:2])]
    send_buttons(refs, idx)
    if split == "test":
        tag_buttons(model, idx)


def sample_ref(model, split: str, i: int, x) -> SampleRef:
    """Test samples travel by index; a train sample is copied into the session's own images."""
    if split == "test":
        return SampleRef.test(i)
    state.pool(model)[f"train #{i}"] = x
    return SampleRef.upload(f"train #{i}")


def send_buttons(refs: list[SampleRef], idx: list[int]) -> None:
    c1, c2 = st.columns(2)
    if c1.button(f"Edit #{idx[0]}", icon=":material/tune:", key="explore_to_edit", width="stretch"):
        state.send("edit", sample=refs[0])
    if len(refs) >= 2 and c2.button(f"Interpolate #{idx[0]} → #{idx[1]}", icon=":material/timeline:",
                                    key="explore_to_interp", width="stretch"):
        state.send("interpolate", a=refs[0], b=refs[1])
    elif len(refs) < 2:
        c2.caption("Select two or more points to interpolate between the first two.")


def tag_buttons(model, idx: list[int]) -> None:
    """Tag the selection as group A or B; Edit then offers a slider from B towards A."""
    t = state.tags(model)
    c1, c2, c3 = st.columns(3)
    for col, group in ((c1, "A"), (c2, "B")):
        if col.button(f"Tag as group {group}", icon=":material/label:", key=f"tag_{group}", width="stretch"):
            other = "B" if group == "A" else "A"
            t[group] = sorted(set(t[group]) | set(idx))
            t[other] = [i for i in t[other] if i not in set(idx)]
    if c3.button("Clear tags", icon=":material/label_off:", key="tag_clear", width="stretch"):
        t["A"], t["B"] = [], []
    st.caption(f"Hand tags: {len(t['A'])} in A, {len(t['B'])} in B. With both groups tagged, Edit has a "
               "slider that moves a code from B's mean towards A's.")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Explore", f"Every {model.info.dataset['name']} sample as one point: its "
                        f"{model.latent_dim}-number code projected to 2-D. Nearby points have similar codes. "
                        "Click a point to see it, or pick the toolbar's lasso or box to select many (double-click clears).")
    method, colour, split = map_controls(res.latents(model))
    lat = res.latents(model, split)
    _, xy = fitted_map(model, method, split)
    values, text, categorical = colour_values(model, lat, colour)
    key = f"explore_map_{model.info.hash}_{method}_{split}_{colour}"
    # WebGL (scales to 100,000s of points; selections are row indices); plotly's map when the
    # component's browser files are not installed.
    picked = components.scatter_map(xy, values, colour, text, categorical=categorical, key=key)
    if picked is None:
        fig = draw.map_figure(xy, values, colour, text, categorical)
        picked = st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key=key)
    typed = parse_indices(st.text_input("…or type sample indices", key="explore_typed",
                                        placeholder="e.g. 3, 17, 42"), len(lat.z))
    idx = selected_indices(picked, typed)
    if idx:
        show_selection(model, lat, split, idx)


main()
