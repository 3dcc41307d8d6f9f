"""Upload: your own images through the model: input, reconstruction, error, neighbours, map.

Accepted images join the session's own images (every page can pick them) and stay, with their
results, until removed or the session ends.
"""

import numpy as np
import streamlit as st
import torch

from latentlab import render
from latentlab.latent import latent_neighbours
from latentlab.metrics.ood import verdict
from latentlab.sample import SampleRef
from latentlab.ui import draw, state, widgets
from latentlab.ui import resources as res

K = 6  # nearest neighbours shown per image
FITS = {"crop to a square": "crop", "pad to a square": "pad"}
INVERT = {"auto (greyscale only)": "auto", "no": False, "yes": True}
TYPES_TEXT = "PNG, JPEG, GIF, BMP, WebP or TIFF"


def options(model) -> tuple[str, object]:
    c, side, _ = model.image_shape
    st.caption(f"Images are turned into what the model eats: {side}×{side} "
               f"{'greyscale' if c == 1 else 'RGB'}, values in [0, 1].")
    c1, c2 = st.columns(2)
    fit = c1.radio("Shape", list(FITS), horizontal=True, key="upload_fit", persist_state="session")
    invert = c2.radio("Invert", list(INVERT), horizontal=True, key="upload_invert", persist_state="session",
                      help="MNIST digits are white on black; 'auto' flips greyscale images whose border is "
                           "brighter than their centre.")
    return FITS[fit], INVERT[invert]


def take_files(model, fit: str, invert) -> None:
    """New files from the uploader go through the image gate into the session's images."""
    counter = st.session_state.setdefault("upload_round", 0)
    files = st.file_uploader(f"Images ({TYPES_TEXT}, up to 10 MB each)", type=state.UPLOAD_TYPES,
                             accept_multiple_files=True, key=f"upload_files_{counter}")
    if files:
        accepted, refused = state.add_uploads(model, files, fit, invert)
        st.session_state["upload_refused"] = refused
        st.session_state["upload_round"] = counter + 1  # a fresh, empty uploader; results stay below
        st.rerun()
    for text in st.session_state.get("upload_refused", []):
        st.error(text, icon=":material/block:")


def show_one(model, data, lat, name: str, x: torch.Tensor, z: np.ndarray) -> None:
    x_hat = res.decode(model, z[None])
    heat, top = draw.error_map(x[0], x_hat[0], px=160)
    mse = float((x - x_hat).pow(2).mean())
    _, idx = latent_neighbours(lat.z, z[None], k=K)
    judged = verdict(mse, lat.recon_error)
    with st.container(border=True):
        st.text(f"{name} · reconstruction MSE {mse:.4f} (test median {np.median(lat.recon_error):.4f})")
        say = {"unlike": st.warning, "edge": st.info, "like": st.success}[judged.level]
        say(judged.sentence[0].upper() + judged.sentence[1:] + ".", icon=":material/travel_explore:")
        c1, c2, c3, c4 = st.columns([1, 1, 1, 3])
        c1.image(render.png(x, px=160), caption="input", width="content", output_format="PNG")
        c2.image(render.png(x_hat, px=160), caption="reconstruction", width="content", output_format="PNG")
        c3.image(heat, caption=f"|error| (max {top:.2f})", width="content", output_format="PNG")
        c4.image(render.png(data.x_test[idx[0]], px=80),
                 caption="nearest test images by code: " + ", ".join(f"#{i}" for i in idx[0]),
                 width="content", output_format="PNG")
        actions(model, name, int(idx[0][0]))


def actions(model, name: str, nearest: int) -> None:
    mine, near = SampleRef.upload(name), SampleRef.test(nearest)
    b1, b2, b3, b4 = st.columns([1, 1.6, 1.6, 1])
    if b1.button("Edit", icon=":material/tune:", key=f"upload_edit_{name}", width="stretch"):
        state.send("edit", sample=mine)
    if b2.button("Interpolate from it", icon=":material/timeline:", key=f"upload_a_{name}",
                 width="stretch", help="…to its nearest test image"):
        state.send("interpolate", a=mine, b=near)
    if b3.button("Interpolate to it", icon=":material/timeline:", key=f"upload_b_{name}",
                 width="stretch", help="…from its nearest test image"):
        state.send("interpolate", a=near, b=mine)
    if b4.button("Remove", icon=":material/delete:", key=f"upload_rm_{name}", width="stretch"):
        state.pool(model).pop(name, None)
        st.rerun()


def show_map(model, lat, names: list[str], z: np.ndarray) -> None:
    fitted, xy = res.get_map(model, "pca")
    values = lat.recon_error
    fig = draw.map_figure(xy, values, "reconstruction error", [f"{e:.4f}" for e in values], height=440)
    st.plotly_chart(draw.add_marks(fig, fitted.transform(z), names), key="upload_map")
    st.caption("Your images (stars) placed on the PCA map of the test codes, coloured by each test "
               "image's reconstruction error: an image far from every point is unlike the training data.")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Upload", "Drop your own images: see how the model reconstructs them, where the "
                        "error is, which real images have the nearest codes, and where they land on the map.")
    fit, invert = options(model)
    take_files(model, fit, invert)
    mine = state.pool(model)
    if not mine:
        st.info(f"Drop one or more {TYPES_TEXT} files above (up to 10 MB each).")
        return
    data, lat = res.dataset(model), res.latents(model)
    z = res.encode(model, torch.cat(list(mine.values())))
    for (name, x), code in zip(mine.items(), z):
        show_one(model, data, lat, name, x, code)
    show_map(model, lat, list(mine), z)


main()
