"""Anomaly: say what is normal, fit a score to it, and see how well it tells normal from the rest.

The one-class protocol of Ruff et al. 2018: the score is fitted on normal training images only,
the whole test split is scored, AUROC counts normal test images as negatives."""

import numpy as np
import streamlit as st
import torch

from latentlab import LatentlabError, analyses, render
from latentlab.datasets import EMBEDDED, load_dataset
from latentlab.latent.labels import label_names, value_groups
from latentlab.metrics.one_class import SCORES, Normal, available_scores, heatmap, normal_of, score_image
from latentlab.ui import draw, state, tasks, widgets
from latentlab.ui import resources as res
from latentlab.ui.glossary import TERMS
from latentlab.zoo import datasets_by_name, whole_dataset

MODES = ("a label's values", "the whole dataset")
REFERENCES = (200, 500, 1000, 2000)  # normal training images a score is fitted on, at most
EXPLAIN = {"recon": TERMS["reconstruction error"], "relative": TERMS["relative error"],
           "latent": TERMS["latent density"], "combined": TERMS["combined score"], "elbo": TERMS["−ELBO"]}


# -- what is normal --------------------------------------------------------------------------------
def pick_normal(model, data) -> Normal:
    whole = whole_dataset(model.info.dataset)
    name, options = whole["name"], whole["options"]
    trained = normal_of(model)
    mode = st.radio("Normal is", MODES, horizontal=True, key="an_mode", bind="query-params")
    if mode == MODES[1]:
        other = st.selectbox(f"All of {name} is normal; anomalies are the test images of", [
            d for d in EMBEDDED if d != name], key="an_other", bind="query-params")
        return Normal(name, other=other, options=options)
    labels = label_names(data.labels_train)
    if not labels:
        st.info(f"{name} has no labels: pick '{MODES[1]}'.")
        st.stop()
    default = trained.label if trained else next((n for n in labels if n in data.categories), labels[0])
    c1, c2 = st.columns([1, 2])
    label = c1.selectbox("Label", labels, index=labels.index(default), key="an_label", bind="query-params")
    choices = value_groups(label, data.labels_train[label], data.categories)
    first = [t for t, v in choices.items() if trained and trained.label == label and set(v) <= set(trained.values)]
    # One widget per label (its key in the URL: ?an_digit=3): values of another label never linger.
    chosen = c2.multiselect(f"Normal values of {label}", list(choices), default=first or list(choices)[:1],
                            key=f"an_{label}", bind="query-params")
    if not chosen:
        st.warning(f"Pick at least one value of {label} as normal.")
        st.stop()
    values = tuple(v for text in chosen for v in choices[text])
    if np.isin(data.labels_test[label], values).all():
        st.warning("Every test image would be normal: leave at least one value out.")
        st.stop()
    return Normal(name, label, values, options=options)


def one_class_checkpoints(normal: Normal) -> list[str]:
    """Zoo checkpoints trained only on exactly this normal data."""
    def kept(ds: dict) -> dict:
        return ds.get("options", {}).get("keep") or {}

    wanted = sorted(map(float, normal.values))
    return [name for name, ds in datasets_by_name().items() if normal.label and ds["name"] == normal.dataset
            and list(kept(ds)) == [normal.label] and sorted(map(float, kept(ds)[normal.label])) == wanted]


def use_checkpoint(name: str) -> None:
    st.session_state["ckpt"] = name


def about_model(model, normal: Normal, categories: dict) -> None:
    """What the model has seen, against what is called normal here (and a one-class checkpoint
    trained on exactly this normal data, if the zoo has one)."""
    trained, name, wanted = normal_of(model), model.info.name, normal.words(categories)
    seen = trained.words(categories) if trained else f"all of {normal.dataset}"
    if trained is not None and analyses.normal_spec(trained) == analyses.normal_spec(normal):
        st.caption(f"**{name}** was trained on {seen} only: anything else is new to it.")
    elif normal.other:
        st.caption(f"**{name}** was trained on {seen}; here all of {normal.dataset} is normal and every test "
                   f"image of {normal.other} (resized to {model.image_shape[1]} px) is an anomaly.")
    else:
        st.caption(f"**{name}** was trained on {seen}, not on {wanted}: its reconstruction error says how "
                   "unusual an image is for that training data. The latent and combined scores are fitted on "
                   "the normal training images, so they do learn what is normal.")
    for k, other in enumerate(n for n in one_class_checkpoints(normal) if n != name):
        st.button(f"Use {other}, trained on {wanted} only", key=f"an_use_{k}", on_click=use_checkpoint,
                  args=(other,), icon=":material/swap_horiz:")


def pick_score(model) -> tuple[str, int]:
    kinds = available_scores(model)
    c1, c2 = st.columns([3, 1])
    kind = c1.radio("Score", kinds, index=kinds.index("combined"), horizontal=True, key="an_score",
                    bind="query-params", help="; ".join(f"{k}: {SCORES[k]}" for k in kinds))
    ref = c2.select_slider("Normal images fitted on (at most)", REFERENCES, value=REFERENCES[-1], key="an_ref",
                           bind="query-params", help="A seeded subset of the normal training images fits "
                                                     "the latent Gaussian and the standardising statistics.")
    st.caption(f"**{kind}** — {EXPLAIN[kind]} Higher = more anomalous.")
    return kind, int(ref)


# -- your images -----------------------------------------------------------------------------------
def score_uploads(model, result) -> list[tuple[str, float, float]]:
    """(name, score, percentile among normal test images) of each of the session's own images."""
    files = st.file_uploader("Score your own images (they are marked on the histogram)", type=state.UPLOAD_TYPES,
                             accept_multiple_files=True, key="an_upload")
    if files:
        _, refused = state.add_uploads(model, files)
        for text in refused:
            st.error(text, icon=":material/block:")
    marks = []
    for name, x in state.pool(model).items():
        try:
            marks.append((name, *score_image(result.scorer, x, result.evaluation)))
        except LatentlabError as exc:
            st.error(f"{name}: {exc}", icon=":material/block:")
    if marks:
        st.dataframe([{"image": n, "score": f"{v:.4g}", "percentile among normal test images": f"{p:.1f}"}
                      for n, v, p in marks], hide_index=True)
    return marks


# -- the most anomalous images ---------------------------------------------------------------------
def gallery(title: str, g, ev, normal: Normal, categories: dict, stem: str) -> None:
    st.markdown(f"**{title}**")
    if len(g.index) == 0:
        st.caption("None.")
        return
    # Squared errors are peaked: scaled by their maximum, most of a map is black. The 99th percentile
    # of the maps shown sets full brightness (larger errors saturate), one scale for the whole row.
    top = float(np.percentile(g.error_maps, 99))
    images, recons = g.images.expand(-1, 3, -1, -1), g.recons.expand(-1, 3, -1, -1)
    maps = heatmap(g.error_maps, vmax=top if top > 0 else None)
    for label, row in (("input", images), ("reconstruction", recons), ("squared error", maps)):
        widgets.image_row(label, render.png(row, px=widgets.TILE))
    st.caption(f"Test images {normal.rows_text(ev, g.index, categories)}; scores {', '.join(f'{s:.3g}' for s in g.scores)}. "
               f"Error maps share one scale: black = 0, brightest = {top:.3g} (the 99th percentile of these pixels' "
               "squared errors) or more.")
    sheet = render.png(torch.cat([images, recons, maps]), ncol=len(g.index), px=widgets.TILE)
    st.download_button("PNG", sheet, file_name=f"{stem}.png", mime="image/png", icon=":material/download:",
                       on_click="ignore", key=f"an_png_{stem.rsplit('-', 1)[-1]}")


def score_table(model, spec: dict, ref: int, shown) -> None:
    rows = []
    for k in available_scores(model):
        r = shown if k == shown.evaluation.kind else analyses.read_anomaly(model, spec, k, ref)
        rows.append({"score": k, "what it measures": SCORES[k],
                     "AUROC": f"{r.evaluation.auroc:.3f}" if r else "– (pick it above to compute)"})
    st.dataframe(rows, hide_index=True, column_config={"AUROC": st.column_config.TextColumn(help=TERMS["AUROC"])})


def slow_note(model) -> str:
    """Why to ask before starting: a model whose encoder is an optimisation takes minutes."""
    return (f"{model.info.name} encodes by optimisation ({model.label}): fitting and scoring take minutes on a "
            "CPU." if model.slow_encode else "")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Anomaly", "Say what is normal; a score fitted on normal training images rates every "
                        "test image. A good score ranks the anomalies above the normal images.")
    whole = whole_dataset(model.info.dataset)
    res.dataset(model)  # built off the script thread; the unfiltered data below comes from its cache
    data = load_dataset(whole["name"], **whole["options"])
    try:
        normal = pick_normal(model, data)
    except LatentlabError as exc:
        st.warning(str(exc))
        st.stop()
    about_model(model, normal, data.categories)
    kind, ref = pick_score(model)
    spec = analyses.normal_spec(normal)
    kwargs = {"ref": model.info.name, "normal": spec, "kind": kind, "max_reference": ref}
    result = tasks.result(lambda: analyses.read_anomaly(model, spec, kind, ref),
                          f"anomaly-{analyses.anomaly_key(model, spec, kind, ref)}", "latentlab.analyses:anomaly_evaluation",
                          kwargs, f"Score the test images against {normal.words(data.categories)} ({kind})",
                          ask=slow_note(model))
    if result is None:
        st.stop()
    ev = result.evaluation
    st.subheader(f"Normal: {normal.words(data.categories)} · {kind} score")
    c1, c2, c3 = st.columns(3)
    c1.metric("AUROC", f"{ev.auroc:.3f}", help=TERMS["AUROC"])
    c2.metric("normal test images", int((~ev.is_anomaly).sum()))
    c3.metric("anomalous test images", int(ev.is_anomaly.sum()))
    marks = score_uploads(model, result)
    left, right = st.columns(2)
    fig, beyond = draw.score_histogram(ev, kind, marks)
    left.plotly_chart(fig, key="an_hist")
    left.caption("Each group's scores as a percentage of the group." + (
        f" {beyond} scores lie beyond the right edge (cut at the 99.5th percentile)." if beyond else ""))
    right.plotly_chart(draw.roc_figure(ev, kind), key="an_roc")
    right.caption(TERMS["ROC curve"])
    score_table(model, spec, ref, result)
    st.subheader("The most anomalous test images")
    stem = f"{model.info.name}-anomaly-{kind}"
    gallery("Highest scores overall", result.galleries["all"], ev, normal, data.categories, f"{stem}-all")
    gallery("Normal images that score highest (false alarms)", result.galleries["normal"], ev, normal,
            data.categories, f"{stem}-normal")


main()
