"""Sliders whose decoded image follows the thumb while it is dragged (a Streamlit v2 component).

The browser decodes with the checkpoint's decoder exported to ONNX (`latentlab.export`) and run
by onnxruntime-web in a worker; on release the values come back here, the server decodes the
same code, and its image (the source of truth) replaces the live frame. Where the browser cannot
decode (npm step not run, export failed, no WebAssembly, `LATENTLAB_LIVE=0`), the component says
so and shows the server's image after each release: the page works the same, only not live.

The code for a set of slider values is one formula, here and in js/live.js:
  sliders:  z = base + Σ_k value_k · vector_k            (a latent dimension: vector = e_d)
  path:     z = point_on_path(a, b, t, method)           (t = the one slider's value)
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch

from latentlab.ui.components import assets

_DIR = assets.JS
_COMPONENT = st.components.v2.component(
    "latentlab.live_decoder", js=(_DIR / "live.js").read_text(), css=(_DIR / "live.css").read_text())


@dataclass
class Slider:
    """One slider: `value` (its start) moves the code along `vector` `[d]`."""

    id: str
    label: str
    lo: float
    hi: float
    value: float
    vector: np.ndarray
    step: float = 0.01
    help: str = ""
    group: str = ""


@dataclass
class LiveResult:
    """What the page gets back: the committed values, the code `[d]` and its server decode `[C, H, W]`."""

    values: dict[str, float]
    z: np.ndarray
    image: torch.Tensor
    live: bool = field(default=False)


def dim_slider(d: int, latent_dim: int, lo: float, hi: float, value: float, **kwargs) -> Slider:
    """A slider for latent dimension `d` (vector e_d; with base[d] = 0 its value is z[d])."""
    return Slider(f"z{d}", f"z{d}", lo, hi, value, np.eye(latent_dim, dtype=np.float64)[d], **kwargs)


def code(base: np.ndarray, sliders: Sequence[Slider], values: dict[str, float]) -> np.ndarray:
    """`base + Σ values[id] · vector` as float32 `[d]` (summed in float64, as the browser does)."""
    z = np.asarray(base, dtype=np.float64).copy()
    for s in sliders:
        z += float(values[s.id]) * np.asarray(s.vector, dtype=np.float64)
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


def _png_data_url(image: torch.Tensor) -> str:
    """`[C, H, W]` in [0, 1] -> PNG data URL at native size (the browser scales it, pixelated)."""
    from latentlab.render import png

    return "data:image/png;base64," + base64.b64encode(png(image)).decode()


def _values(key: str, sliders: Sequence[Slider]) -> dict[str, float]:
    """The values last released in the browser (state kept by Streamlit under `key`); a slider
    the browser has not reported (new, or the first run) starts at its `value`."""
    state = st.session_state.get(key)
    released = state.get("values") if isinstance(state, dict) else None  # item, not attribute:
    # the state is a dict subclass, so `.values` would be dict.values
    released = released if isinstance(released, dict) else {}
    return {s.id: float(released.get(s.id, s.value)) for s in sliders}


def _mount(model, sliders, values, image, *, key, name, base=None, path=None, groups=(),
           caption="", px=256, layout="side") -> bool:
    url, reason = _decoder_url(model)
    payload = {
        "name": name, "assets": assets.PREFIX, "decoder": url, "reason": reason,
        "shape": list(model.image_shape), "base": None if base is None else [float(v) for v in base],
        "sliders": [{"id": s.id, "label": s.label, "min": s.lo, "max": s.hi, "step": s.step, "help": s.help,
                     "group": s.group, "vector": None if path else [float(v) for v in s.vector]} for s in sliders],
        "path": path, "groups": [{"name": g, "open": k == 0} for k, g in enumerate(groups)],
        "image": _png_data_url(image), "values": values, "px": px, "caption": caption, "layout": layout,
    }
    _COMPONENT(key=key, data=payload, default={"values": values}, on_values_change=lambda: None)
    return url is not None


def live_decoder(model, sliders: Sequence[Slider], base: np.ndarray, decode: Callable[[np.ndarray], torch.Tensor], *,
                 key: str, groups: Sequence[str] = (), caption: str = "", px: int = 256,
                 layout: str = "side") -> LiveResult:
    """Sliders moving `base` `[d]` along each slider's vector, and the decoded image, live.

    `decode(z [1, d]) -> images [1, C, H, W]` is the server's decode (the source of truth).
    `groups` orders slider groups (`Slider.group`); the first is open, the rest fold away.
    Reset by changing `key`. Returns the released values, their code and its server image."""
    values = _values(key, sliders)
    z = code(base, sliders, values)
    image = decode(z[None])[0]
    live = _mount(model, sliders, values, image, key=key, name=key, base=base, groups=groups,
                  caption=caption, px=px, layout=layout)
    return LiveResult(values, z, image, live)


def live_path(model, a: np.ndarray, b: np.ndarray, method: str, decode: Callable[[np.ndarray], torch.Tensor], *,
              key: str, t: float = 0.5, caption: str = "", px: int = 192, label: str = "position t") -> LiveResult:
    """Scrub along the path from code `a` to code `b` (`method` "linear" or "slerp"); the frame
    at the thumb's position is decoded while it is dragged."""
    slider = Slider("t", label, 0.0, 1.0, float(t), np.zeros(len(a)), step=0.005)
    values = _values(key, [slider])
    z = point_on_path(a, b, values["t"], method)
    image = decode(z[None])[0]
    path = {"a": [float(v) for v in a], "b": [float(v) for v in b], "method": method}
    live = _mount(model, [slider], values, image, key=key, name=key, path=path, caption=caption, px=px,
                  layout="stack")
    return LiveResult(values, z, image, live)
