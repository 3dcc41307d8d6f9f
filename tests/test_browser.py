"""End to end in a real browser: `streamlit run app.py` driven by headless Chromium via Playwright.

AppTest (tests/test_app.py) runs the scripts without a frontend; these tests cover what only a
browser shows: the sidebar navigation and model picker, a slider released in the Edit fragment
redrawing the image, a file set on the uploader's <input>, plotly drawing (WebGL) and selecting
on the map. Each test leaves a screenshot of its last state in artifacts/screenshots/<test>.png,
also when it fails, and the server's stderr is in artifacts/logs/.

Uses Debian's Chromium at /usr/bin/chromium (never a downloaded browser). Without it the tests
skip, except under CI=true, where they fail. They run with the default checkpoint the sidebar
picks (the first dataset's first model) and a temporary latent cache.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from browser_helpers import (
    CHROMIUM,
    EDITED,
    ROOT,
    SLIDER_INPUT,
    VIEWPORT,
    image,
    launch,
    loaded_src,
    need,
    pick_model,
    pixels,
    serving,
    settled_src,
    wait_idle,
    wait_src,
    wait_src_change,
)
from PIL import Image, ImageDraw

from latentlab.ui.pages import PAGES

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
SLOW = 60_000  # first use of a checkpoint: dataset build and encoding of its split
WAIT = 30_000




try:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT)  # Playwright's 5 s default is short on a busy 2-core machine
except ImportError:  # pragma: no cover - the fixture below reports it
    sync_playwright = None


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        need(f"{CHROMIUM} not found: apt-get install chromium")
    if sync_playwright is None:
        need("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with serving(ARTIFACTS / "logs", "streamlit-tests", tmp_path_factory.mktemp("latentlab-cache")) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    """A fresh browser context (so a fresh Streamlit session) per test; screenshot at the end."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(WAIT)
    pg.page_errors = []
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    yield pg
    try:
        pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    finally:
        context.close()


def shows_server_log(test):
    """On failure, print the tail of the server's stderr (shown with the failure)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except BaseException:
            srv = kwargs.get("server")
            if srv is not None:
                print(f"--- streamlit stderr ({srv.stderr_path}) ---\n{srv.stderr()}")
            raise
    return run


def assert_no_error(page) -> None:
    """No exception box, no traceback text, no uncaught JavaScript error."""
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text
    assert "This app has encountered an error" not in text  # showErrorDetails = "none" shows this instead
    assert not page.page_errors, page.page_errors


def open_page(page, server, path: str = "") -> None:
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible(timeout=SLOW)


def changed(before: bytes, after: bytes) -> float:
    """Mean absolute pixel difference (0-255) of two screenshots of the same element."""
    a, b = pixels(before), pixels(after)
    if a.shape != b.shape:
        return 255.0
    return float(np.abs(a - b).mean())


# -- images to upload -----------------------------------------------------------------------------
def digit_png(path) -> str:
    """A '7' in thick white strokes on black, 112 px: MNIST-like."""
    im = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(im).line([(30, 22), (82, 22), (48, 96)], fill=255, width=12)
    im.save(path)
    return str(path)


def face_png(path) -> str:
    """A cartoon face on a light background, 96 px RGB: faces-like."""
    im = Image.new("RGB", (96, 96), (235, 225, 210))
    d = ImageDraw.Draw(im)
    d.ellipse([18, 12, 78, 84], fill=(224, 172, 138))
    d.ellipse([32, 36, 42, 46], fill=(40, 30, 30))
    d.ellipse([54, 36, 64, 46], fill=(40, 30, 30))
    d.arc([34, 50, 62, 72], 20, 160, fill=(150, 40, 40), width=3)
    im.save(path)
    return str(path)


# -- tests ----------------------------------------------------------------------------------------
@shows_server_log
def test_home_renders_with_model_picker(page, server):
    """Home draws its zoo table and a reconstruction grid; the sidebar lists every page and the
    picker switches the checkpoint (the card's hash and the page heading follow)."""
    open_page(page, server)
    expect(page.get_by_role("heading", name="latentlab", exact=True)).to_be_visible(timeout=SLOW)
    sidebar = page.get_by_test_id("stSidebar")
    for spec in PAGES:
        expect(sidebar.get_by_role("link", name=re.compile(rf"\b{spec.title}$"))).to_be_visible()
    picker = sidebar.get_by_role("combobox", name="Checkpoint")
    expect(sidebar.get_by_role("combobox", name="Dataset")).to_be_visible()
    expect(picker).to_be_visible()
    grid = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
    expect(grid).to_be_visible(timeout=SLOW)
    first = picker.input_value()
    expect(page.get_by_role("heading", name=re.compile(rf"^{re.escape(first)}: test images"))).to_be_visible()
    assert_no_error(page)

    picker.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    if options.count() < 2:
        pytest.skip("only one checkpoint for the default dataset: nothing to switch to")
    other = options.nth(1).inner_text()
    options.nth(1).click()
    expect(page.get_by_role("heading", name=re.compile(rf"^{re.escape(other)}: test images"))).to_be_visible(timeout=SLOW)
    expect(picker).to_have_value(other)
    assert f"ckpt={other}" in page.url, "the checkpoint is in the URL"
    assert_no_error(page)


@shows_server_log
def test_edit_slider_redraws_image(page, server):
    """Moving a latent slider (keyboard on the focused thumb) redraws the decoded image inside the
    fragment; Reset brings back the unedited image."""
    open_page(page, server, "edit")
    src0 = loaded_src(page, EDITED, timeout=SLOW)
    wait_idle(page)
    before = image(page, EDITED).screenshot()
    slider = page.locator(SLIDER_INPUT).first
    value0 = slider.input_value()
    lo, hi = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
    key = "PageUp" if float(value0) < (lo + hi) / 2 else "PageDown"  # towards the far end
    slider.focus()
    for _ in range(3):  # 3 x 10% of the range, one commit (and fragment rerun) per key press
        slider.press(key)
    wait_src_change(page, EDITED, src0)
    wait_idle(page)
    src1 = loaded_src(page, EDITED)
    assert src1 != src0
    assert slider.input_value() != value0
    after = image(page, EDITED).screenshot()
    diff = changed(before, after)
    print(f"edited image: mean |pixel change| {diff:.2f} / 255")
    assert diff > 0.5, "the edited image's pixels did not change on screen"
    assert_no_error(page)

    page.get_by_role("button", name="Reset").click()
    wait_src(page, EDITED, src0)  # same PNG bytes -> same media URL: the unedited decode is back
    wait_idle(page)
    assert slider.input_value() == value0
    assert_no_error(page)


@shows_server_log
def test_a_copied_link_reopens_the_same_edit_in_a_fresh_browser(page, server, browser):
    """Pick a sample and move a slider on Edit; the page's URL, opened in a new browser context
    (a new session, nothing shared but the link), shows the same edited image."""
    open_page(page, server, "edit?sample=test:5")
    src0 = loaded_src(page, "^edited test #5$", timeout=SLOW)
    wait_idle(page)
    slider = page.locator(SLIDER_INPUT).first
    slider.focus()
    for _ in range(3):
        slider.press("PageDown")
    wait_src_change(page, EDITED, src0)
    page.wait_for_function("() => /[?&]z\\d+=/.test(location.search)")  # the slider reached the URL
    src1 = settled_src(page, EDITED)  # all three key presses' reruns are done
    link = page.url
    edited = page.request.get(src1).body()  # now: a session's media files go when it reruns
    other = browser.new_context(viewport=VIEWPORT)
    try:
        fresh = other.new_page()
        fresh.goto(link)
        shown = loaded_src(fresh, "^edited test #5$", timeout=SLOW)
        # media ids also encode where an image sits in the page, so compare the bytes themselves
        assert fresh.request.get(shown).body() == edited, "the same PNG"
    finally:
        other.close()
    assert_no_error(page)


@shows_server_log
def test_smiling_slider_edits_a_face(page, server):
    """The README's promise: pick a faces VAE, open the attribute directions, drag the smile
    slider up and the decoded face changes (most of all around the mouth). One slider for the
    smile level: "smiling"/"frowning" are thresholds of it (directions.edit_targets)."""
    open_page(page, server, "edit")
    if pick_model(page, "faces_vae") != "faces_vae":
        pytest.skip("faces_vae is not in the zoo")
    page.get_by_role("tab", name="Attribute directions").click()
    src0 = loaded_src(page, EDITED, timeout=SLOW)
    wait_idle(page)
    before = image(page, EDITED).screenshot()
    slider = page.get_by_test_id("stSlider").filter(has_text=re.compile(r"\bsmile · leak")).locator("input[type=range]")
    slider.wait_for(timeout=180_000)  # directions ship in the zoo's cache; fitted in the background if not
    slider.focus()
    for _ in range(4):  # 4 x 10% of the -3..3 range: +2.4 standard deviations
        slider.press("PageUp")
    wait_src_change(page, EDITED, src0, timeout=WAIT)
    wait_idle(page)
    after = image(page, EDITED).screenshot()
    page.screenshot(path=str(SHOTS / "test_smiling_slider_edits_a_face.png"), full_page=True)
    a, b = pixels(before), pixels(after)
    h = a.shape[0]
    lower, upper = np.abs(a - b)[h // 2:].mean(), np.abs(a - b)[: h // 3].mean()
    print(f"smiling +2.4: mean |pixel change| lower half {lower:.2f}, top third {upper:.2f} / 255")
    assert lower > 1.0 and lower > upper, "the edit should change the face, mostly below the eyes"
    assert_no_error(page)


@shows_server_log
def test_upload_reconstructs_and_refuses_broken_file(page, server, tmp_path):
    """A PNG set on the uploader is reconstructed (input, reconstruction, error map, neighbours);
    a text file named .png gets a clear error naming it and the page goes on working."""
    broken = tmp_path / "broken.png"
    broken.write_text("this is not an image\n")
    open_page(page, server, "upload")
    expect(page.get_by_text("Drop one or more")).to_be_visible(timeout=SLOW)

    page.set_input_files("input[type=file]", digit_png(tmp_path / "seven.png"))
    expect(image(page, "^reconstruction$")).to_have_count(1, timeout=SLOW)
    loaded_src(page, "^reconstruction$")
    expect(page.get_by_text(re.compile(r"seven\.png · reconstruction MSE \d"))).to_be_visible()
    loaded_src(page, "^nearest test images by code")
    assert_no_error(page)

    page.set_input_files("input[type=file]", str(broken))
    alert = page.get_by_test_id("stAlert").filter(has_text="broken.png")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("not an image")
    expect(image(page, "^reconstruction$")).to_have_count(1)  # seven.png is still shown
    assert_no_error(page)

    page.set_input_files("input[type=file]", face_png(tmp_path / "face.png"))
    expect(image(page, "^reconstruction$")).to_have_count(2, timeout=WAIT)
    expect(page.get_by_text(re.compile(r"face\.png · reconstruction MSE \d"))).to_be_visible()
    expect(alert).to_have_count(0)  # refusals are reported for the upload they came with
    plot = page.locator(".js-plotly-plot").first
    expect(plot.locator(".main-svg").first).to_be_visible()
    assert_no_error(page)


@shows_server_log
def test_interpolate_strip_follows_endpoints_steps_and_method(page, server):
    """The latent path strip appears, and changes with endpoint A, with the number of steps (a
    wider strip) and with the method (linear -> slerp)."""
    open_page(page, server, "interpolate")
    path = "path in latent space"
    src0 = loaded_src(page, rf"^linear {path}, 8 frames$", timeout=SLOW)
    loaded_src(page, "^there and back$")
    wait_idle(page)

    a = page.get_by_test_id("stNumberInput").first.locator("input")
    a.fill("5")
    a.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^test #5 → test #\d+"))).to_be_visible()
    src1 = wait_src_change(page, path, src0)
    wait_idle(page)
    strip = image(page, path)
    width8 = strip.evaluate("img => img.naturalWidth")

    steps = page.locator(SLIDER_INPUT).first
    steps.focus()
    steps.press("ArrowRight")
    steps.press("ArrowRight")
    expect(page.get_by_text(re.compile(rf"^linear {path}, 10 frames$"))).to_be_visible()
    src2 = wait_src_change(page, path, src1)
    wait_idle(page)
    assert strip.evaluate("img => img.naturalWidth") > width8, "10 frames should make a wider strip than 8"

    page.get_by_text("slerp", exact=True).click()
    expect(page.get_by_text(re.compile(rf"^slerp {path}, 10 frames$"))).to_be_visible()
    assert wait_src_change(page, path, src2) != src2
    expect(page.get_by_role("heading", name="Does the path stay on the data?")).to_be_visible()
    assert_no_error(page)


@shows_server_log
def test_explore_map_draws_and_lasso_selects(page, server):
    """The 2-D map is drawn (the WebGL map has laid out every point and has colour on screen), and
    a lasso drawn with the mouse selects points whose images then appear."""
    open_page(page, server, "explore")
    canvas = page.locator(".ll-map canvas").first
    expect(canvas).to_be_visible(timeout=SLOW)
    page.wait_for_function("() => Object.values((window.__latentlab || {}).maps || {}).some(m => m.drawn && m.n > 100)",
                           timeout=SLOW, polling=100)
    wait_idle(page)
    rgb = pixels(canvas.screenshot())
    saturated = (rgb.max(-1) - rgb.min(-1)) > 60  # coloured points, not white/grey chrome
    assert saturated.sum() > 500, "the map has no coloured points on screen"

    area = canvas.bounding_box()  # the WebGL map's default mode is lasso
    cx, cy, r = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2, 70
    page.mouse.move(cx - r, cy - r)
    page.mouse.down()
    for dx, dy in ((r, -r), (r, r), (-r, r), (-r, -r + 10)):  # released off the start: a drag, not a click
        page.mouse.move(cx + dx, cy + dy, steps=6)
    page.mouse.up()
    selected = page.get_by_role("heading", name=re.compile(r"^\d+ selected$"))
    expect(selected).to_be_visible()
    assert int(selected.inner_text().split()[0]) > 0
    loaded_src(page, "^originals$")
    loaded_src(page, "^reconstructions$")
    assert_no_error(page)


@shows_server_log
def test_explore_single_click_selects_the_clicked_point(page, server):
    """In the map's default (lasso) mode, one click on a point selects that point: the page
    shows "1 selected" and its sample number matches the point's own row index."""
    open_page(page, server, "explore")
    expect(page.locator(".ll-map canvas").first).to_be_visible(timeout=SLOW)
    page.wait_for_function("() => Object.values((window.__latentlab || {}).maps || {}).some(m => m.drawn)",
                           timeout=SLOW, polling=100)
    wait_idle(page)
    # screen position and row index of one point, read from the drawn plot itself
    target = page.evaluate("""() => {
        const m = Object.values(window.__latentlab.maps).find(m => m.drawn), i = Math.floor(m.n / 2);
        const [x, y] = m.plot.getScreenPosition(i), box = m.plot.get('canvas').getBoundingClientRect();
        return {x: box.left + x, y: box.top + y, row: m.rows[i]};
    }""")
    page.mouse.move(target["x"], target["y"])
    expect(page.locator(".ll-map .tip")).to_contain_text("sample #")  # the pointer is on a point
    row = int(re.search(r"sample #(\d+)", page.locator(".ll-map .tip").inner_text()).group(1))
    page.mouse.down()
    page.mouse.up()
    selected = page.get_by_role("heading", name=re.compile(r"^\d+ selected$"))
    expect(selected).to_be_visible()
    assert selected.inner_text() == "1 selected"
    assert page.evaluate("() => Object.values(window.__latentlab.maps).find(m => m.drawn).selection") == [row]
    expect(page.get_by_text(f"Samples: #{row} ")).to_be_visible()
    assert_no_error(page)


@shows_server_log
def test_compare_reached_from_sidebar_shows_models_side_by_side(page, server):
    """Navigating by the sidebar link opens Compare; every chosen model gets a reconstruction row
    and a map column with its points drawn."""
    open_page(page, server)
    page.get_by_test_id("stSidebar").get_by_role("link", name=re.compile(r"\bCompare$")).click()
    expect(page).to_have_url(re.compile(r"/compare$"))
    expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible()
    tags = page.get_by_test_id("stMultiSelect").locator("[data-tag]")
    expect(tags.first).to_be_visible(timeout=SLOW)
    names = [t.split(" · ")[0] for t in tags.all_inner_texts()]
    assert len(names) >= 2, names
    expect(page.get_by_role("heading", name="Their maps")).to_be_visible(timeout=SLOW)
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(len(names), timeout=SLOW)
    for k in range(len(names)):
        page.wait_for_function("gd => (gd._fullData || []).some(t => t._length > 0)",
                               arg=plots.nth(k).element_handle(), polling="raf")
    main = page.get_by_test_id("stMain")
    for name in names:  # each model's row note and map column title carry its name
        expect(main.get_by_text(name, exact=True).filter(visible=True).first).to_be_visible()
    imgs = main.get_by_test_id("stImage").locator("img")
    # input + a reconstruction and an interpolation row per model (+ an edit row if labelled)
    page.wait_for_function("n => document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')"
                           ".length >= n", arg=1 + 2 * len(names), timeout=SLOW)
    wait_idle(page)
    for k in range(imgs.count()):
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=imgs.nth(k).element_handle())
    assert_no_error(page)
    page.get_by_role("heading", name="Their maps").scroll_into_view_if_needed()  # for the screenshot
