"""Upload: your own images through the model: input, reconstruction, error, neighbours, map."""

import numpy as np
import streamlit as st
import torch

from latentlab import LatentlabError
from latentlab.latent import latent_neighbours
from pages import common, draw

K = 6  # nearest neighbours shown per image
FITS = {"crop to a square": "crop", "pad to a square": "pad"}
INVERT = {"auto (greyscale only)": "auto", "no": False, "yes": True}


def options(model) -> tuple[str, object]:
    c, side, _ = model.image_shape
    st.caption(f"Images are turned into what the model eats: {side}×{side} "
               f"{'greyscale' if c == 1 else 'RGB'}, values in [0, 1].")
    c1, c2 = st.columns(2)
    fit = common.kept(c1.radio, "Shape", "upload_fit", list(FITS)[0], options=list(FITS), horizontal=True)
    invert = common.kept(c2.radio, "Invert", "upload_invert", list(INVERT)[0], options=list(INVERT),
                         horizontal=True, help="MNIST digits are white on black; 'auto' flips "
                                               "greyscale images whose border is brighter than their centre.")
    return FITS[fit], INVERT[invert]


def preprocess(model, files, fit: str, invert) -> dict[str, torch.Tensor]:
    """Each accepted file as `[1, C, S, S]`; a refused file gets an st.error naming it."""
    accepted = {}
    for f in files:
        try:
            accepted[f.name] = common.image_input(model, f.getvalue(), fit=fit, invert=invert)
        except LatentlabError as exc:
            st.error(f"**{f.name}** was not used: {exc}")
    return accepted


def show_one(model, data, lat, name: str, x: torch.Tensor, z: np.ndarray) -> None:
    x_hat = common.decode(model, z[None])
    heat, top = draw.error_map(x[0], x_hat[0], px=160)
    mse = float((x - x_hat).pow(2).mean())
    _, idx = latent_neighbours(lat.z, z[None], k=K)
    with st.container(border=True):
        st.markdown(f"**{name}** · reconstruction MSE {mse:.4f} "
                    f"(test median {np.median(lat.recon_error):.4f})")
        c1, c2, c3, c4 = st.columns([1, 1, 1, 3])
        c1.image(draw.png(x, px=160), caption="input", width="content", output_format="PNG")
        c2.image(draw.png(x_hat, px=160), caption="reconstruction", width="content", output_format="PNG")
        c3.image(heat, caption=f"|error| (max {top:.2f})", width="content", output_format="PNG")
        c4.image(draw.strip(data.x_test[idx[0]], px=80),
                 caption="nearest test images by code: " + ", ".join(f"#{i}" for i in idx[0]),
                 width="content", output_format="PNG")
        b1, b2, b3, _ = st.columns([1, 1.6, 1.6, 1.8])
        if b1.button("Edit", icon=":material/tune:", key=f"upload_edit_{name}", width="stretch"):
            common.send("edit", pool=name)
        if b2.button("Interpolate from it", icon=":material/timeline:", key=f"upload_a_{name}",
                     width="stretch", help="…to its nearest test image"):
            common.send("interpolate", a={"pool": name}, b={"index": int(idx[0][0])})
        if b3.button("Interpolate to it", icon=":material/timeline:", key=f"upload_b_{name}",
                     width="stretch", help="…from its nearest test image"):
            common.send("interpolate", a={"index": int(idx[0][0])}, b={"pool": name})


def show_map(model, lat, names: list[str], z: np.ndarray) -> None:
    fitted, xy = common.get_map(model, "pca")
    values = lat.recon_error
    fig = draw.map_figure(xy, values, "reconstruction error", [f"{e:.4f}" for e in values], height=440)
    st.plotly_chart(draw.add_marks(fig, fitted.transform(z), names), key="upload_map")
    st.caption("Your images (stars) placed on the PCA map of the test codes, coloured by each test "
               "image's reconstruction error: an image far from every point is unlike the training data.")


def main() -> None:
    model = common.current_model()
    common.page_header("Upload", "Drop your own images: see how the model reconstructs them, where the "
                       "error is, which real images have the nearest codes, and where they land on the map.")
    fit, invert = options(model)
    files = st.file_uploader("Images", type=common.UPLOAD_TYPES, accept_multiple_files=True,
                             key="upload_files")
    if not files:
        st.info("Drop one or more PNG / JPEG / GIF / BMP / WebP / TIFF files above.")
        return
    accepted = preprocess(model, files, fit, invert)
    if not accepted:
        return
    common.pool(model).update(accepted)  # Edit and Interpolate can use them too
    data, lat = common.dataset(model), common.latents(model)
    z = common.encode(model, torch.cat(list(accepted.values())))
    for (name, x), code in zip(accepted.items(), z):
        show_one(model, data, lat, name, x, code)
    show_map(model, lat, list(accepted), z)


main()
