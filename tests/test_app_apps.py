"""The issue-12 pages (Anomaly, Restore, Generate, Features), driven headless on mnist and faces.

What a page tells the user is checked against the library on the same inputs: the AUROC shown is
the one `metrics.one_class` computes, an upload's percentile is `percentile_of` its score, PSNR
and SSIM are `metrics.restoration`'s, the agreement rate is `conditional.agreement`'s, a probe
curve is `learning_curve`'s. Background tasks run for real (a child process each); the tests
choose small settings (few reference images, 50 optimisation steps, kNN probes with one draw).
"""

from __future__ import annotations

import io
import json
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image
from test_app import assert_clean, image_with, open_app, plotly_array
from test_app import served as served_fixture  # noqa: F401 - test_app's fixture, registered here

import latentlab
from latentlab.checkpoint import zoo_names
from latentlab.datasets import load_dataset
from latentlab.images import load_image

pytestmark = pytest.mark.skipif(not {"mnist_ae", "mnist_ae_only3", "faces_vae"} <= set(zoo_names()),
                                reason="needs the shipped mnist and faces checkpoints")


@pytest.fixture(autouse=True, scope="module")
def _cache(tmp_path_factory):
    """One temporary cache for the module: pages on the same checkpoint share encoded splits."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LATENTLAB_CACHE", str(tmp_path_factory.mktemp("apps-cache")))
    yield
    mp.undo()


def until_done(at, timeout: float = 600.0):
    """Rerun while a background task shows progress (the page stops there until it is done)."""
    t0 = time.monotonic()
    while at.get("progress"):
        assert time.monotonic() - t0 < timeout, [p.proto.text for p in at.get("progress")]
        assert_clean(at)
        time.sleep(1.0)
        at.run()
    assert_clean(at)
    return at


def start(at, prefix: str):
    """Press the button that starts a long task the page asks about, then wait for it."""
    button = next(b for b in at.button if b.key and b.key.startswith(f"start_{prefix}"))
    button.click().run()
    return until_done(at)


def png_of(x: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    arr = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    Image.fromarray(arr[0].numpy() if arr.shape[0] == 1 else arr.permute(1, 2, 0).numpy()).save(buf, format="PNG")
    return buf.getvalue()


def served_pixels(files: dict, url: str, side: int) -> np.ndarray:
    """The served PNG of an image, shrunk back to `side` pixels (it was enlarged by nearest)."""
    image = np.asarray(Image.open(io.BytesIO(files[url.rsplit("/", 1)[-1].split(".")[0]])))
    step = image.shape[0] // side
    return image[::step, ::step]


def caption_numbers(caption: str) -> list[float]:
    return [float(v) for v in re.findall(r"\d+\.\d+", caption)]


# -- Anomaly -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anomaly_page():
    """mnist_ae_only3 judged against its own normal data (3s) with the reconstruction score."""
    return until_done(open_app("mnist_ae_only3", "mnist", "anomaly", an_score="recon", an_ref="500"))


@pytest.fixture(scope="module")
def reference_evaluation():
    from latentlab.metrics.one_class import AnomalyScorer, evaluate, evaluation_set, normal_of

    model = latentlab.load("mnist_ae_only3")
    es = evaluation_set(normal_of(model))
    scorer = AnomalyScorer("recon", max_reference=500).fit(model, es.x_normal_train)
    return scorer, evaluate(scorer, es.x, es.is_anomaly, es.labels)


def test_anomaly_shows_the_librarys_auroc_and_scores(anomaly_page, reference_evaluation):
    from latentlab.metrics.anomaly import auroc

    _, ev = reference_evaluation
    shown = {m.label: m.value for m in anomaly_page.metric}
    assert shown["AUROC"] == f"{auroc(ev.scores, ev.is_anomaly):.3f}"
    assert int(shown["normal test images"]) == int((~ev.is_anomaly).sum()) > 0
    hist, roc = (json.loads(c.proto.spec) for c in anomaly_page.get("plotly_chart"))
    np.testing.assert_allclose(np.sort(plotly_array(hist["data"][0]["x"])), np.sort(ev.normal_scores), rtol=1e-6)
    np.testing.assert_allclose(np.sort(plotly_array(hist["data"][1]["x"])), np.sort(ev.anomaly_scores), rtol=1e-6)
    fpr, tpr = plotly_array(roc["data"][1]["x"]), plotly_array(roc["data"][1]["y"])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and np.all(np.diff(fpr) >= 0)
    table = next(d.value for d in anomaly_page.dataframe if "AUROC" in d.value.columns)
    assert table.set_index("score").loc["recon", "AUROC"] == shown["AUROC"]
    top, false_alarms = (re.findall(r"\(digit (\d)\)", c.value) for c in anomaly_page.caption
                         if c.value.startswith("Test images"))
    assert len(top) == 10 and top.count("3") <= 2, "the top anomalies are mostly other digits"
    assert set(false_alarms) == {"3"}, "the false alarms are normal images: 3s"


def test_anomaly_upload_a_three_scores_below_a_seven(anomaly_page, reference_evaluation):
    from latentlab.metrics.anomaly import percentile_of

    scorer, ev = reference_evaluation
    data = load_dataset("mnist")
    digits = data.labels_test["digit"]
    files = {f"{d}_{i}.png": png_of(data.x_test[i]) for d in (3, 7) for i in np.flatnonzero(digits == d)[:3]}
    anomaly_page.file_uploader(key="an_upload").set_value([(n, b, "image/png") for n, b in files.items()]).run()
    assert_clean(anomaly_page)
    table = next(d.value for d in anomaly_page.dataframe if "image" in d.value.columns).set_index("image")
    for name, data_png in files.items():
        x = load_image(data_png, channels=1, size=28)
        value = float(scorer.score(x)[0])
        assert float(table.loc[name, "score"]) == pytest.approx(value, rel=1e-3)
        assert table.loc[name, "percentile among normal test images"] == f"{percentile_of(value, ev.normal_scores):.1f}"
    scores = table["score"].astype(float)
    assert scores[[n for n in files if n.startswith("3")]].median() < scores[[n for n in files if n.startswith("7")]].median()
    hist = json.loads(anomaly_page.get("plotly_chart")[0].proto.spec)
    marked = sorted(s["x0"] for s in hist["layout"]["shapes"])
    np.testing.assert_allclose(marked, sorted(scores), rtol=1e-3)


def test_anomaly_offers_the_one_class_checkpoint_and_refuses_an_empty_anomaly_set():
    at = open_app("mnist_ae", "mnist", "anomaly", an_label="digit", an_digit="3", an_score="recon")
    assert_clean(at)
    assert any("trained on all of mnist" in c.value for c in at.caption), "says the model never learned 'normal'"
    at.button(key="an_use_0").click().run()
    assert at.session_state["ckpt"] == "mnist_ae_only3", "the sidebar's checkpoint picker now says mnist_ae_only3"
    at.multiselect(key="an_digit").set_value([str(d) for d in range(10)]).run()
    assert not at.exception and any("Every test image would be normal" in w.value for w in at.warning)


def test_anomaly_on_faces_against_a_face_attribute():
    at = until_done(open_app("faces_vae", "faces", "anomaly", an_label="glasses", an_glasses="no",
                             an_score="latent", an_ref="200"))
    shown = {m.label: float(m.value) for m in at.metric}
    assert 0.5 < shown["AUROC"] <= 1.0, "the latent density of faces without glasses flags glasses better than chance"
    assert at.subheader[0].value.startswith("Normal: faces with glasses = no")
    assert len(at.get("plotly_chart")) == 2 and len(at.image) == 6, "histogram, ROC and two galleries"


# -- Restore -----------------------------------------------------------------------------------------
def test_restore_psnr_and_ssim_are_the_librarys():
    from latentlab.metrics.restoration import add_gaussian_noise, psnr, restore_by_reconstruction, ssim

    at = until_done(open_app("mnist_ae", "mnist", "restore", rs_steps="50", rs_sigma="0.4"))
    x = load_dataset("mnist").x_test[:1]
    xc = add_gaussian_noise(x, 0.4, 0)
    corrupted = next(c for img in at.image for c in img.captions if c.startswith("corrupted"))
    assert caption_numbers(corrupted) == [round(float(psnr(xc, x)[0]), 2), round(float(ssim(xc, x)[0]), 3)]
    dae = latentlab.load("mnist_dae")
    restored = restore_by_reconstruction(dae, xc)
    table = at.dataframe[0].value.set_index(["model", "image"])
    assert table.loc[("mnist_dae", "encode–decode"), "PSNR (dB)"] == round(float(psnr(restored, x)[0]), 2)
    assert {"mnist_ae", "mnist_dae"} <= {m for m, i in table.index if i == "latent optimisation"}
    at.slider(key="rs_sigma").set_value(0.8).run()
    noisier = next(c for img in at.image for c in img.captions if c.startswith("corrupted"))
    assert caption_numbers(noisier)[0] < caption_numbers(corrupted)[0], "more noise, lower PSNR"


def test_restore_a_rectangle_keeps_the_visible_pixels(served_fixture):  # noqa: F811 - the fixture
    from latentlab.metrics.restoration import (
        mask_region,
        restore_by_latent_optimisation,
        restore_by_reconstruction,
    )

    at = until_done(open_app("mnist_ae", "mnist", "restore", rs_kind="rectangle", rs_steps="50",
                             rs_models="mnist_ae"))
    model, x = latentlab.load("mnist_ae"), load_dataset("mnist").x_test[:1]
    xc, mask = mask_region(x, box=(7, 7, 14, 14))  # the default box of a 28-pixel image: its middle half
    with torch.no_grad():
        expected = {"encode–decode": restore_by_reconstruction(model, xc),
                    "latent optimisation": restore_by_latent_optimisation(model, xc, mask, steps=50)}
    hidden = mask[0, 0].numpy()
    for caption, restored in expected.items():
        shown = served_pixels(served_fixture, image_with(at, caption), 28).astype(int)
        want = (torch.where(mask, restored, xc)[0, 0] * 255).round().numpy().astype(int)
        np.testing.assert_array_equal(shown[~hidden], (x[0, 0] * 255).round().numpy()[~hidden].astype(int))
        assert np.abs(shown - want).max() <= 1, f"{caption}: the model's pixels in the box, the image's outside"
    at.radio(key="rs_kind").set_value("painted mask").run()
    assert not at.exception and any("Paint over the image" in i.value for i in at.info)


def test_restore_on_faces():
    at = until_done(open_app("faces_vae", "faces", "restore", rs_steps="50", rs_models="faces_vae"))
    table = at.dataframe[0].value.set_index("image")
    assert table.loc["latent optimisation", "PSNR (dB)"] > table.loc["corrupted", "PSNR (dB)"]
    assert at.download_button


# -- Generate ----------------------------------------------------------------------------------------
def test_generate_agreement_is_the_librarys():
    from latentlab.latent.cache import encode_split
    from latentlab.latent.conditional import ConditionalGaussian, agreement
    from latentlab.metrics.classifier import load_classifier

    at = until_done(open_app("mnist_ae", "mnist", "generate", gen_digit="3", gen_n="16"))
    model, clf = latentlab.load("mnist_ae"), load_classifier("mnist")
    lat = encode_split(model, "train")
    sampler = ConditionalGaussian(temperature=1.0).fit(lat.z, lat.labels)
    def predict(x):
        return clf.predict(x)["digit"]

    one = agreement(predict, model, sampler, "digit", [3], 16, 0)
    assert {m.label: m.value for m in at.metric}["agreement: digit"] == f"{one['per_value'][3]:.1%}"
    every = agreement(predict, model, sampler, "digit", list(range(10)), 16, 0)
    assert any(f"**{every['mean']:.1%}**" in c.value for c in at.caption)
    assert image_with(at, "digit = 3: 16 samples") and image_with(at, "16 samples, 10 components")
    assert any("has no prior" in i.value for i in at.info)
    at.button(key="gen_c_edit").click().run()
    assert_clean(at)
    assert at.title[0].value == "Edit" and at.radio(key="sample_src").value == "Handed-over code"


def test_generate_samples_the_prior_of_a_vae_and_a_face_request():
    at = until_done(open_app("faces_vae", "faces", "generate", gen_n="8", gen_k="5"))
    assert image_with(at, "glasses = yes: 8 samples") and image_with(at, "8 samples of the normal prior")
    assert image_with(at, "8 samples, 5 components")
    # faces ships a data classifier (trained on real faces only): it reads the requested glasses
    shown = {m.label: m.value for m in at.metric}
    assert "agreement: glasses" in shown, shown
    assert 0.0 <= float(shown["agreement: glasses"].rstrip("%")) <= 100.0
    assert any("reads as requested" in c.value for c in at.caption)
    at.selectbox(key="gen_smiling").set_value("1").run()
    assert_clean(at)
    assert image_with(at, "glasses = yes, smiling = 1: 8 samples")


# -- Features ----------------------------------------------------------------------------------------
def probe_reference(dataset: str, names, label: str, counts) -> dict:
    """learning_curve on the same features, labels and subsets as the page's background task."""
    from latentlab.analyses import MAX_TEST, MAX_TRAIN, subset
    from latentlab.latent.cache import encode_split
    from latentlab.metrics.probes import learning_curve, probe_target

    data = load_dataset(dataset)
    y_train, y_test, _ = probe_target(data.labels_train, data.labels_test, label, data.categories)
    tr, te = subset(len(y_train), MAX_TRAIN), subset(len(y_test), MAX_TEST)
    feats = {}
    for name in names:
        if name == "pixels":
            feats[name] = (data.x_train.flatten(1).numpy()[tr], data.x_test.flatten(1).numpy()[te])
        else:
            model = latentlab.load(name)
            feats[name] = (encode_split(model, "train").z[tr], encode_split(model, "test").z[te])
    return learning_curve(feats, y_train[tr], y_test[te], counts, (0,), "knn", per_class=True)


def test_features_curves_are_learning_curves():
    at = open_app("mnist_ae", "mnist", "features", ft_probe="knn", ft_max="10", ft_seeds="1")
    at.multiselect(key="ft_reps").set_value(["pixels", "mnist_ae"]).run()
    assert not at.get("plotly_chart") and any("Not computed yet" in i.value for i in at.info), "asks first"
    start(at, "probe")
    table = at.dataframe[0].value.set_index("features (dim)")
    expected = probe_reference("mnist", ["pixels", "mnist_ae"], "digit", (1, 2, 5, 10))
    for name, dim in (("pixels", 784), ("mnist_ae", 16)):
        for n in (1, 2, 5, 10):
            mean, std = expected[name][n]
            assert table.loc[f"{name} ({dim})", f"{n}/class"] == f"{mean:.3f} ± {std:.3f}"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in spec["data"]] == ["pixels (784)", "mnist_ae (16)"]
    best = max(expected, key=lambda k: expected[k][10][0])
    assert f"10 labels per class: best **{best}** ({expected[best][10][0]:.3f})" in " ".join(m.value for m in at.markdown)


def test_features_on_faces_for_a_face_attribute():
    at = open_app("faces_vae", "faces", "features", ft_probe="knn", ft_max="2", ft_seeds="1", ft_label="glasses",
                  ft_reps="faces_vae")
    start(at, "probe")
    table = at.dataframe[0].value.set_index("features (dim)")
    expected = probe_reference("faces", ["faces_vae"], "glasses", (1, 2))
    assert table.loc["faces_vae (32)", "2/class"] == f"{expected['faces_vae'][2][0]:.3f} ± 0.000"
