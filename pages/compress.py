"""Compress: an image through the learned codec (Ballé et al. 2017) into real bytes, beside JPEG
and WebP files of at most the same size; download the bytes, or decode a downloaded file."""

import streamlit as st

from latentlab import LatentlabError, render
from latentlab.codec.compare import compare, decode_upload, rates
from latentlab.ui import resources as res
from latentlab.ui import state, widgets
from latentlab.ui.sidebar import zoo_rows

PX = 192  # px of each image shown side by side


def pick_codec(current) -> object | None:
    """The codec to use: the sidebar's model if it is one, else a codec of the same dataset."""
    rows = [r for r in zoo_rows() if r["family"] == "codec"]
    if not rows:
        st.warning("No codec checkpoint in `checkpoints/` (train one: `configs/*_codec_*.json`).")
        return None
    ds = current.info.dataset["name"]
    names = [r["name"] for r in sorted(rows, key=lambda r: (r["dataset"] != ds, r["name"]))]
    default = current.info.name if current.info.name in names else names[0]
    name = st.selectbox("Codec", names, index=names.index(default), key="compress_codec",
                        help="One checkpoint per rate–distortion weight λ; the sidebar's model is used "
                             "when it is a codec.")
    return res.load_model(name)


def pick_rate(codec) -> int:
    """The quantisation step: a larger Δ means fewer bytes and a coarser image."""
    ladder = rates(codec)
    labels = [f"Δ = {step:g}" + (" (trained)" if step == 1.0 else "") for _, step in ladder]
    chosen = st.select_slider("Rate (quantisation step; right = fewer bytes)", labels,
                              value=labels[[s for _, s in ladder].index(1.0)], key="compress_rate")
    return ladder[labels.index(chosen)][0]


def take_upload(codec) -> None:
    files = st.file_uploader("Or add your own image", type=state.UPLOAD_TYPES, accept_multiple_files=True,
                             key="compress_upload")
    if files:
        _, refused = state.add_uploads(codec, files)
        for text in refused:
            st.error(text, icon=":material/block:")


def show_result(codec, result) -> None:
    panels = [("original", result.original), (f"codec: {result.n_bytes} bytes", result.decoded)]
    for name, coded in (("JPEG", result.jpeg), ("WebP", result.webp)):
        panels.append((f"{name} q={coded.quality}: {coded.n_bytes} bytes", coded.image) if coded else
                      (f"{name}: no file ≤ {result.n_bytes} bytes", None))
    for col, (caption, image) in zip(st.columns(4), panels):
        if image is None:
            col.info(caption)
        else:
            col.image(render.png(image, px=PX), caption=caption, width="content", output_format="PNG")
    table = [{k: (_cell(v) if k != "method" else v) for k, v in row.items()} for row in result.rows()]
    st.dataframe(table, hide_index=True)
    st.caption("JPEG and WebP: the largest file of at most the codec's bytes over every quality, whole "
               "files with their headers (JPEG's alone is ~125+ bytes); the codec's bytes include its "
               "13-byte header and checksum.")
    st.download_button("Download the bytes", data=result.data, file_name=f"{codec.info.name}.llc",
                       mime="application/octet-stream", icon=":material/download:", on_click="ignore",
                       key="compress_download")


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def decode_section(codec) -> None:
    with st.expander("Decode a downloaded file"):
        f = st.file_uploader("A .llc file made by this codec", key="compress_decode")
        if f is None:
            return
        try:
            image = decode_upload(codec, f.getvalue())
        except LatentlabError as exc:
            st.error(f"{f.name}: {exc}", icon=":material/block:")
            return
        st.image(render.png(image, px=PX), caption=f"decoded {f.name} ({f.size} bytes)", width="content",
                 output_format="PNG")


def main() -> None:
    widgets.page_header("Compress", "A learned codec turns the image into real bytes; JPEG and WebP get "
                        "the same byte budget. Move the rate and compare.")
    codec = pick_codec(res.current_model())
    if codec is None:
        return
    take_upload(codec)
    picked = widgets.sample_picker(codec, res.dataset(codec), "sample")
    step_index = pick_rate(codec)
    try:
        with st.spinner("Coding…"):
            result = compare(codec, picked.x[0], step_index)
    except LatentlabError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    show_result(codec, result)
    decode_section(codec)


main()
