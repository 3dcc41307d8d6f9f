"""The sidebar: dataset -> checkpoint picker and the checkpoint's card.

The dataset and checkpoint are bound to the URL (`?data=faces&ckpt=faces_vae`), so a copied link
opens the same model;
an unknown name in a link falls back to the default with a notice. Entries that cannot be listed
are named with their reason and are never the default.
"""

from __future__ import annotations

import streamlit as st

from latentlab import LatentlabError
from latentlab.ui import resources as res
from latentlab.ui import state
from latentlab.ui.widgets import METRICS, metric_text
from latentlab.zoo import zoo_table

DATASET_ORDER = ("mnist", "faces", "shapes")
FAMILY_ORDER = ("AE", "DAE", "VAE", "β-VAE", "PCA")  # checkpoint labels, in picker order


def zoo_rows() -> list[dict]:
    """The zoo's listable rows; the entries that cannot be listed are named in an expander."""
    rows, problems = zoo_table()
    if problems:
        with st.sidebar.expander(f"{len(problems)} checkpoint folder(s) skipped", icon=":material/warning:"):
            for problem in problems:
                st.text(problem)  # as text: a folder name is never rendered as markdown
    return rows


def rank(row: dict) -> tuple:
    """Sort key: AE, DAE, VAE, β-VAEs, PCA, then anything else; by name within a family."""
    label = row["label"]
    return (next((i for i, f in enumerate(FAMILY_ORDER) if label.startswith(f)), len(FAMILY_ORDER)), row["name"])


def _dataset_key(name: str) -> tuple:
    return (DATASET_ORDER.index(name) if name in DATASET_ORDER else len(DATASET_ORDER), name)


def model_picker() -> str | None:
    """Dataset -> checkpoint, plus a card; the choice is in the URL (`ckpt`) and session_state."""
    rows = zoo_rows()
    if not rows:
        st.sidebar.warning("No checkpoints found in `checkpoints/`.")
        return None
    dataset_of = {r["name"]: r["dataset"] for r in rows}
    linked = st.query_params.get("ckpt")
    if linked and linked not in dataset_of:
        state.notice(f"The link's checkpoint {linked[:40]!r} is not in this zoo; showing the default.")
    elif linked and st.session_state.get("_linked_ckpt") != linked:
        st.session_state["data"] = dataset_of[linked]  # follow the link to its dataset
    st.session_state["_linked_ckpt"] = linked
    datasets = sorted(set(dataset_of.values()), key=_dataset_key)
    # Both are bound to the URL: a bound widget leaves its default out of the URL, so a link to a
    # dataset's first checkpoint (`?data=faces`, no `ckpt`) needs the dataset to reopen that model.
    ds = st.sidebar.selectbox("Dataset", datasets, key="data", bind="query-params", persist_state="session")
    names = [r["name"] for r in sorted((r for r in rows if r["dataset"] == ds), key=rank)]
    # Plain names: a bound widget writes its displayed option into the URL (`?ckpt=mnist_vae`).
    name = st.sidebar.selectbox("Checkpoint", names, key="ckpt", bind="query-params")
    st.session_state["model_name"] = name
    model_card(next(r for r in rows if r["name"] == name))
    return name


def model_card(row: dict) -> None:
    """Family, latent size, training data and test metrics of one checkpoint."""
    try:
        model = res.load_model(row["name"])
    except LatentlabError as exc:
        st.sidebar.error(f"{row['name']}: {exc}")
        return
    training, found = model.info.training, model.info.test_metrics
    shown = [(label, metric_text(k, found[k]), help_) for k, (label, _, help_) in METRICS.items() if k in found]
    epochs = training.get("config", {}).get("epochs")
    if model.closed_form:
        trained = f"fitted in closed form on **{row['dataset']}**"
    else:
        trained = f"trained on **{row['dataset']}**" + (f" for {epochs} epochs" if epochs else "")
        if training.get("seconds"):
            trained += f" ({training['seconds']:.0f} s)"
    with st.sidebar.container(border=True):
        st.markdown(f"**{model.label}** · {model.latent_dim}-d latent · `{row['family']}`")
        st.caption(trained)
        st.markdown("\n".join(f"- {label}: **{value}**" for label, value, _ in shown))
        st.caption(f"checkpoint hash `{model.info.hash}`")
