"""Compare: two to four models of one dataset, side by side on exactly the same inputs."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from latentlab import LatentlabError
from latentlab.latent import direction_sweep
from pages import common, draw, sidebar

DEFAULT_FAMILIES = ("ae", "vae", "pca")
STRENGTHS = np.linspace(-2.0, 2.0, 5)


def pick_models(model) -> list:
    ds = model.info.dataset["name"]
    rows = sorted((r for r in sidebar.zoo_rows() if r["dataset"] == ds), key=sidebar.rank)
    names = [r["name"] for r in rows]
    default = [n for fam in DEFAULT_FAMILIES for n in names if n == f"{ds}_{fam}"] or names[:3]
    family = {r["name"]: r["label"] for r in rows}
    chosen = common.kept(st.multiselect, "Models", f"compare_models_{ds}", default, options=names,
                         max_selections=4, format_func=lambda n: f"{n} · {family[n]}")
    if len(chosen) < 2:
        st.warning(f"Pick two to four models to compare ({len(names)} are trained on {ds}).")
        st.stop()
    try:
        return [common.load_model(n) for n in chosen]
    except LatentlabError as exc:
        st.error(str(exc))
        st.stop()


def row(label: str, png: bytes, note: str = "") -> None:
    """One labelled strip: the label (and a small note) left, the images right."""
    c1, c2 = st.columns([1, 6], vertical_alignment="center")
    c1.markdown(f"**{label}**" + (f"  \n:small[:gray[{note}]]" if note else ""))
    c2.image(png, width="content", output_format="PNG")


def metrics(models) -> None:
    shown = ("mse", "psnr", "neg_elbo", "active_units")
    table = pd.DataFrame([{"model": m.info.name, "family": m.label, "latent size": m.latent_dim,
                           **{k: m.info.test_metrics.get(k) for k in shown}} for m in models])
    names = {"mse": "test MSE", "psnr": "PSNR (dB)", "neg_elbo": "−ELBO", "active_units": "active units"}
    formats = {"test MSE": "%.4f", "PSNR (dB)": "%.1f", "−ELBO": "%.1f", "active units": "%d"}
    st.dataframe(table.rename(columns=names), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format=f) for k, f in formats.items()})


def reconstructions(models, x: torch.Tensor) -> None:
    st.subheader("Reconstructions")
    row("input", draw.strip(x))
    for m in models:
        row(m.label, draw.strip(common.reconstruct(m, x)), m.info.name)


def interpolations(models, xa, xb, steps: int) -> None:
    st.subheader("The same interpolation")
    for m in models:
        _, frames = common.latent_path(m, xa, xb, steps, "linear")
        row(m.label, draw.strip(frames), m.info.name)


def attribute_edits(models, data, x: torch.Tensor) -> None:
    st.subheader("The same attribute edit")
    method = common.direction_method(st, "compare_direction_method")
    dirs = {m.info.name: common.directions(m, data, method) for m in models}
    if any(d is None for d in dirs.values()):
        st.caption("This dataset has no labels to fit attribute directions on.")
        return
    names = list(next(iter(dirs.values())).directions_)
    name = common.kept(st.selectbox, "Attribute", "compare_attribute", names[0], options=names)
    st.caption(f"Each model's own '{name}' direction, applied at {', '.join(f'{s:+g}' for s in STRENGTHS)} "
               "standard deviations.")
    for m in models:
        d = dirs[m.info.name]
        z = common.encode(m, x)[0]
        images = direction_sweep(m, z, d.directions_[name] * d.scale_[name], STRENGTHS)
        row(m.label, draw.strip(images), f"{m.info.name} · probe accuracy {d.accuracy_[name]:.0%}")


def maps(models, colour: str) -> None:
    st.subheader("Their maps")
    cols = st.columns(len(models))
    for col, m in zip(cols, models):
        lat, (_, xy) = common.latents(m), common.get_map(m, "pca")
        cats = common.categories(m)
        values = np.asarray(lat.labels[colour])
        fig = draw.map_figure(xy, values, colour, common.label_text(colour, values, cats),
                              common.is_categorical(colour, values, cats), height=320, show_legend=False)
        col.markdown(f"**{m.label}** · {m.info.name}")
        col.plotly_chart(fig, key=f"compare_map_{m.info.name}")


def main() -> None:
    model = common.current_model()
    common.page_header("Compare", "Several models of the same dataset on the same test images, the same "
                       "interpolation and the same attribute edit.")
    models = pick_models(model)
    data = common.dataset(model)
    metrics(models)
    n, ds = len(data.x_test), model.info.dataset["name"]
    c1, c2, c3 = st.columns(3)
    seed = int(c1.number_input("Seed for the inputs", 0, 10_000, 0, key="compare_seed"))
    a = int(c2.number_input(f"Interpolate from (0–{n - 1})", 0, n - 1, 0, key=f"compare_a_{ds}"))
    b = int(c3.number_input(f"…to (0–{n - 1})", 0, n - 1, common.contrasting_index(common.latents(model).labels),
                            key=f"compare_b_{ds}"))
    idx = np.random.default_rng(seed).choice(n, size=8, replace=False)
    reconstructions(models, data.x_test[idx])
    interpolations(models, data.x_test[a:a + 1], data.x_test[b:b + 1], 8)
    attribute_edits(models, data, data.x_test[a:a + 1])
    labels = common.label_names(common.latents(model).labels)
    if labels:
        maps(models, common.kept(st.selectbox, "Colour maps by", "compare_colour", labels[0], options=labels))


main()
