"""latentlab's browser components (Streamlit custom components v2): the page's image follows its
sliders while they are dragged (decoded in the browser), and WebGL maps of many points with
click, lasso and box selection.

Pages call `live_image` and `scatter_map`; app.py passes `routes()` to `st.App` so the server
hands the browser its runtime files (installed by `npm ci --prefix latentlab/ui/components`)
and the exported decoders. Nothing is fetched from elsewhere.
"""

from latentlab.ui.components.assets import missing, routes

_LIVE = {"live_image", "Slider", "dim_slider", "code", "point_on_path", "live_reason"}
__all__ = ["missing", "routes", "scatter_map", *sorted(_LIVE)]


def __getattr__(name: str):
    # Lazy: importing the package for `routes()` (app.py, at server start) must not register
    # Streamlit components or import numpy.
    if name in _LIVE:
        from latentlab.ui.components import live

        return getattr(live, name)
    if name == "scatter_map":
        from latentlab.ui.components.scatter import scatter_map

        return scatter_map
    raise AttributeError(name)
