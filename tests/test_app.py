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

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["home", "explore", "edit", "interpolate", "upload", "compare"]
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
        out.append((name, config["dataset"]["name"], config["architecture"]))
    return out


def checkpoint_of(family: str) -> tuple[str, str]:
    """A (name, dataset) of this family on the cheapest dataset that has one, else skip."""
    candidates = [(n, d) for n, d, arch in _zoo() if arch == family]
    candidates.sort(key=lambda nd: (DATASET_PREFERENCE.index(nd[1]) if nd[1] in DATASET_PREFERENCE else 9,
                                    nd[0] != f"{nd[1]}_{family}"))
    if not candidates:
        pytest.skip(f"no {family} checkpoint in checkpoints/ yet")
    return candidates[0]


def open_app(name: str, dataset: str, page: str = "home") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["pick_dataset"] = dataset
    at.session_state[f"pick_ckpt_{dataset}"] = name
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
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
    for page in PAGES:
        if page != "home":
            at.switch_page(f"pages/{page}.py").run()
        assert_clean(at)
        assert at.title, f"{page} drew no title"
        assert at.session_state["model_name"] == name, f"the model choice was lost on {page}"


def test_a_page_opened_first_in_a_fresh_process_still_gets_the_sidebar():
    # With a pages/ folder Streamlit starts in v1 multipage mode: before any session has called
    # st.navigation, /explore runs pages/explore.py alone. The page must rerun through app.py.
    name, dataset = checkpoint_of("pca")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state[f"pick_ckpt_{dataset}"] = name
    at.session_state["pick_dataset"] = dataset
    at.switch_page("pages/explore.py").run()
    assert_clean(at)
    assert [t.value for t in at.title] == ["Explore"]
    assert [s.label for s in at.sidebar.selectbox] == ["Dataset", "Checkpoint"]
    assert at.get("plotly_chart"), "the map is drawn"


# -- page behaviour ------------------------------------------------------------------------------
def test_home_lists_the_zoo_and_shows_reconstructions():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset)
    table = at.dataframe[0].value
    assert set(zoo_names()) == set(table["checkpoint"])
    first = at.image[0].value[0]
    at.number_input(key="home_seed").set_value(3).run()
    assert at.image[0].value[0] != first


def test_explore_selection_shows_images_and_sends_to_interpolate():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    index = [int(c[0]) for trace in spec["data"] for c in trace["customdata"]]
    assert sorted(index) == list(range(len(index))), "every point carries its row index"
    at.text_input(key="explore_typed").set_value("3, 17").run()
    assert_clean(at)
    assert image_with(at, "originals") and image_with(at, "reconstructions")
    at.button(key="explore_to_interp").click().run()
    assert_clean(at)
    assert at.title[0].value == "Interpolate"
    assert [n.value for n in at.number_input][:2] == [3, 17]


def test_explore_colour_changes_the_map():
    name, dataset = checkpoint_of("pca")
    at = open_app(name, dataset, "explore")
    before = at.get("plotly_chart")[0].proto.spec
    at.selectbox(key="explore_colour").set_value("reconstruction error").run()
    assert_clean(at)
    assert at.get("plotly_chart")[0].proto.spec != before


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
    attribute = next(s for s in at.slider if "_a_" in s.key)
    attribute.set_value(2.5).run()
    along_mean_difference = image_with(at, "edited")
    assert along_mean_difference not in (original, moved)
    method = next(r for r in at.radio if r.key.endswith("_method"))
    method.set_value("classifier normal").run()
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
    at.slider(key="interp_steps").set_value(5).run()
    assert_clean(at)
    fewer = image_with(at, "linear path")
    assert fewer != strip
    at.radio(key="interp_method").set_value("slerp (great circle)").run()
    assert image_with(at, "slerp path") != fewer
    assert at.download_button, "the GIF can be downloaded"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(plotly_array(spec["data"][-1]["x"])) == 5, "the path on the map has one point per frame"


def test_upload_reconstructs_a_valid_image_and_rejects_a_broken_one():
    name, dataset = checkpoint_of("ae")
    at = open_app(name, dataset, "upload")
    at.file_uploader(key="upload_files").set_value([
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


def test_compare_needs_two_models():
    name, dataset = checkpoint_of("pca")
    others = [n for n, d, _ in _zoo() if d == dataset and n != name]
    if not others:
        pytest.skip(f"only one checkpoint on {dataset}")
    at = open_app(name, dataset, "compare")
    key = f"compare_models_{dataset}"
    at.multiselect(key=key).set_value([name, others[0]]).run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == 2
    edits = [img.value for img in at.image]
    attributes = at.selectbox(key="compare_attribute")
    attributes.set_value(attributes.options[-1]).run()
    assert_clean(at)
    assert [img.value for img in at.image] != edits, "another attribute edits differently"
    edits = [img.value for img in at.image]
    at.radio(key="compare_direction_method").set_value("classifier normal").run()
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
