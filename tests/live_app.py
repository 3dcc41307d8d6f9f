"""A scratch Streamlit app (not a page of latentlab) that drives the browser components on their own,
for tests/test_browser_live.py and scripts/bench_browser.py.

    streamlit run tests/live_app.py      then open /?view=dims&model=faces_vae

Views (query parameter `view`):
  dims   st.sliders for latent dimensions of `model` around a seeded code, its st.image, and the
         live overlay that follows the sliders while they are dragged;
  attr   a code plus a direction × strength slider (the attribute-slider case);
  path   scrubbing between two seeded codes (`method` linear or slerp);
  floor  Streamlit's own floor: a fragment with 4 st.sliders and a trivial st.image;
  map    the WebGL map with `n` seeded points in `k` categories (row index rides with each point).
"""

import streamlit as st

if __name__ != "__main__":
    import asyncio
    from contextlib import asynccontextmanager

    from latentlab.ui.components import routes

    def _imports() -> None:  # as app.py: heavy imports while the server starts, not on a visit
        import torch  # noqa: F401

        import latentlab  # noqa: F401
        from latentlab.ui.components import live, scatter  # noqa: F401

    @asynccontextmanager
    async def _warm(_app):
        await asyncio.to_thread(_imports)
        yield

    app = st.App(__file__, lifespan=_warm, routes=routes())

else:
    import numpy as np
    import torch

    import latentlab
    from latentlab import render
    from latentlab.ui import components as ui

    torch.set_num_threads(1)
    q = st.query_params

    @st.cache_resource
    def model_of(name: str):
        return latentlab.load(name)

    def decode(model):
        def run(z: np.ndarray) -> torch.Tensor:
            with torch.inference_mode():
                return model.decode(torch.as_tensor(z, dtype=torch.float32)).clone()
        return run

    def show(model, z: np.ndarray, caption: str) -> None:
        st.image(render.png(decode(model)(z[None]), px=256), caption=caption, width="content", output_format="PNG")

    @st.fragment
    def dims_view(model, n: int = 8) -> None:
        """Sliders for the first n dimensions of a seeded code, the image, and the live overlay."""
        z0 = np.random.default_rng(0).standard_normal(model.latent_dim).astype(np.float32)
        base = z0.copy()
        base[:n] = 0
        sliders = [ui.dim_slider(f"z{d}", d, model.latent_dim,
                                 st.slider(f"z{d}", -3.0, 3.0, round(float(np.clip(z0[d], -3, 3)), 2), 0.01))
                   for d in range(n)]
        show(model, ui.code(base, sliders), "edited live")
        ui.live_image(model, sliders, base, target="edited live", key=f"live_dims_{model.info.hash}")

    @st.fragment
    def attr_view(model) -> None:
        """A code plus a direction × strength."""
        rng = np.random.default_rng(1)
        z0 = rng.standard_normal(model.latent_dim)
        direction = rng.standard_normal(model.latent_dim)
        direction /= np.linalg.norm(direction)
        slider = ui.Slider("a direction", st.slider("a direction", -3.0, 3.0, 0.0, 0.05), 1.5 * direction)
        show(model, ui.code(z0, [slider]), "edited live")
        ui.live_image(model, [slider], z0, target="edited live", key=f"live_attr_{model.info.hash}")

    @st.fragment
    def path_view(model, method: str) -> None:
        """Scrubbing the position along a path between two seeded codes."""
        rng = np.random.default_rng(2)
        a, b = rng.standard_normal((2, model.latent_dim)).astype(np.float32)
        t = st.slider("position t", 0.0, 1.0, 0.5, 0.005)
        show(model, ui.point_on_path(a, b, t, method), "frame live")
        ui.live_image(model, [ui.Slider("position t", t)], target="frame live", path=(a, b, method),
                      key=f"live_path_{model.info.hash}_{method}")

    @st.fragment
    def floor_view() -> None:
        values = [st.slider(f"s{k}", -3.0, 3.0, 0.0, 0.01, key=f"floor_{k}") for k in range(4)]
        level = int(255 * (sum(values) + 12) / 24)
        st.image(np.full((8, 8), level, dtype=np.uint8), caption=f"edited floor {level}", width=256)

    def row_digest(rows) -> str:
        import hashlib

        return hashlib.sha1(",".join(map(str, sorted(rows))).encode()).hexdigest()[:12]

    def map_view(n: int, k: int) -> None:
        rng = np.random.default_rng(3)
        labels = rng.integers(0, k, n)
        xy = rng.standard_normal((n, 2)) + 4 * np.stack([np.cos(labels), np.sin(labels)], 1)
        rows = ui.scatter_map(xy, labels, "label", [f"class {c}" for c in labels], categorical=True,
                              key=f"map_{n}_{k}")
        if rows is None:
            st.warning("scatter component unavailable")
            return
        st.subheader(f"{len(rows)} selected")
        st.text(f"rows digest {row_digest(rows)}: " + " ".join(map(str, sorted(rows)[:20])))

    view = q.get("view", "dims")
    st.title(f"live components: {view}")
    if view == "floor":
        floor_view()
    elif view == "map":
        map_view(int(q.get("n", 100_000)), int(q.get("k", 10)))
    else:
        m = model_of(q.get("model", "faces_vae"))
        {"dims": dims_view, "attr": attr_view}.get(view, lambda mm: path_view(mm, q.get("method", "slerp")))(m)
