"""Disentangle: does each latent dimension carry one ground-truth factor? Traversals labelled with
the factor each row moves, the latent × factor matrix, and the sweep over the zoo (reconstruction
error against MIG). Scores come from latentlab.metrics.scorecard: shipped for the zoo, computed in
a background task for any other checkpoint."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from latentlab import LatentlabError, render
from latentlab.latent.traverse import traversal_grid
from latentlab.metrics import scorecard
from latentlab.metrics.factor_map import diagonal_order, dim_factors
from latentlab.metrics.sweep import flat, summarise, zoo_sweep
from latentlab.ui import resources as res
from latentlab.ui import tasks, widgets
from latentlab.ui.draw import PALETTE
from latentlab.ui.glossary import TERMS

STEPS = 9
MATRICES = {"mutual information": "mi", "DCI importance": "importance"}
SCORES = {"mig": "MIG", "dci_d": "DCI dis.", "dci_c": "DCI compl.", "dci_i": "DCI inform.",
          "sap": "SAP", "factorvae": "FactorVAE", "betavae": "BetaVAE", "test_mse": "test MSE"}


def scores_of(model) -> dict | None:
    """The checkpoint's cached scores; else a button that computes them in a background task
    (progress, Cancel), None until they exist."""
    found = scorecard.cached_scores(model)
    if found is not None:
        return found
    key = f"scores-{model.info.hash}"
    if tasks.state(key) is None and not st.session_state.get(key):
        n = scorecard.settings_for(model.info.dataset["name"]).images()
        slow = ("; this model encodes each image by an optimisation, so expect roughly an hour"
                if getattr(model, "slow_encode", False) else " (a minute or more on a CPU)")
        st.info(f"No disentanglement scores for **{model.info.name}** yet. Computing them renders and "
                f"encodes {n:,} images{slow}; the rest of the page works meanwhile.")
        if st.button("Compute scores", icon=":material/calculate:", key="compute_scores"):
            st.session_state[key] = True
            st.rerun()
        return None
    if tasks.wait_for(key, "latentlab.metrics.scorecard:score_task", {"name": model.info.name},
                      f"Scoring {model.info.name}"):
        return scorecard.cached_scores(model)
    return None


HELP = {"mig": "MIG", "dci_d": "DCI", "dci_c": "DCI", "dci_i": "DCI", "sap": "SAP",
        "factorvae": "FactorVAE score", "betavae": "BetaVAE score", "test_mse": "test MSE"}


def headline(scores: dict) -> None:
    cols = st.columns(len(SCORES))
    for col, (key, label) in zip(cols, SCORES.items()):
        col.metric(label, f"{scores[key]:.4f}" if key == "test_mse" else f"{scores[key]:.3f}",
                   help=TERMS[HELP[key]])


def traversal_rows(model, data, scores: dict | None) -> None:
    """One row per latent dim (by KL or variance) swept from the picked image's code, labelled
    with the factor that dim carries and how much of it."""
    st.subheader("Traversals")
    picked = widgets.sample_picker(model, data, "sample", title="Start image")
    order, score, score_name = res.dimension_order(model, data)
    shown = order[:st.slider("Rows", 1, len(order), min(len(order), 12), key="rows")]
    trav = traversal_grid(model, picked.z, dims=shown, steps=STEPS, z_data=res.latents(model).z)
    labels = dim_factors(np.asarray(scores["mi"]), scores["factor_names"]) if scores else None
    st.caption(f"Rows sorted by {score_name}; each sweeps one dimension (VAEs: the prior's 5%–95% "
               "quantiles; others: that dimension's 5th–95th percentile), the rest of the code "
               "fixed. Label: the factor with the most mutual information with that dimension, "
               "I(z; factor) / H(factor), and its share of the dimension's total. A VAE dimension "
               "with KL ≈ 0 is collapsed: it carries no factor, whatever its small matrix entries say.")
    for i, d in enumerate(shown):
        kl = float(score[d]) if score_name == "KL" else None
        text = labels[d].text(kl) if labels else "compute scores to name the factor"
        widgets.image_row(f"z{d}", render.png(trav.images[i], STEPS, widgets.TILE),
                          f"{score_name} {score[d]:.2f} · {text}")


MAX_ROWS = 32  # a codec's code has 2,048 dims: the heat map shows the ones that carry the most


def matrix_figure(matrix: np.ndarray, factor_names: list[str], title: str) -> go.Figure:
    """Heat map of a latent × factor matrix `[d, K]`, dims ordered to read as a diagonal; at
    most MAX_ROWS dims, those with the largest entries."""
    keep = np.sort(np.argsort(-matrix.max(1), kind="stable")[:MAX_ROWS])
    order = keep[diagonal_order(matrix[keep])]
    shown = matrix[order]
    fig = go.Figure(go.Heatmap(z=shown, x=factor_names, y=[f"z{d}" for d in order], zmin=0,
                               colorscale="Viridis", text=np.round(shown, 2), texttemplate="%{text}",
                               hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(height=80 + 28 * len(order), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title={"text": title, "font": {"size": 13}})
    fig.update_yaxes(autorange="reversed")
    return fig


def matrix_section(model, scores: dict) -> None:
    st.subheader("Latent × factor matrix")
    kind = st.radio("Matrix", list(MATRICES), horizontal=True, key="matrix", bind="query-params")
    matrix = np.asarray(scores[MATRICES[kind]], dtype=float)
    st.plotly_chart(matrix_figure(matrix, scores["factor_names"], f"{model.info.name}: {kind}"),
                    key=f"matrix_{model.info.hash}_{kind}")
    if len(matrix) > MAX_ROWS:
        st.caption(f"Showing the {MAX_ROWS} of {len(matrix):,} dimensions with the largest entries.")
    st.caption("One bright cell per row and column, on the diagonal, is a disentangled code. "
               "Mutual information is normalised by the factor's entropy and measured on the posterior "
               "mean, so a collapsed VAE dimension (KL ≈ 0) can still show a few hundredths; DCI "
               "importance comes from random forests predicting each factor from all dimensions.")


@st.cache_data(show_spinner=False, max_entries=8)
def _sweep(dataset: str, stamp: tuple) -> tuple[list[dict], list[str]]:
    rows, unscored = zoo_sweep(dataset)
    return [flat(r) for r in rows], unscored


def _stamp(dataset: str) -> tuple:
    """Changes when a checkpoint (shipped or the user's) or a score file (shipped or cached)
    appears: the sweep is re-read then."""
    from latentlab.checkpoint import roots
    from latentlab.latent.cache import user_cache_root

    globs = [(root, pattern) for _, root in roots() for pattern in ("*/config.json",
                                                                    "*/cache/*disentanglement*.json")]
    globs.append((user_cache_root(), "*/*disentanglement*.json"))
    return tuple(sorted(str(p) for root, pattern in globs for p in root.glob(pattern))) + (dataset,)


def tradeoff_figure(rows: list[dict], summary: list[dict], current: str) -> go.Figure:
    """Test MSE against MIG: seeds as points, setting medians large and joined per family."""
    fig = go.Figure()
    for i, g in enumerate(summary):
        colour = PALETTE[i % len(PALETTE)]
        members = [r for r in rows if r["group"] == g["group"]]
        fig.add_trace(go.Scatter(x=[r["mig"] for r in members], y=[r["test_mse"] for r in members],
                                 mode="markers", marker={"size": 8, "color": colour, "opacity": 0.6},
                                 name=g["group"], legendgroup=g["group"], text=[r["name"] for r in members],
                                 hovertemplate="%{text}<br>MIG %{x:.3f}, MSE %{y:.4f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[g["mig"]["median"]], y=[g["test_mse"]["median"]], mode="markers",
                                 marker={"size": 15, "color": colour, "line": {"width": 1, "color": "black"}},
                                 legendgroup=g["group"], showlegend=False,
                                 hovertemplate=f"{g['group']}: median of {g['n']}<extra></extra>"))
    families: dict[tuple, list[dict]] = {}
    for g in summary:
        if g["knob"] is not None:
            families.setdefault((g["family"], g["streamed"]), []).append(g)
    for line in families.values():
        line.sort(key=lambda g: g["knob"])
        fig.add_trace(go.Scatter(x=[g["mig"]["median"] for g in line], y=[g["test_mse"]["median"] for g in line],
                                 mode="lines", line={"color": "grey", "width": 1}, showlegend=False,
                                 hoverinfo="skip"))
    here = [r for r in rows if r["name"] == current]
    if here:
        fig.add_trace(go.Scatter(x=[here[0]["mig"]], y=[here[0]["test_mse"]], mode="markers",
                                 marker={"symbol": "star-open", "size": 20, "color": "black",
                                         "line": {"width": 2}}, name=current))
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis_title="MIG (higher: more disentangled)",
                      yaxis_title="test MSE per pixel (lower: sharper)")
    return fig


def sweep_section(model) -> None:
    ds = model.info.dataset["name"]
    st.subheader(f"The sweep: every scored {ds} checkpoint")
    rows, unscored = _sweep(ds, _stamp(ds))
    if not rows:
        st.info(f"No {ds} checkpoint has scores yet.")
        return
    summary = summarise(rows)
    st.plotly_chart(tradeoff_figure(rows, summary, model.info.name), key=f"tradeoff_{ds}")
    st.caption("Small points: one checkpoint (seed) each; large points: a setting's median over its "
               "seeds; grey lines join the medians of one family in order of its β or γ; the star is "
               "the selected checkpoint.")
    one_seed = all(g["n"] == 1 for g in summary)
    st.dataframe([{"setting": g["group"], "seeds": g["n"],
                   **{label: _spread(g[k], 4 if k == "test_mse" else 3, one_seed) for k, label in SCORES.items()}}
                  for g in summary], hide_index=True, key="sweep_summary")
    st.caption("Each setting has one seed so far: the table shows that run, not a median, and says "
               "nothing about how much a setting varies over seeds." if one_seed else
               "Median [min, max] over each setting's seeds.")
    with st.expander(f"All {len(rows)} checkpoints"):
        st.dataframe([{"checkpoint": r["name"], "setting": r["group"], "seed": r["seed"],
                       **{label: round(r[k], 4) for k, label in SCORES.items()}} for r in rows],
                     hide_index=True, key="sweep_rows")
    if unscored:
        st.caption("Not scored yet (select one and compute): " + ", ".join(unscored))


def _spread(stat: dict, digits: int, single: bool = False) -> str:
    if single:
        return f"{stat['median']:.{digits}f}"
    return f"{stat['median']:.{digits}f} [{stat['min']:.{digits}f}, {stat['max']:.{digits}f}]"


def main() -> None:
    model = res.current_model()
    widgets.page_header("Disentangle", "Does each latent dimension move one ground-truth factor "
                        "(position, scale, shape … or a face's smile, hair, glasses)? Rows of a "
                        "traversal, the latent × factor matrix, and how the zoo trades sharpness for it.")
    data = res.dataset(model)
    if data.factors is None:
        st.info(f"The {data.name} dataset has no ground-truth factors to compare codes with: pick a "
                "shapes or faces checkpoint in the sidebar.")
        return
    try:
        scores = scores_of(model)
    except LatentlabError as exc:
        st.error(f"Cannot score {model.info.name}: {exc}")
        scores = None
    if scores:
        headline(scores)
    traversal_rows(model, data, scores)
    if scores:
        matrix_section(model, scores)
    sweep_section(model)


main()
