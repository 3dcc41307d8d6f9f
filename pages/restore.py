"""Restore: corrupt an image, then let several models restore it, by encode–decode (the
denoising-autoencoder view, Vincent et al. 2008) and by latent optimisation (Bora et al. 2017)."""

import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image

from latentlab import analyses, render
from latentlab.metrics.restoration import (
    add_gaussian_noise,
    add_salt_and_pepper,
    mask_from_array,
    mask_region,
    psnr,
    restore_by_reconstruction,
    ssim,
)
from latentlab.render import scale_for
from latentlab.ui import resources as res
from latentlab.ui import state, tasks, widgets
from latentlab.ui.glossary import TERMS
from latentlab.zoo import datasets_by_name, whole_dataset

CORRUPTIONS = ("Gaussian noise", "salt and pepper", "rectangle", "painted mask")
DEFAULT_FAMILIES = ("ae", "dae")  # a plain AE beside a denoising one
PX = 140  # px of each image side by side
CANVAS = 280  # px of the painting canvas


def same_data(model) -> list[str]:
    """Zoo checkpoints of the sidebar model's whole dataset (any `keep`): they take the same images."""
    mine = whole_dataset(model.info.dataset)
    return [name for name, ds in datasets_by_name().items() if whole_dataset(ds) == mine]


def pick_models(model) -> list:
    names = same_data(model)
    ds = model.info.dataset["name"]
    default = [model.info.name] + [n for f in DEFAULT_FAMILIES if (n := f"{ds}_{f}") in names and n != model.info.name]
    chosen = st.multiselect("Models", names, default=default[:3], max_selections=4, key="rs_models",
                            bind="query-params", help="Checkpoints of the same dataset, restoring the same image.")
    if not chosen:
        st.warning("Pick one to four models.")
        st.stop()
    return res.load_models(chosen)


def take_upload(model) -> None:
    files = st.file_uploader("Or add your own image (then pick it under 'My images')", type=state.UPLOAD_TYPES,
                             accept_multiple_files=True, key="rs_upload")
    for text in state.add_uploads(model, files)[1] if files else []:
        st.error(text, icon=":material/block:")


# -- corruption ------------------------------------------------------------------------------------
def corrupt(x: torch.Tensor, ref_param: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """The picked image `[1, C, H, W]` corrupted as the widgets say -> (x_corrupt, mask
    `[1, 1, H, W]` of the missing pixels or None, a short description)."""
    h, w = x.shape[-2:]
    c1, c2 = st.columns([1, 2])
    kind = c1.radio("Corruption", CORRUPTIONS, key="rs_kind", bind="query-params")
    with c2:
        if kind == CORRUPTIONS[2]:
            rows = st.slider("Rows hidden", 0, h, (h // 4, 3 * h // 4), key="rs_rows", bind="query-params")
            cols = st.slider("Columns hidden", 0, w, (w // 4, 3 * w // 4), key="rs_cols", bind="query-params")
            if rows[1] <= rows[0] or cols[1] <= cols[0]:
                st.warning("The rectangle is empty: widen its rows and columns.")
                st.stop()
            xc, mask = mask_region(x, box=(rows[0], cols[0], rows[1] - rows[0], cols[1] - cols[0]))
            return xc, mask, f"rows {rows[0]}–{rows[1] - 1}, columns {cols[0]}–{cols[1] - 1} hidden"
        if kind == CORRUPTIONS[3]:
            xc, mask = mask_from_array(paint_mask(x, ref_param), x)
            return xc, mask, f"{int(mask.sum())} painted pixels hidden"
        if kind == CORRUPTIONS[0]:
            sigma = st.slider("Noise σ", 0.05, 1.0, 0.3, 0.05, key="rs_sigma", bind="query-params")
            seed = int(st.number_input("Noise seed", 0, 10_000, 0, key="rs_seed", bind="query-params"))
            return add_gaussian_noise(x, sigma, seed), None, f"Gaussian noise σ = {sigma:g}"
        amount = st.slider("Share of pixels hit", 0.05, 0.9, 0.2, 0.05, key="rs_amount", bind="query-params")
        seed = int(st.number_input("Noise seed", 0, 10_000, 0, key="rs_seed", bind="query-params"))
        xc, mask = add_salt_and_pepper(x, amount, seed)
        return xc, mask, f"salt and pepper on {amount:.0%} of the pixels"


def paint_mask(x: torch.Tensor, ref_param: str) -> np.ndarray:
    """A mask `[H, W]` (True = hidden) painted over the image on a canvas; stops the page until
    something is painted."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.warning("Painting needs streamlit-drawable-canvas (`pip install -r requirements.txt`); "
                   "hide a rectangle instead.")
        st.stop()
    h, w = x.shape[-2:]
    s = scale_for(w, CANVAS)
    brush = st.slider("Brush width (image pixels)", 1, max(2, w // 6), max(1, w // 14), key="rs_brush")
    st.caption("Drag over the image to hide pixels (the canvas has undo and clear). A painted mask is not "
               "kept in the page's link.")
    painted = st_canvas(stroke_width=brush * s, stroke_color="rgba(255, 60, 60, 0.85)", drawing_mode="freedraw",
                        background_image=render.to_pil(x[0], s), height=h * s, width=w * s,
                        return_image_data=True, key=f"rs_canvas_{ref_param}")
    rgba = painted.image_data
    if rgba is None or not rgba[..., 3].any():
        st.info("Paint over the image to hide some pixels.")
        st.stop()
    coverage = np.asarray(Image.fromarray(rgba[..., 3].astype(np.uint8)).resize((w, h), Image.BOX))
    return coverage > 64  # a pixel is hidden when about a quarter of it or more is painted


# -- restoration -----------------------------------------------------------------------------------
def keep_observed(restored: torch.Tensor, xc: torch.Tensor, mask) -> torch.Tensor:
    """Where the missing pixels are known, keep the visible ones as they are."""
    return restored if mask is None else torch.where(mask, restored, xc)


def encode_decode(model, xc: torch.Tensor, mask) -> torch.Tensor:
    with torch.inference_mode():
        return keep_observed(restore_by_reconstruction(model, xc).clone(), xc, mask)


def latent_optimised(model, xc: torch.Tensor, mask, steps: int) -> torch.Tensor | None:
    """The latent-optimisation restoration from the cache, or None while its background task runs
    (its progress bar and Cancel are drawn here)."""
    xc_np, mask_np = xc.numpy(), None if mask is None else mask.numpy()
    found = tasks.result(lambda: analyses.read_restoration(model, xc_np, mask_np, steps),
                         f"restore-{analyses.restoration_key(model, xc_np, mask_np, steps)}",
                         "latentlab.analyses:restore_latent",
                         {"ref": model.info.name, "x_corrupt": xc_np, "mask": mask_np, "steps": steps},
                         f"{model.info.name}: latent optimisation, {steps} steps")
    return None if found is None else keep_observed(found, xc, mask)


def shown_px(image: torch.Tensor) -> int:
    """The rendered width: an explicit width keeps a long caption from stretching the image."""
    return scale_for(image.shape[-1], PX) * image.shape[-1]


def quality(restored: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    return float(psnr(restored, x)[0]), float(ssim(restored, x)[0])


def show(col, image: torch.Tensor, x: torch.Tensor, name: str, table: list, model: str) -> None:
    p, s = quality(image, x)
    col.image(render.png(image, px=PX), caption=f"{name} · {p:.2f} dB · SSIM {s:.3f}", width=shown_px(image),
              output_format="PNG")
    table.append({"model": model, "image": name, "PSNR (dB)": round(p, 2), "SSIM": round(s, 3)})


def main() -> None:
    model = res.current_model()
    widgets.page_header("Restore", "Corrupt an image, then restore it: once through each model "
                        "(encode–decode) and by searching the code whose decoding fits the visible pixels "
                        "(latent optimisation). Denoising AEs beside plain ones.")
    models = pick_models(model)
    data = res.dataset(model)
    take_upload(model)
    picked = widgets.sample_picker(model, data, "rs")
    xc, mask, what = corrupt(picked.x, picked.ref.param)
    steps = int(st.select_slider("Latent-optimisation steps", [50, 100, 200, 500, 1000], value=200, key="rs_steps",
                                 bind="query-params", help=TERMS["latent optimisation"]))
    x, table, sheet = picked.x, [], []
    st.subheader(f"{picked.label}: {what}")
    label, c0, c1, _ = st.columns(4, vertical_alignment="center")
    label.markdown(f"**input**  \n:small[:gray[{picked.label}]]")
    c0.image(render.png(x, px=PX), caption="original", width=shown_px(x), output_format="PNG")
    show(c1, xc, x, "corrupted", table, "–")
    for m in models:
        label, c_dec, c_opt, _ = st.columns(4, vertical_alignment="center")
        label.markdown(f"**{m.label}**  \n:small[:gray[{m.info.name}]]")
        decoded = encode_decode(m, xc, mask)
        show(c_dec, decoded, x, "encode–decode", table, m.info.name)
        with c_opt:
            optimised = latent_optimised(m, xc, mask, steps)
        if optimised is not None:
            show(c_opt, optimised, x, "latent optimisation", table, m.info.name)
            sheet.append(torch.cat([xc, decoded, optimised]))
    st.dataframe(pd.DataFrame(table), hide_index=True)
    st.caption("PSNR and SSIM against the original (higher is better). "
               + ("Where the missing pixels are known, both restorations keep the visible pixels as they are "
                  "and fill in only the missing ones. " if mask is not None else "")
               + "Latent optimisation: Adam from the encoder's code, learning rate 0.05, a small pull of the "
                 "code towards 0 (weight 0.001), seed 0.")
    if sheet:
        st.download_button("PNG (rows: corrupted, encode–decode, latent optimisation per model)",
                           render.png(torch.cat(sheet), ncol=3, px=PX), file_name=f"{model.info.name}-restore.png",
                           mime="image/png", icon=":material/download:", on_click="ignore", key="rs_png")


main()
