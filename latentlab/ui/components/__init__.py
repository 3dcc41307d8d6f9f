"""latentlab's browser components (Streamlit custom components v2): live decoding while a
slider is dragged, and WebGL maps of many points with lasso and box selection.

Pages call `live_decoder`, `live_path` and `scatter_map`; app.py passes `routes()` to `st.App`
so the server hands the browser its runtime files (installed by `npm ci --prefix
latentlab/ui/components`) and the exported decoders. Nothing is fetched from elsewhere.
"""

from latentlab.ui.components.assets import missing, routes

__all__ = ["missing", "routes", "live_decoder", "live_path", "Slider", "dim_slider", "LiveResult",
           "code", "point_on_path", "scatter_map"]


def __getattr__(name: str):
    # Lazy: importing the package for `routes()` (app.py, at server start) must not register
    # Streamlit components or import torch.
    if name in {"live_decoder", "live_path", "Slider", "dim_slider", "LiveResult", "code", "point_on_path"}:
        from latentlab.ui.components import live

        return getattr(live, name)
    if name == "scatter_map":
        from latentlab.ui.components.scatter import scatter_map

        return scatter_map
    raise AttributeError(name)
