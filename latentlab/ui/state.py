"""A page's samples in the session and in the URL, the session's own images, and hand-overs.

Widgets whose value is plain (a slider, a radio) are bound to the URL with Streamlit's
`bind="query-params"`; a sample is a `SampleRef` written to the URL as `?<key>=test:12`, so a
copied link reopens the same view. A link whose parameters no longer make sense (an unknown
checkpoint, an index out of range, garbage) falls back to the default with a short notice.
"""

from __future__ import annotations

import streamlit as st
import torch

from latentlab import LatentlabError
from latentlab.images import load_image
from latentlab.sample import SampleRef
from latentlab.ui.pages import page

UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def notice(text: str) -> None:
    """A short, non-blocking note (a stale link parameter, a sample that moved)."""
    st.toast(text, icon=":material/info:")


# -- the session's own images ----------------------------------------------------------------------
def pool(model) -> dict[str, torch.Tensor]:
    """This session's own images for the model's dataset: name -> `[1, C, H, W]`. They stay until
    removed or the session ends, and every page can pick them."""
    return st.session_state.setdefault("pool", {}).setdefault(model.info.dataset["name"], {})


def image_input(model, data: bytes, fit: str = "crop", invert="auto") -> torch.Tensor:
    """An uploaded file as model input `[1, C, S, S]`; raises ImageError (a LatentlabError)."""
    c, side, _ = model.image_shape
    return load_image(data, channels=c, size=side, fit=fit, invert=invert)


def add_uploads(model, files, fit: str = "crop", invert="auto") -> tuple[list[str], list[str]]:
    """Put uploaded files through the image gate into the pool: (accepted names, refusals as text)."""
    accepted, refused = [], []
    for f in files:
        try:
            pool(model)[f.name] = image_input(model, f.getvalue(), fit=fit, invert=invert)
            accepted.append(f.name)
        except LatentlabError as exc:
            refused.append(f"{f.name} was not used: {exc}")
    return accepted, refused


def tags(model) -> dict[str, list[int]]:
    """Test-split indices the user tagged by hand on Explore's map, per group ("A", "B"), per dataset."""
    return st.session_state.setdefault(f"tags_{model.info.dataset['name']}", {"A": [], "B": []})


# -- samples in the URL ----------------------------------------------------------------------------
def _last_key(key: str) -> str:
    return f"_sample_{key}"


def take_ref(key: str, valid) -> SampleRef | None:
    """The sample named by the URL parameter `key`, if it is new and `valid(ref)` (a function that
    raises LatentlabError saying why not); else the one this page showed last; else None."""
    raw = st.query_params.get(key)
    last = st.session_state.get(_last_key(key))
    if raw and (last is None or raw != last.param):
        try:
            ref = SampleRef.parse(raw)
            valid(ref)
            return ref
        except LatentlabError as exc:
            notice(f"The link's {key} ({raw[:40]}) was ignored: {exc}")
    return last


def put_ref(key: str, ref: SampleRef) -> None:
    """Remember `ref` as this page's `key` sample and show it in the URL."""
    st.session_state[_last_key(key)] = ref
    st.query_params[key] = ref.param


def send(page_name: str, **refs: SampleRef) -> None:
    """Open another page with these samples (e.g. `send("edit", sample=ref)`); one call."""
    st.switch_page(page(page_name).file, query_params={k: r.param for k, r in refs.items()})
