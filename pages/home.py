"""Home: what latentlab is, the zoo with its test metrics, and the selected model at work."""

import pandas as pd
import streamlit as st

from latentlab import render
from latentlab.ui import resources as res
from latentlab.ui import widgets
from latentlab.ui.pages import PAGES
from latentlab.zoo import reconstruction_grid, zoo_table

ABOUT = """
latentlab trains and loads a family of autoencoders on a laptop CPU and lets you see and touch
what their latent spaces learned. Pick a **dataset** and a **checkpoint** in the sidebar, then:
"""


def about() -> str:
    return ABOUT + "\n".join(f"- **{p.title}**: {p.summary}" for p in PAGES[1:])


def zoo_frame() -> tuple[pd.DataFrame, dict]:
    rows, _ = zoo_table()  # the sidebar has already named any entry that cannot be listed
    frame = pd.DataFrame([{"checkpoint": r["name"], "dataset": r["dataset"], "family": r["label"],
                           "latent size": r["latent_dim"],
                           **{label: widgets.metric_text(k, r["metrics"].get(k))
                              for k, (label, _, _) in widgets.METRICS.items()},
                           "size (MB)": r["size_mb"]} for r in rows])
    return frame, widgets.metric_columns()


def show_reconstructions(model, n: int, seed: int) -> None:
    res.dataset(model)  # reconstruction_grid reads the model's own test split
    grid = reconstruction_grid(model, n=n, seed=seed, nrow=min(n, 16))  # [C, H, W]
    st.image(render.png(grid[None], px=max(grid.shape[-1], 960)), width="content", output_format="PNG")


def main() -> None:
    widgets.page_header("latentlab", "An interactive latent-space lab: autoencoders you can poke at.")
    st.markdown(about())
    st.subheader("The model zoo")
    st.caption("Every shipped checkpoint with its metrics on its dataset's held-out test split; "
               "hover a column title for what it means. – means the metric does not apply.")
    frame, config = zoo_frame()
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    model = res.current_model()
    st.subheader(f"{model.info.name}: test images and their reconstructions")
    st.caption("Odd rows: held-out test images. Even rows: what the model makes of them after "
               f"squeezing each through {model.latent_dim} numbers.")
    c1, c2 = st.columns([1, 1])
    n = c1.select_slider("Images", options=[8, 16, 32], value=16, key="n", bind="query-params")
    seed = c2.number_input("Seed", min_value=0, max_value=10_000, value=0, key="seed", bind="query-params")
    show_reconstructions(model, int(n), int(seed))


main()
