"""The sidebar: dataset -> checkpoint picker and the checkpoint's card. Not a page."""

from __future__ import annotations

import json

import streamlit as st

from latentlab import LatentlabError
from latentlab.checkpoint import ZOO_DIR, zoo_names
from pages.common import kept, load_model

DATASET_ORDER = ("mnist", "faces", "shapes")
FAMILY_ORDER = ("AE", "DAE", "VAE", "β-VAE", "PCA")  # checkpoint labels, in picker order


def zoo_rows() -> list[dict]:
    """name, dataset, family label and architecture of every zoo checkpoint, from config.json only.

    (latentlab.zoo.zoo_table has the metrics too, but importing latentlab.zoo costs ~1.5 s of
    torchvision import on the first page of a fresh process.)
    """
    rows = []
    for name in zoo_names():
        try:
            config = json.loads((ZOO_DIR / name / "config.json").read_text())
            rows.append({"name": name, "dataset": config["dataset"]["name"],
                         "family": config.get("label", config["architecture"]),
                         "architecture": config["architecture"]})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            st.sidebar.error(f"checkpoints/{name}/config.json is unreadable: {exc}")
    return rows


def rank(row: dict) -> tuple:
    """Sort key: AE, DAE, VAE, β-VAEs, PCA, then anything else; by name within a family."""
    label = row["family"]
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
    labels = {r["name"]: r["family"] for r in rows}
    name = kept(st.sidebar.selectbox, "Checkpoint", f"pick_ckpt_{ds}", names[0], options=names,
                format_func=lambda n: f"{n} · {labels[n]}")
    st.session_state["model_name"] = name
    model_card(next(r for r in rows if r["name"] == name))
    return name


METRICS = {"mse": ("test MSE", "{:.4f}"), "psnr": ("PSNR", "{:.1f} dB"), "neg_elbo": ("−ELBO", "{:.1f}"),
           "active_units": ("active units", "{}")}


def model_card(row: dict) -> None:
    """Family, latent size, training data and test metrics of one checkpoint."""
    try:
        model = load_model(row["name"])
    except LatentlabError as exc:
        st.sidebar.error(f"{row['name']}: {exc}")
        return
    training, found = model.info.training, model.info.test_metrics
    metrics = [(label, fmt.format(found[k])) for k, (label, fmt) in METRICS.items() if found.get(k) is not None]
    trained = f"trained on **{row['dataset']}**"
    if training.get("config", {}).get("epochs"):
        trained += f" for {training['config']['epochs']} epochs"
    if training.get("seconds"):
        trained += f" ({training['seconds']:.0f} s)"
    with st.sidebar.container(border=True):
        st.markdown(f"**{model.label}** · {model.latent_dim}-d latent · `{row['architecture']}`")
        st.caption(trained)
        st.markdown("\n".join(f"- {k}: **{v}**" for k, v in metrics))
        st.caption(f"checkpoint hash `{model.info.hash}`")
