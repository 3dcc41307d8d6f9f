"""The sidebar: dataset -> checkpoint picker and the checkpoint's card. Not a page."""

from __future__ import annotations

import streamlit as st

from latentlab import LatentlabError
from latentlab.zoo import METRICS, zoo_table
from pages.common import kept, load_model

DATASET_ORDER = ("mnist", "faces", "shapes")
FAMILY_ORDER = ("AE", "DAE", "VAE", "β-VAE", "PCA")  # checkpoint labels, in picker order


def zoo_rows() -> list[dict]:
    """The zoo's rows (name, dataset, family, label, metrics); entries that cannot be
    listed are named in the sidebar with the reason."""
    rows, problems = zoo_table()
    for problem in problems:
        st.sidebar.error(f"Skipped {problem}")
    return rows


def rank(row: dict) -> tuple:
    """Sort key: AE, DAE, VAE, β-VAEs, PCA, then anything else; by name within a family."""
    label = row["label"]
    return (next((i for i, f in enumerate(FAMILY_ORDER) if label.startswith(f)), len(FAMILY_ORDER)), row["name"])


def model_picker() -> str | None:
    """Dataset -> checkpoint in the sidebar, plus a card; the choice is kept in session_state."""
    rows = zoo_rows()
    if not rows:
        st.sidebar.warning("No checkpoints found in `checkpoints/`.")
        return None
    datasets = sorted({r["dataset"] for r in rows},
                      key=lambda d: (DATASET_ORDER.index(d) if d in DATASET_ORDER else 9, d))
    ds = kept(st.sidebar.selectbox, "Dataset", "pick_dataset", datasets[0], options=datasets)
    names = [r["name"] for r in sorted((r for r in rows if r["dataset"] == ds), key=rank)]
    labels = {r["name"]: r["label"] for r in rows}
    name = kept(st.sidebar.selectbox, "Checkpoint", f"pick_ckpt_{ds}", names[0], options=names,
                format_func=lambda n: f"{n} · {labels[n]}")
    st.session_state["model_name"] = name
    model_card(next(r for r in rows if r["name"] == name))
    return name


CARD_METRICS = ("mse", "psnr", "neg_elbo", "active_units")  # keys of latentlab.zoo.METRICS


def model_card(row: dict) -> None:
    """Family, latent size, training data and test metrics of one checkpoint."""
    try:
        model = load_model(row["name"])
    except LatentlabError as exc:
        st.sidebar.error(f"{row['name']}: {exc}")
        return
    training, found = model.info.training, model.info.test_metrics
    metrics = [(METRICS[k].label, METRICS[k].format(found[k])) for k in CARD_METRICS if found.get(k) is not None]
    trained = f"trained on **{row['dataset']}**"
    if training.get("config", {}).get("epochs"):
        trained += f" for {training['config']['epochs']} epochs"
    if training.get("seconds"):
        trained += f" ({training['seconds']:.0f} s)"
    with st.sidebar.container(border=True):
        st.markdown(f"**{model.label}** · {model.latent_dim}-d latent · `{row['family']}`")
        st.caption(trained)
        st.markdown("\n".join(f"- {k}: **{v}**" for k, v in metrics))
        st.caption(f"checkpoint hash `{model.info.hash}`")
