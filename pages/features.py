"""Features: how much a frozen representation helps a classifier that sees only a few labels. The
few-label probe curve of representation learning's linear evaluation protocol (Kingma et al.
2014; Chen et al. 2020): one probe, the same for pixels, PCA and every model of the dataset."""

from dataclasses import asdict

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from latentlab import LatentlabError, analyses
from latentlab.analyses import PIXELS, ProbeRequest
from latentlab.datasets import load_dataset
from latentlab.latent.labels import label_names
from latentlab.metrics.probes import PROBES, probe_target
from latentlab.ui import resources as res
from latentlab.ui import sidebar, tasks, widgets
from latentlab.ui.glossary import TERMS
from latentlab.zoo import datasets_by_name, whole_dataset, zoo_table

COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # labelled images per class
PROBE_HELP = {"logistic": TERMS["logistic probe"], "knn": TERMS["kNN probe"], "spreading": TERMS["label spreading"]}
HIGHLIGHT = (10, 100)  # label counts the summary sentence reads off


def candidates(dataset: dict) -> dict[str, dict]:
    """Zoo rows (by name) of the checkpoints trained on all of `dataset` (one-class ones describe
    part of it only)."""
    def all_of(ds: dict) -> bool:
        return ds["name"] == dataset["name"] and ds.get("options", {}) == dataset["options"]

    entries = datasets_by_name()
    return {row["name"]: row for row in sorted(zoo_table()[0], key=sidebar.rank) if all_of(entries[row["name"]])}


def pick(model, data, dataset: dict) -> tuple[str, ProbeRequest, list[str]]:
    labels = label_names(data.labels_train)
    if not labels:
        st.info(f"{dataset['name']} has no labels to probe for.")
        st.stop()
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    label = c1.selectbox("Label to predict", labels, key="ft_label", bind="query-params")
    probe = c2.radio("Probe", PROBES, horizontal=True, key="ft_probe", bind="query-params",
                     help=" ".join(f"{k}: {v}" for k, v in PROBE_HELP.items()))
    top = c3.select_slider("Labels per class, up to", COUNTS, value=COUNTS[-1], key="ft_max", bind="query-params")
    seeds = c4.number_input("Label draws", 1, 5, 3, key="ft_seeds", bind="query-params",
                            help="Each point is the mean (± std) over this many random labelled subsets.")
    rows = candidates(dataset)
    names = list(rows)
    if model.info.name not in names:
        st.caption(f"{model.info.name} is trained on part of {dataset['name']} only, so it is left out; the "
                   "checkpoints below are trained on all of it.")
    options = [PIXELS, *names]
    slow = [n for n, row in rows.items() if row["family"] == "codec" or res.load_model(n).slow_encode]
    default = [PIXELS] + [n for n in names if n not in slow]
    reps = st.multiselect("Representations", options, default=default, key="ft_reps", bind="query-params",
                          help="Raw pixels are the baseline; each checkpoint's codes are its features.")
    if slow:
        st.caption(f"Not chosen at first: {', '.join(slow)} (a codec's codes are large; a GLO encodes by "
                   "optimisation, minutes for a training split). Add them above.")
    if not reps:
        st.warning("Pick at least one representation.")
        st.stop()
    request = ProbeRequest(dataset, label, probe, tuple(c for c in COUNTS if c <= top), tuple(range(int(seeds))))
    return label, request, reps


def representation(name: str):
    return PIXELS if name == PIXELS else res.load_model(name)


def curves(request: ProbeRequest, reps: list[str]) -> dict[str, dict]:
    """Stored curves of the representations; the missing ones are computed in one background task
    (progress, Cancel) while the page shows those that exist."""
    found = {r: analyses.read_probe_curve(request, representation(r)) for r in reps}
    missing = [r for r, v in found.items() if v is None]
    if missing:
        fits = len(request.counts) * len(request.seeds)
        done = tasks.result(
            lambda: all(analyses.read_probe_curve(request, representation(r)) for r in reps) or None,
            # Keyed by the whole list (the task skips stored curves): while it runs, `missing` shrinks.
            f"probe-{analyses.digest(request=asdict(request), reps=reps)}", "latentlab.analyses:probe_curves",
            {"request": asdict(request), "representations": reps},
            f"Compute the {request.probe} curves of {', '.join(missing)}",
            ask=f"Not computed yet: {', '.join(missing)}. Each curve fits the probe up to {fits} times (label counts "
                "× draws) and may first encode the training split; pixels, the logistic probe and label spreading "
                "can take minutes on a CPU. Results are kept, so a link shows them at once next time.")
        if done:
            found = {r: analyses.read_probe_curve(request, representation(r)) for r in reps}
    return {r: v for r, v in found.items() if v is not None}


def figure(found: dict[str, dict], chance: float) -> go.Figure:
    fig = go.Figure()
    for name, rec in found.items():
        counts = sorted(int(n) for n in rec["curve"])
        mean, std = (np.array([rec["curve"][str(n)][i] for n in counts]) for i in (0, 1))
        fig.add_trace(go.Scatter(x=counts, y=mean, error_y={"type": "data", "array": std, "visible": True},
                                 mode="lines+markers", name=f"{name} ({rec['dim']})"))
    fig.add_hline(y=chance, line={"dash": "dot", "color": "#999"},
                  annotation_text=f"always the most common class: {chance:.0%}")
    counts = sorted({int(n) for rec in found.values() for n in rec["curve"]})
    # The legend sits above the plot, under plotly's toolbar (which a long legend ran into on hover).
    fig.update_layout(height=480, margin={"l": 10, "r": 10, "t": 70, "b": 10}, showlegend=True,
                      xaxis={"title": "labelled training images per class (log scale)", "type": "log",
                             "tickvals": counts},
                      yaxis={"title": "test accuracy", "range": [0, 1.02]}, legend={"orientation": "h", "yanchor": "bottom", "y": 1.02})
    return fig


def table(found: dict[str, dict]) -> pd.DataFrame:
    counts = sorted({int(n) for rec in found.values() for n in rec["curve"]})
    return pd.DataFrame([{"features (dim)": f"{name} ({rec['dim']})",
                          **{f"{n}/class": (f"{rec['curve'][str(n)][0]:.3f} ± {rec['curve'][str(n)][1]:.3f}"
                                            if str(n) in rec["curve"] else "–") for n in counts}}
                         for name, rec in found.items()])


def summary(found: dict[str, dict]) -> str:
    lines = []
    for n in HIGHLIGHT:
        at = {name: rec["curve"][str(n)][0] for name, rec in found.items() if str(n) in rec["curve"]}
        if len(at) > 1:
            best = max(at, key=at.get)
            lines.append(f"- {n} labels per class: best **{best}** ({at[best]:.3f})"
                         + (f"; pixels {at[PIXELS]:.3f}" if PIXELS in at and best != PIXELS else "") + ".")
    return "\n".join(lines)


def main() -> None:
    model = res.current_model()
    widgets.page_header("Features", "Train a simple classifier on the codes of a few labelled images and test it "
                        "on all test images: a good representation needs few labels.")
    dataset = whole_dataset(model.info.dataset)
    res.dataset(model)
    data = load_dataset(dataset["name"], **dataset["options"])
    label, request, reps = pick(model, data, dataset)
    try:
        _, y_test, classes = probe_target(data.labels_train, data.labels_test, label, data.categories)
    except LatentlabError as exc:
        st.warning(str(exc))
        st.stop()
    if len(classes) < 2:
        st.warning(f"{label} takes one value only: nothing to predict.")
        st.stop()
    found = curves(request, reps)
    if not found:
        st.stop()
    chance = float(np.bincount(y_test).max() / len(y_test))
    st.plotly_chart(figure(found, chance), key="ft_curve")
    st.markdown(summary(found))
    st.dataframe(table(found), hide_index=True)
    rec = next(iter(found.values()))
    st.caption(f"{label} as {len(classes)} classes ({', '.join(classes[:10])}{'…' if len(classes) > 10 else ''}). "
               f"Probe: {request.probe} — {PROBE_HELP[request.probe]} {rec['n_train']} training images (labelled or "
               f"not) and {rec['n_test']} test images, a seeded subset where a split is larger; features "
               "standardised on all those training images. A count above the smallest class's size is skipped.")


main()
