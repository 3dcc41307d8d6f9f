"""The Disentangle page, driven headless: traversal rows labelled with the factor each moves, the
latent × factor matrix, the sweep's trade-off plot and table, scoring on demand in a background
task that can be cancelled, and a clear note for a dataset without factors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latentlab.checkpoint import ZOO_DIR, zoo_names
from latentlab.datasets.faces import FACTOR_NAMES as FACE_FACTORS
from latentlab.metrics.sweep import zoo_sweep

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
ROOT = Path(__file__).resolve().parent.parent
SHAPE_FACTORS = ["shape", "scale", "orientation", "pos_x", "pos_y"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))


def scored(dataset: str) -> list[str]:
    """Zoo checkpoints of `dataset` whose scores ship in checkpoints/<name>/cache/."""
    rows, _ = zoo_sweep(dataset)
    return [r["name"] for r in rows]


def open_page(ckpt: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ckpt"] = ckpt
    at.switch_page("pages/disentangle.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Disentangle"
    return at


def row_notes(at: AppTest) -> list[str]:
    """The traversal rows' labels ("**z3**  \\n:small[:gray[KL 1.2 · pos_x · …]]")."""
    return [m.value for m in at.markdown if m.value.startswith("**z")]


def image_urls(at: AppTest) -> list[str]:
    return [url for img in at.image for url in img.value]


def figure(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


@pytest.mark.skipif(not scored("shapes"), reason="no shapes checkpoint with shipped scores")
def test_rows_are_labelled_with_factors_and_the_matrix_and_sweep_are_drawn():
    name = max(zoo_sweep("shapes")[0], key=lambda r: r["scores"]["mig"])["name"]
    at = open_page(name)
    d = json.loads((ZOO_DIR / name / "config.json").read_text())["model_args"]["latent_dim"]
    notes = row_notes(at)
    assert len(notes) == min(d, 12)
    assert all(any(f in n for f in SHAPE_FACTORS) or "no factor" in n for n in notes)
    assert any(f in " ".join(notes) for f in ("pos_x", "pos_y"))  # position is always learned
    assert {m.label for m in at.metric} >= {"MIG", "DCI dis.", "FactorVAE", "BetaVAE"}
    heat, tradeoff = figure(at, 0), figure(at, 1)
    assert heat["data"][0]["type"] == "heatmap" and heat["data"][0]["x"] == SHAPE_FACTORS
    names = [t.get("name") for t in tradeoff["data"]]
    assert name in names  # the selected checkpoint is starred
    assert at.dataframe[0].value.shape[0] >= 1  # one summary row per setting


@pytest.mark.skipif(not scored("shapes"), reason="no shapes checkpoint with shipped scores")
def test_matrix_kind_and_start_image_change_what_is_shown():
    at = open_page(scored("shapes")[0])
    heat, urls = figure(at, 0)["data"][0]["z"], image_urls(at)
    at.radio(key="matrix").set_value("DCI importance").run()
    assert not at.exception and figure(at, 0)["data"][0]["z"] != heat
    at.number_input(key="sample_i").set_value(7).run()
    assert not at.exception and image_urls(at) != urls
    at.slider(key="rows").set_value(3).run()
    assert len(row_notes(at)) == 3


@pytest.mark.skipif(not scored("shapes"), reason="no shapes checkpoint with shipped scores")
def test_collapsed_vae_dims_are_not_labelled_with_a_factor():
    vaes = [r for r in zoo_sweep("shapes")[0] if r["family"] == "vae"]
    if not vaes:
        pytest.skip("no scored shapes VAE")
    name = min(vaes, key=lambda r: r["scores"]["active_dims"])["name"]  # the most collapsed
    notes = row_notes(open_page(name))
    kls = [float(re.search(r"KL (\d+\.\d+)", n).group(1)) for n in notes]
    assert kls == sorted(kls, reverse=True) and min(kls) < 0.01, "a β-VAE of the zoo has collapsed dims"
    for kl, note in zip(kls, notes):
        if kl == 0.01:  # shown rounded: either side of the threshold
            continue
        assert ("collapsed" in note) == (kl < 0.01), note
        if kl < 0.01:
            assert not any(f in note for f in SHAPE_FACTORS), note


@pytest.mark.skipif(not scored("faces"), reason="no faces checkpoint with shipped scores")
def test_faces_rows_are_labelled_with_attributes():
    at = open_page(scored("faces")[0])
    notes = row_notes(at)
    assert notes and any(f in " ".join(notes) for f in FACE_FACTORS)
    assert figure(at, 0)["data"][0]["x"] == FACE_FACTORS


def test_a_wide_code_shows_at_most_32_matrix_rows_with_the_largest_entries():
    wide = [r for r in zoo_sweep("faces")[0] if len(r["scores"]["mi"]) > 32]
    if not wide:
        pytest.skip("no scored checkpoint with more than 32 latent dims")
    row = wide[0]
    import latentlab
    from latentlab.latent.cache import encode_split

    encode_split(latentlab.load(row["name"]), "test")  # the traversal's latents, else a background task
    at = open_page(row["name"])
    heat = figure(at, 0)["data"][0]
    mi = [max(r) for r in row["scores"]["mi"]]
    shown = sorted(int(y[1:]) for y in heat["y"])
    assert len(shown) == 32 and len(set(shown)) == 32
    assert min(mi[d] for d in shown) >= sorted(mi, reverse=True)[31] - 1e-12  # the 32 largest
    assert any("Showing the 32 of" in c.value for c in at.caption)


def test_an_unscored_checkpoint_is_scored_in_the_background_and_can_be_cancelled(monkeypatch):
    from latentlab.metrics import scorecard
    from latentlab.ui import tasks

    shapes = [n for n in zoo_names() if n.startswith("shapes_")]
    if not shapes:
        pytest.skip("no shapes checkpoint")
    monkeypatch.setattr(scorecard, "cached_scores", lambda *a, **k: None)
    at = open_page(shapes[0])
    assert not at.metric and "compute scores" in " ".join(row_notes(at))
    next(b for b in at.button if b.label == "Compute scores").click().run()
    assert not at.exception
    assert at.get("progress") and any(b.label == "Cancel" for b in at.button), "progress and Cancel"
    key = next(k for k in tasks._TASKS if k.startswith("scores-"))
    tasks.cancel(key)
    assert tasks.state(key) == "cancelled"
    tasks.forget(key)


def test_a_dataset_without_factors_says_so():
    mnist = [n for n in zoo_names() if n.startswith("mnist_")]
    if not mnist:
        pytest.skip("no mnist checkpoint")
    at = open_page(mnist[0])
    assert any("no ground-truth factors" in i.value for i in at.info)
    assert not at.get("plotly_chart")
