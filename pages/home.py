"""Home: what latentlab is, the zoo with its test metrics, and the selected model at work."""

import pandas as pd
import streamlit as st

from latentlab.zoo import METRICS, reconstruction_grid, zoo_table
from pages import common, draw

ABOUT = """
latentlab trains and loads a family of autoencoders on a laptop CPU — plain, denoising,
VAE, β-VAE and PCA as the linear autoencoder — and lets you see and touch what their latent
spaces learned. Pick a **dataset** and a **checkpoint** in the sidebar, then:

- **Explore** the 2-D map of a split's codes, coloured by label or reconstruction error; lasso points to see them.
- **Edit** a sample with a slider per latent dimension and per attribute direction.
- **Interpolate** between two samples, linearly or along a great circle, and check how realistic the path stays.
- **Upload** your own images: reconstruction, error map, nearest neighbours, and where they land on the map.
- **Compare** two to four models side by side on the same inputs.
"""

COLUMNS = {"name": "checkpoint", "dataset": "dataset", "label": "family", "latent_dim": "latent size",
           "mse": METRICS["mse"].label, "psnr": "PSNR (dB)", "neg_elbo": METRICS["neg_elbo"].label,
           "active_units": METRICS["active_units"].label, "size_mb": "size (MB)"}


def zoo_frame() -> pd.DataFrame:
    rows, _ = zoo_table()  # the sidebar has already named any entry that cannot be listed
    return pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns=COLUMNS)


def show_reconstructions(model, n: int, seed: int) -> None:
    common.dataset(model)  # reconstruction_grid reads the model's own test split
    grid = reconstruction_grid(model, n=n, seed=seed, nrow=min(n, 16))  # [3, H, W], inference mode
    st.image(draw.png(grid, px=max(grid.shape[-1], 960)), width="content", output_format="PNG")


def main() -> None:
    common.page_header("latentlab", "An interactive latent-space lab: autoencoders you can poke at.")
    st.markdown(ABOUT)
    st.subheader("The model zoo")
    st.caption("Every shipped checkpoint with its metrics on its dataset's held-out test split "
               "(MSE per pixel; PSNR higher is better; −ELBO and active units for VAEs).")
    st.dataframe(zoo_frame(), hide_index=True, width="stretch",
                 column_config={"test MSE": st.column_config.NumberColumn(format="%.4f"),
                                "PSNR (dB)": st.column_config.NumberColumn(format="%.1f"),
                                "−ELBO": st.column_config.NumberColumn(format="%.1f")})
    model = common.current_model()
    st.subheader(f"{model.info.name}: test images and their reconstructions")
    st.caption("Odd rows: held-out test images. Even rows: what the model makes of them after "
               f"squeezing each through {model.latent_dim} numbers.")
    c1, c2 = st.columns([1, 1])
    n = c1.select_slider("Images", options=[8, 16, 32], value=16, key="home_n")
    seed = c2.number_input("Seed", min_value=0, max_value=10_000, value=0, key="home_seed")
    show_reconstructions(model, int(n), int(seed))


main()
