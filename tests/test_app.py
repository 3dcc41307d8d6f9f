"""The Streamlit app, driven headless with streamlit.testing.v1.AppTest.

Every page must run without an exception for each model family that has a checkpoint, and its key
widgets must change what it shows (compared by image URL: media files are content-addressed, so
different PNG bytes give a different URL). Latents and maps go to a temporary cache.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.checkpoint import ZOO_DIR, zoo_names
from latentlab.ui.pages import PAGES

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ["ae", "vae", "pca", "glo", "aae", "vaegan"]
DATASET_PREFERENCE = ("mnist", "shapes", "faces")  # cheapest dataset first: faces take seconds to build


@pytest.fixture(autouse=True, scope="module")
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("LATENTLAB_CACHE", str(tmp_path_factory.mktemp("latentlab-cache")))
    yield
    mp.undo()


def _zoo() -> list[tuple[str, str, str]]:
    """(name, dataset, architecture) of every checkpoint in the zoo."""
    out = []
    for name in zoo_names():
        config = json.loads((ZOO_DIR / name / "config.json").read_text())
        family = config.get("family", config.get("architecture"))  # format 2 / format 1 checkpoints
        out.append((name, config["dataset"]["name"], family))
    return out


def checkpoint_of(family: str) -> tuple[str, str]:
    """A (name, dataset) of this family on the cheapest dataset that has one, else skip."""
    candidates = [(n, d) for n, d, arch in _zoo() if arch == family]
    candidates.sort(key=lambda nd: (DATASET_PREFERENCE.index(nd[1]) if nd[1] in DATASET_PREFERENCE else 9,
                                    nd[0] != f"{nd[1]}_{family}"))
    if not candidates:
        pytest.skip(f"no {family} checkpoint in checkpoints/ yet")
    return candidates[0]


def open_app(name: str, dataset: str, page: str = "home", **params: str) -> AppTest:
    """The app as a link `/<page>?ckpt=<name>&<params>` opens it in a fresh session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["ckpt"] = name
    for key, value in params.items():
        at.query_params[key] = value
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert at.session_state["model_name"] == name, "the link's checkpoint was not opened"
    return at


def settle(at: AppTest, ready, timeout: float = 600) -> AppTest:
    """Rerun until `ready(at)`: a page waiting on a background task (a checkpoint's directions
    are fitted once if the zoo does not ship them) shows progress meanwhile."""
    import time

    t0 = time.monotonic()
    while not ready(at):
        assert time.monotonic() - t0 < timeout, "the page never became ready"
        assert_clean(at)
        time.sleep(1.0)
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def image_with(at: AppTest, caption_start: str) -> str:
    urls = [url for img in at.image for url, cap in zip(img.value, img.captions) if cap.startswith(caption_start)]
    assert urls, f"no image captioned {caption_start!r}: {[img.captions for img in at.image]}"
    return urls[0]


def plotly_array(values) -> np.ndarray:
    """A plotly JSON array: a list, or plotly 6+'s base64 typed array {"bdata", "dtype"}."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def png_bytes(size: int = 40) -> bytes:
    """A white disc on black, like a blob of ink on an MNIST canvas."""
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2.5) ** 2 < (size / 4) ** 2) * 255
    buf = io.BytesIO()
    Image.fromarray(disc.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# -- every page, every family --------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_every_page_runs(family):
    name, dataset = checkpoint_of(family)
    at = open_app(name, dataset)
    for spec in PAGES:
        at.switch_page(spec.file).run()
        assert_clean(at)
        assert [t.value for t in at.title][:1] == [spec.title if spec.name != "home" else "latentlab"]
        assert at.session_state["model_name"] == name, f"the model choice was lost on {spec.name}"


def test_a_page_opened_first_in_a_fresh_process_still_gets_the_sidebar():
    # With a pages/ folder Streamlit starts in v1 multipage mode: before any session has called
    # st.navigation, /explore runs pages/explore.py alone. The page must rerun through app.py.
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    assert_clean(at)
    assert [t.value for t in at.title] == ["Explore"]
    assert [s.label for s in at.sidebar.selectbox] == ["Dataset", "Checkpoint"]
    assert has_map(at), "the map is drawn"


# -- page behaviour ------------------------------------------------------------------------------
def test_home_lists_the_zoo_and_shows_reconstructions():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset)
    table = at.dataframe[0].value
    assert set(zoo_names()) == set(table["checkpoint"])
    first = at.image[0].value[0]
    at.number_input(key="seed").set_value(3).run()
    assert at.image[0].value[0] != first


def map_rows(at) -> list[int]:
    """The row index each drawn point carries: the WebGL map's Arrow table (its `row` column), or
    plotly's customdata where the map falls back to plotly."""
    maps = [m for m in at.get("bidi_component") if m.proto.component_name == "latentlab.scatter_map"]
    if not maps:
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        return [int(c[0]) for trace in spec["data"] for c in trace["customdata"]]
    import pyarrow as pa

    (blob,) = maps[0].proto.mixed.arrow_blobs.values()
    return pa.ipc.open_stream(blob.data).read_all().column("row").to_pylist()


def has_map(at) -> bool:
    """Explore's map is on the page: the WebGL map, or plotly's where the map falls back to it."""
    return any(m.proto.component_name == "latentlab.scatter_map" for m in at.get("bidi_component")) \
        or bool(at.get("plotly_chart"))


def map_data(at) -> bytes:
    maps = [m for m in at.get("bidi_component") if m.proto.component_name == "latentlab.scatter_map"]
    return maps[0].proto.mixed.SerializeToString() if maps else at.get("plotly_chart")[0].proto.spec.encode()


def test_explore_selection_shows_images_and_sends_to_interpolate():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    index = map_rows(at)
    assert sorted(index) == list(range(len(index))), "every point carries its row index"
    at.text_input(key="explore_typed").set_value("3, 17").run()
    assert_clean(at)
    assert image_with(at, "originals") and image_with(at, "reconstructions")
    at.button(key="explore_to_interp").click().run()
    assert_clean(at)
    assert at.title[0].value == "Interpolate"
    assert [n.value for n in at.number_input][:2] == [3, 17]
    assert (at.query_params["a"], at.query_params["b"]) == ("test:3", "test:17")


def test_explore_colour_changes_the_map():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    before = map_data(at)
    at.selectbox(key="colour").set_value("reconstruction error").run()
    assert_clean(at)
    assert map_data(at) != before


@pytest.mark.parametrize("family", FAMILIES)
def test_edit_sliders_change_the_decoded_image(family):
    name, dataset = checkpoint_of(family)
    at = open_app(name, dataset, "edit")
    original = image_with(at, "edited")
    top = at.slider[0]  # the most important dimension
    top.set_value(top.min if top.value > (top.min + top.max) / 2 else top.max).run()
    assert_clean(at)
    moved = image_with(at, "edited")
    assert moved != original
    settle(at, lambda at: any(s.key.startswith("a_") for s in at.slider))
    attribute = next(s for s in at.slider if s.key.startswith("a_"))
    attribute.set_value(2.5).run()
    along_default = image_with(at, "edited")
    assert along_default not in (original, moved)
    assert "leak" in next(s for s in at.slider if s.key.startswith("a_")).label, "the slider shows its leakage"
    at.radio(key="dir").set_value("mean difference").run()
    next(s for s in at.slider if s.key.startswith("a_")).set_value(2.5).run()
    along_mean_difference = image_with(at, "edited")
    at.radio(key="dir").set_value("classifier normal").run()
    next(s for s in at.slider if s.key.startswith("a_")).set_value(2.5).run()
    assert_clean(at)
    assert image_with(at, "edited") not in (original, moved, along_mean_difference), \
        "the same strength along the classifier normal edits differently"
    at.button(key="edit_reset").click().run()
    assert image_with(at, "edited") == original
    assert at.download_button, "the edited PNG can be downloaded"


def test_edit_takes_a_sample_by_index():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "edit")
    first = image_with(at, "edited")
    at.number_input[0].set_value(5).run()
    assert_clean(at)
    assert image_with(at, "edited test #5") != first


def test_interpolate_steps_and_method_change_the_strip():
    name, dataset = checkpoint_of("ae")
    at = open_app(name, dataset, "interpolate")
    strip = image_with(at, "linear path")
    at.slider(key="steps").set_value(5).run()
    assert_clean(at)
    fewer = image_with(at, "linear path")
    assert fewer != strip
    at.radio(key="path").set_value("slerp").run()
    assert image_with(at, "slerp path") != fewer
    assert at.download_button, "the GIF can be downloaded"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(plotly_array(spec["data"][-1]["x"])) == 5, "the path on the map has one point per frame"


def test_upload_reconstructs_a_valid_image_and_rejects_a_broken_one():
    name, dataset = checkpoint_of("ae")
    at = open_app(name, dataset, "upload")
    at.file_uploader(key="upload_files_0").set_value([
        ("blob.png", png_bytes(), "image/png"),
        ("broken.png", b"\x89PNG\r\n\x1a\n this is not a png", "image/png"),
    ]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "broken.png" in at.error[0].value
    assert image_with(at, "reconstruction")
    assert "blob.png" in at.session_state["pool"][dataset]
    at.button(key="upload_edit_blob.png").click().run()
    assert_clean(at)
    assert image_with(at, "edited blob.png")


def test_uploads_stay_when_you_leave_the_page_and_come_back_until_removed():
    name, dataset = checkpoint_of("ae")
    at = open_app(name, dataset, "upload")
    at.file_uploader(key="upload_files_0").set_value([("blob.png", png_bytes(), "image/png")]).run()
    assert image_with(at, "reconstruction")
    at.switch_page("pages/explore.py").run()
    assert_clean(at)
    at.switch_page("pages/upload.py").run()
    assert_clean(at)
    assert any(t.value.startswith("blob.png · reconstruction MSE") for t in at.text)
    assert image_with(at, "reconstruction")
    at.button(key="upload_rm_blob.png").click().run()
    assert_clean(at)
    assert not any(t.value.startswith("blob.png") for t in at.text)
    assert any("Drop one or more" in i.value for i in at.info)


def test_compare_needs_two_models():
    name, dataset = checkpoint_of("pca")
    others = [n for n, d, _ in _zoo() if d == dataset and n != name]
    if not others:
        pytest.skip(f"only one checkpoint on {dataset}")
    at = open_app(name, dataset, "compare", models=[name, others[0]])
    settle(at, lambda at: any(b.key == "attr" for b in at.selectbox))
    key = "models"
    assert_clean(at)
    assert len(at.dataframe[0].value) == 2
    edits = [img.value for img in at.image]
    attributes = at.selectbox(key="attr")
    attributes.set_value(attributes.options[-1]).run()
    assert_clean(at)
    assert [img.value for img in at.image] != edits, "another attribute edits differently"
    edits = [img.value for img in at.image]
    at.radio(key="compare_dir").set_value("classifier normal").run()
    assert_clean(at)
    assert [img.value for img in at.image] != edits, "the classifier normal edits differently"
    at.multiselect(key=key).set_value([name]).run()
    assert at.warning and not at.exception


def test_hand_tagged_groups_give_an_edit_slider():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    at.text_input(key="explore_typed").set_value("0, 1, 2, 3").run()
    at.button(key="tag_A").click().run()
    at.text_input(key="explore_typed").set_value("4, 5, 6, 7").run()
    at.button(key="tag_B").click().run()
    assert_clean(at)
    assert any("4 in A, 4 in B" in c.value for c in at.caption)
    at.switch_page("pages/edit.py").run()
    assert_clean(at)
    tag = next(s for s in at.slider if s.label == "your tags: B → A")
    before = image_with(at, "edited")
    tag.set_value(3.0).run()
    assert_clean(at)
    assert image_with(at, "edited") != before


# -- one page list, links that reproduce a view ---------------------------------------------------
def test_the_page_list_is_pages_folder():
    """Every file in pages/ is a listed page and every listed page exists: nothing else can be
    served by Streamlit's folder discovery, and Home names every page but itself."""
    assert sorted(p.file for p in PAGES) == sorted(f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py"))
    name, dataset = checkpoint_of("pca")
    home = open_app(name, dataset)
    text = " ".join(m.value for m in home.markdown)
    assert all(f"**{p.title}**" in text for p in PAGES[1:])


def test_a_copied_edit_link_reopens_the_same_image():
    name, dataset = checkpoint_of("vae")
    at = open_app(name, dataset, "edit")
    at.number_input(key="sample_i").set_value(7).run()
    top = at.slider[0]
    top.set_value(top.min).run()
    attribute = next((s for s in at.slider if s.key.startswith("a_")), None)
    if attribute is not None:
        attribute.set_value(1.5).run()
    edited = image_with(at, "edited test #7")
    params = {"sample": at.query_params["sample"], top.key: str(top.min)}
    if attribute is not None:
        params[attribute.key] = "1.5"
    again = open_app(name, dataset, "edit", **params)
    assert_clean(again)
    assert image_with(again, "edited test #7") == edited


@pytest.mark.parametrize("params,expect", [
    ({"ckpt": "no_such_model"}, "not in this zoo"),
    ({"sample": "test:99999999"}, "does not exist"),
    ({"sample": "upload:someone-elses.png"}, "no image named"),
    ({"sample": "code:1,2,nan"}, "finite"),
    ({"sample": "%%garbage"}, "kind:value"),
])
def test_stale_or_garbage_link_parameters_fall_back_with_a_notice(params, expect):
    name, dataset = checkpoint_of("pca")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update({"ckpt": name, "z0": "not-a-number", **params})
    at.switch_page("pages/edit.py").run()
    assert_clean(at)
    assert image_with(at, "edited test #0")
    assert any(expect in t.value for t in at.toast), [t.value for t in at.toast]


def test_a_link_to_a_datasets_first_checkpoint_reopens_it():
    """A bound widget leaves its default out of the URL: choosing faces' first checkpoint gives a
    link without `ckpt`, so the dataset must be in the link too (`?data=faces`), or the link would
    open mnist's first checkpoint instead."""
    rows = [(n, d) for n, d, _ in _zoo() if d == "faces"]
    if not rows:
        pytest.skip("no faces checkpoint in the zoo")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["data"] = "faces"
    at.run()
    assert_clean(at)
    shown = at.sidebar.selectbox(key="ckpt")
    assert at.session_state["model_name"] == shown.options[0] == shown.value
    assert at.session_state["model_name"] in dict(rows)


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """The bytes of every media file (images, downloads) the app hands to the browser, by file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def download(at: AppTest, served: dict, label: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    return served[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


@pytest.mark.parametrize("page", ["edit", "interpolate"])
def test_an_exported_state_replays_to_the_same_png(page, served, tmp_path):
    from latentlab.cli import main as cli

    name, dataset = checkpoint_of("vae")
    at = open_app(name, dataset, page)
    if page == "edit":
        top = at.slider[0]
        top.set_value(top.max).run()
    assert_clean(at)
    (tmp_path / "state.json").write_bytes(download(at, served, "State"))
    assert cli(["replay", str(tmp_path / "state.json"), "--out", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").read_bytes() == download(at, served, "PNG"), "replay is pixel-identical"


def test_a_handed_over_code_opens_on_edit():
    name, dataset = checkpoint_of("vae")
    at = open_app(name, dataset)
    d = at.session_state["model_name"] and json.loads((ZOO_DIR / name / "config.json").read_text())["model_args"]["latent_dim"]
    at = open_app(name, dataset, "edit", sample="code:" + ",".join(["0.5"] * d))
    assert_clean(at)
    assert image_with(at, f"edited a {d}-d code")
    assert at.radio(key="sample_src").value == "Handed-over code"


def test_a_split_not_yet_encoded_is_encoded_in_the_background(tmp_path, monkeypatch):
    """Explore on the train split of a checkpoint whose train latents are not cached: the page
    shows progress (or is already done), never blocks, and draws the map once the task is done."""
    import time

    import streamlit as st

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    from latentlab.ui import tasks

    # earlier tests' pages (Anomaly, Features) may have encoded this split in this process already
    st.cache_resource.clear()
    monkeypatch.setattr(tasks, "_TASKS", {})
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore", split="train")
    assert at.get("progress") and any(b.label == "Cancel" for b in at.button), "progress and Cancel"
    assert at.title[0].value == "Explore" and not has_map(at)
    t0 = time.monotonic()
    while not has_map(at) and time.monotonic() - t0 < 120:
        assert_clean(at)
        time.sleep(0.5)
        at.run()
    assert_clean(at)
    assert has_map(at), "the train map is drawn after the background encode"
    assert list(tmp_path.rglob("*latents-train.npz")), "the child wrote the train latents to the cache"


def test_glossary_defines_every_metric_the_tables_show_and_filters():
    from latentlab.ui.glossary import TERMS
    from latentlab.ui.widgets import METRICS

    assert all(help_ in TERMS.values() for _, _, help_ in METRICS.values())
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "glossary", term="KL")
    assert_clean(at)
    shown = [m.value for m in at.main.markdown if m.value.startswith("**")]
    assert shown and all("KL" in s for s in shown) and any(s.startswith("**KL**") for s in shown)


def test_interpolate_says_what_the_classifier_sees():
    """The verdict printed for a path is the data classifier's count on the very frames shown."""
    import latentlab
    from latentlab.latent import crossfade, path
    from latentlab.latent.interpolate import path_verdict
    from latentlab.metrics.classifier import load_classifier
    from latentlab.zoo import dataset_of

    name, dataset = "mnist_vae", "mnist"
    at = open_app(name, dataset, "interpolate", a="test:0", b="test:900", steps="8")
    assert_clean(at)
    model = latentlab.load(name)
    x = dataset_of(model).x_test
    with __import__("torch").inference_mode():
        codes = path(model.encode(x[[0, 900]]), 8)
        frames = model.decode(codes)
    expected = path_verdict(frames, crossfade(x[0:1], x[900:901], 8), load_classifier("mnist"))
    assert any(m.value == expected["sentence"] for m in at.main.markdown), [m.value for m in at.main.markdown]


def test_upload_says_whether_an_image_is_like_the_training_data():
    name, dataset = checkpoint_of("ae")
    noise = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    at = open_app(name, dataset, "upload")
    at.file_uploader(key="upload_files_0").set_value([("noise.png", buf.getvalue(), "image/png")]).run()
    assert_clean(at)
    assert any("unlike the training data" in w.value for w in at.warning), [w.value for w in at.warning]
