"""Reusable pieces of pages: the sample picker, image rows, metric labels, downloads, headers.

Widget helpers return plain values; drawing the images is `st.image` of PNG bytes from
latentlab.render.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from latentlab import LatentlabError
from latentlab.latent.pick import label_options, pick
from latentlab.replay import ViewState
from latentlab.sample import SampleRef
from latentlab.ui import resources as res
from latentlab.ui import runtime, state
from latentlab.ui.glossary import TERMS

LARGE = 256  # px of the main image on Edit / Upload
TILE = 72  # px of one tile in strips and grids

# Display labels of the test metrics a checkpoint records (training.json "test_metrics" keys).
METRICS = {
    "mse": ("test MSE", "%.4f", TERMS["test MSE"]),
    "psnr": ("PSNR (dB)", "%.1f", TERMS["PSNR"]),
    "neg_elbo": ("−ELBO", "%.1f", TERMS["−ELBO"]),
    "active_units": ("active units", "%d", TERMS["active units"]),
}


def metric_text(key: str, value) -> str:
    """A stored metric as the app shows it everywhere: its format, or "–" where it does not apply."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    return METRICS[key][1] % value


def metric_columns() -> dict:
    """Column config for tables of metrics shown with `metric_text`: the label's help on hover."""
    return {label: st.column_config.TextColumn(help=help_) for label, _, help_ in METRICS.values()}


def page_header(title: str, caption: str) -> None:
    runtime.run_through_app()
    st.title(title)
    st.caption(caption)


def show(png: bytes, caption: str = "") -> None:
    st.image(png, caption=caption or None, width="content", output_format="PNG")


def image_row(label: str, png: bytes, note: str = "") -> None:
    """One labelled strip: the label (and a small note) left, the images right."""
    c1, c2 = st.columns([1, 6], vertical_alignment="center")
    c1.markdown(f"**{label}**" + (f"  \n:small[:gray[{note}]]" if note else ""))
    c2.image(png, width="content", output_format="PNG")


# -- the one sample picker -------------------------------------------------------------------------
SOURCES = ("Test image", "My images")


@dataclass
class Picked:
    """A picked sample: its ref, its image `[1, C, H, W]` (the decoded code for a bare code), its code `[d]`."""

    ref: SampleRef
    x: torch.Tensor
    z: np.ndarray

    @property
    def label(self) -> str:
        return self.ref.label


def sample_picker(model, data, key: str, default: int = 0, title: str = "") -> Picked:
    """Pick a test image (by index, at random) or one of the session's own images.

    The choice is kept in the URL parameter `key` (`?sample=test:12`) and in the session, so a
    link, another page's hand-over (`state.send`) and coming back to the page all show it.
    """
    n, mine = len(data.x_test), state.pool(model)

    ref = state.take_ref(key, lambda r: r.resolve(model, data.x_test, mine)) or SampleRef.test(min(default, n - 1))
    if ref.kind == "upload" and ref.name not in mine:
        ref = SampleRef.test(min(default, n - 1))
    ref = _picker_widgets(model, data, key, ref, title)
    try:
        x, z = ref.resolve(model, data.x_test, mine)
    except LatentlabError as exc:  # e.g. a code from a checkpoint of another latent size
        state.notice(str(exc))
        ref = SampleRef.test(min(default, n - 1))
        x, z = ref.resolve(model, data.x_test, mine)
    state.put_ref(key, ref)
    return Picked(ref, res.decode(model, z[None]) if x is None else x, z)


def _picker_widgets(model, data, key: str, ref: SampleRef, title: str) -> SampleRef:
    """Draw the picker seeded with `ref`; returns the ref the widgets now say."""
    n, mine = len(data.x_test), state.pool(model)
    sources = list(SOURCES) + (["Handed-over code"] if ref.kind == "code" else [])
    seeded = {"test": SOURCES[0], "upload": SOURCES[1], "code": "Handed-over code"}[ref.kind]
    if st.session_state.get(f"{key}_seen") != ref.param:  # a new ref: move the widgets to it
        st.session_state[f"{key}_src"] = seeded
        if ref.kind == "test":
            st.session_state[f"{key}_i"] = ref.index
        elif ref.kind == "upload":
            st.session_state[f"{key}_mine"] = ref.name
    st.session_state[f"{key}_i"] = min(int(st.session_state.get(f"{key}_i", 0)), n - 1)
    if title:
        st.markdown(f"**{title}**")
    source = st.radio("Sample from", sources, key=f"{key}_src", horizontal=True, label_visibility="collapsed")
    if source == SOURCES[1] and mine:
        names = list(mine)
        if st.session_state.get(f"{key}_mine") not in names:
            st.session_state[f"{key}_mine"] = names[-1]
        out = SampleRef.upload(st.selectbox("Image", names, key=f"{key}_mine"))
    elif source == "Handed-over code":
        st.caption(f"{ref.label} handed over from another page.")
        out = ref
    else:
        if source == SOURCES[1]:
            st.caption("No images of yours yet (add some on the Upload page); showing a test image.")
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        i = c1.number_input(f"Test image (0–{n - 1})", min_value=0, max_value=n - 1, step=1, key=f"{key}_i")
        c2.button("Random", icon=":material/casino:", key=f"{key}_rand", width="stretch",
                  on_click=_random_index, args=(f"{key}_i", n))
        _by_label(data, key)
        out = SampleRef.test(int(i))
    st.session_state[f"{key}_seen"] = out.param
    return out


def _random_index(key: str, n: int) -> None:
    st.session_state[key] = int(np.random.default_rng().integers(n))


def _by_label(data, key: str) -> None:
    """"…or a random test image that is [digit] [3]": picks by what a sample is, not its index."""
    options = label_options(data.labels_test, data.categories)
    if not options:
        return
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    name = c1.selectbox("…or a random test image with", list(options), key=f"{key}_label")
    value = c2.selectbox("equal to", options[name], key=f"{key}_value")
    c3.button("Pick", icon=":material/casino:", key=f"{key}_pick", width="stretch",
              on_click=_pick_index, args=(data, f"{key}_i", name, value))


def _pick_index(data, key: str, name: str, value: str) -> None:
    st.session_state[key] = int(pick(data.labels_test, data.categories, {name: value},
                                     seed=int(np.random.default_rng().integers(2**31)))[0])


# -- downloads -------------------------------------------------------------------------------------
def downloads(view_state: ViewState, png: bytes, stem: str, gif: bytes | None = None) -> None:
    """PNG (and GIF) of the result, and the JSON state that `python -m latentlab replay` turns
    back into the same PNG."""
    cols = st.columns(3 if gif else 2)
    cols[0].download_button("PNG", data=png, file_name=f"{stem}.png", mime="image/png",
                            icon=":material/download:", on_click="ignore", width="stretch")
    cols[1].download_button("State", data=view_state.to_json(), file_name=f"{stem}.json",
                            mime="application/json", icon=":material/data_object:", on_click="ignore",
                            width="stretch", help="The checkpoint (name and content hash), sample, code and "
                                                  "edits. `python -m latentlab replay state.json --out x.png` "
                                                  "redraws this image.")
    if gif:
        cols[2].download_button("GIF", data=gif, file_name=f"{stem}.gif", mime="image/gif",
                                icon=":material/download:", on_click="ignore", width="stretch")

