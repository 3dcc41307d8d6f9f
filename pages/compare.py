"""Compare: two to four models of one dataset, side by side on exactly the same inputs."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from latentlab import render
from latentlab.latent import direction_sweep, path
from latentlab.latent.labels import colour_names, contrasting_index, is_categorical, label_text
from latentlab.ui import draw, sidebar, widgets
from latentlab.ui import resources as res

DEFAULT_FAMILIES = ("ae", "vae", "pca")
STRENGTHS = np.linspace(-2.0, 2.0, 5)
DIRECTION_METHODS = {"least leaking": None, "mean difference": "mean_difference", "classifier normal": "logistic"}


def pick_models(model) -> list:
    ds = model.info.dataset["name"]
    rows = sorted((r for r in sidebar.zoo_rows() if r["dataset"] == ds), key=sidebar.rank)
    names = [r["name"] for r in rows]
    default = [n for fam in DEFAULT_FAMILIES for n in names if n == f"{ds}_{fam}"] or names[:3]
    chosen = st.multiselect("Models", names, default=default, max_selections=4, key="models",
                            bind="query-params")
    if len(chosen) < 2:
        st.warning(f"Pick two to four models to compare ({len(names)} {'is' if len(names) == 1 else 'are'} trained on {ds}).")
        st.stop()
    return res.load_models(chosen)


def metrics(models) -> None:
    table = pd.DataFrame([{"model": m.info.name, "family": m.label, "latent size": m.latent_dim,
                           **{label: widgets.metric_text(k, m.info.test_metrics.get(k))
                              for k, (label, _, _) in widgets.METRICS.items()}} for m in models])
    st.dataframe(table, hide_index=True, width="stretch", column_config=widgets.metric_columns())


def reconstructions(models, x) -> None:
    st.subheader("Reconstructions")
    widgets.image_row("input", render.png(x, px=widgets.TILE))
    for m in models:
        widgets.image_row(m.label, render.png(res.reconstruct(m, x), px=widgets.TILE), m.info.name)


def interpolations(models, xa, xb, steps: int) -> None:
    st.subheader("The same interpolation")
    for m in models:
        codes = path(res.encode(m, torch.cat([xa, xb])), steps).numpy()
        widgets.image_row(m.label, render.png(res.decode(m, codes), px=widgets.TILE), m.info.name)


def attribute_edits(models, data, x) -> None:
    st.subheader("The same attribute edit")
    label = st.radio("Direction", list(DIRECTION_METHODS), horizontal=True, key="compare_dir", bind="query-params")
    method = DIRECTION_METHODS[label]
    dirs = {m.info.name: res.directions(m) for m in models}
    if any(d is None for d in dirs.values()):
        st.caption("This dataset has no labels to fit attribute directions on.")
        return
    names = list(next(iter(dirs.values())).directions_)
    name = st.selectbox("Attribute", names, key="attr", bind="query-params")
    st.caption(f"Each model's own '{name}' direction, applied at {', '.join(f'{s:+g}' for s in STRENGTHS)} "
               "standard deviations.")
    for m in models:
        d = dirs[m.info.name]
        if name not in d.directions_:
            st.caption(f"{m.label} ({m.info.name}) has no '{name}' direction.")
            continue
        images = direction_sweep(m, res.encode(m, x)[0], d.step(name, method), STRENGTHS)
        measured = d.measured(name, method)
        widgets.image_row(m.label, render.png(images, px=widgets.TILE),
                          f"{m.info.name} · moves it {measured['slope']:.2f}, leaks {measured['leakage']:.2f} per step")


def maps(models, colour: str) -> None:
    st.subheader("Their maps")
    cols = st.columns(len(models))
    for col, m in zip(cols, models):
        lat, (_, xy) = res.latents(m), res.get_map(m, "pca")
        cats = res.categories(m)
        values = np.asarray(lat.labels[colour])
        fig = draw.map_figure(xy, values, colour, label_text(colour, values, cats),
                              is_categorical(colour, values, cats), height=320, show_legend=False)
        col.markdown(f"**{m.label}** · {m.info.name}")
        col.plotly_chart(fig, key=f"compare_map_{m.info.name}")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Compare", "Several models of the same dataset on the same test images, the same "
                        "interpolation and the same attribute edit.")
    models = pick_models(model)
    data = res.dataset(model)
    metrics(models)
    n = len(data.x_test)
    c1, c2, c3 = st.columns(3)
    seed = int(c1.number_input("Seed for the inputs", 0, 10_000, 0, key="inputs", bind="query-params"))
    a = int(c2.number_input(f"Interpolate from (0–{n - 1})", 0, n - 1, 0, key="from", bind="query-params"))
    b = int(c3.number_input(f"…to (0–{n - 1})", 0, n - 1, contrasting_index(res.latents(model).labels),
                            key="to", bind="query-params"))
    idx = np.random.default_rng(seed).choice(n, size=8, replace=False)
    reconstructions(models, data.x_test[idx])
    interpolations(models, data.x_test[a:a + 1], data.x_test[b:b + 1], 8)
    attribute_edits(models, data, data.x_test[a:a + 1])
    labels = colour_names(res.latents(model).labels)
    if labels:
        maps(models, st.selectbox("Colour maps by", labels, key="compare_colour", bind="query-params"))


main()
