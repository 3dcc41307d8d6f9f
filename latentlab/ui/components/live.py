"""The page's image follows its sliders WHILE they are dragged (a Streamlit v2 component).

The page keeps its own st.slider widgets and its st.image of the server's decode. This component
reads the sliders' positions in the browser once per display frame, decodes the code they stand
for with the checkpoint's decoder exported to ONNX (`latentlab.export`, run by onnxruntime-web in
a worker) and draws the frame over the page's image. On release Streamlit reruns as before, the
server decodes the same code and its image replaces the overlay: the server stays the source of
truth, and where the browser cannot decode (npm step not run, export refused, no WebAssembly,
`LATENTLAB_LIVE=0`) the component says so and the page works exactly as without it.

The code for slider values v, here and in js/live.js:
  sliders:  z = base + Σ_k v_k · vector_k          (a latent dimension: vector = e_d, base[d] = 0)
  path:     z = point_on_path(a, b, v_0, method)   (scrubbing along an interpolation)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

from latentlab.ui.components import assets

_COMPONENT = st.components.v2.component(
    "latentlab.live_decoder", js=(assets.JS / "live.js").read_text(), css=(assets.JS / "live.css").read_text())


@dataclass
class Slider:
    """One of the page's st.sliders, found in the browser by its `label`: at value v it moves
    the code by v · `vector` `[d]`. `value` is what the slider returned on this run."""

    label: str
    value: float
    vector: np.ndarray | None = None


def dim_slider(label: str, d: int, latent_dim: int, value: float) -> Slider:
    """The slider of latent dimension `d` (vector e_d; with base[d] = 0 its value is z[d])."""
    return Slider(label, float(value), np.eye(latent_dim, dtype=np.float64)[d])


def code(base: np.ndarray, sliders: Sequence[Slider]) -> np.ndarray:
    """`base + Σ value · vector` as float32 `[d]` (summed in float64, as the browser does)."""
    z = np.asarray(base, dtype=np.float64).copy()
    for s in sliders:
        z += float(s.value) * np.asarray(s.vector, dtype=np.float64)
    return z.astype(np.float32)


def point_on_path(a: np.ndarray, b: np.ndarray, t: float, method: str = "linear") -> np.ndarray:
    """The code at position t ∈ [0, 1] between a and b `[d]`: linear, or slerp (White 2016) with
    `latentlab.latent.interpolate.slerp`'s rule (lerp when sin ω < 1e-4 or a code is zero)."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    if method == "slerp" and na > 0 and nb > 0:
        omega = math.acos(min(1.0, max(-1.0, float(a64 @ b64) / (na * nb))))
        if math.sin(omega) >= 1e-4:
            return ((math.sin((1 - t) * omega) * a64 + math.sin(t * omega) * b64) / math.sin(omega)).astype(np.float32)
    return ((1 - t) * a64 + t * b64).astype(np.float32)


def live_reason(model) -> str | None:
    """Why the browser cannot decode this model (None when it can)."""
    if os.environ.get("LATENTLAB_LIVE", "1") == "0":
        return "turned off on this server (LATENTLAB_LIVE=0)"
    missing = assets.missing("live")
    if missing:
        return missing
    if not getattr(getattr(model, "info", None), "hash", ""):
        return "this model has no checkpoint hash to export under"
    return None


def _decoder_url(model) -> tuple[str | None, str | None]:
    from latentlab import export

    reason = live_reason(model)
    if reason:
        return None, reason
    job = export.start_export(model)
    if job.done() and job.exception() is not None:
        return None, f"the decoder could not be exported ({job.exception()})"
    return f"{assets.PREFIX}/decoder/{model.info.hash}.onnx", None


def live_image(model, sliders: Sequence[Slider], base: np.ndarray | None = None, *, target: str, key: str,
               path: tuple[np.ndarray, np.ndarray, str] | None = None) -> bool:
    """Make the page's image captioned `target` follow `sliders` while they are dragged.

    Either `base` `[d]` with each slider's vector (z = base + Σ value · vector), or `path`
    (a, b, method) with one slider whose value is the position t ∈ [0, 1] between codes a and b.
    Call it after drawing the sliders and the image, on every run (inside the same fragment).
    Draws one line saying whether live decoding is on (and if not, why). True when it is offered."""
    url, reason = _decoder_url(model)
    payload = {
        "name": key, "assets": assets.PREFIX, "decoder": url, "reason": reason, "target": target,
        "shape": list(model.image_shape), "base": None if base is None else [float(v) for v in base],
        "sliders": [{"label": s.label, "value": float(s.value),
                     "vector": None if s.vector is None else [float(v) for v in s.vector]} for s in sliders],
        "path": None if path is None else {"a": [float(v) for v in path[0]], "b": [float(v) for v in path[1]],
                                           "method": path[2]},
    }
    _COMPONENT(key=key, data=payload)
    return url is not None
