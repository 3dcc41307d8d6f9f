"""Issue 11's "Done when", as a new user does it, in a real browser: upload a zip of one's own
images on the Train page, train a small VAE, close the tab, come back in a fresh browser context
to the finished job, and open the new checkpoint on Explore and Edit.

AppTest (tests/test_app_train.py) covers the page's refusals, Cancel and Resume without a
frontend; this covers what only the browser does: the uploader's <input>, a name typed and
clicked away from at once (it reaches the server with the click), the job outliving the tab, and
the pages reading a checkpoint from the user's root rather than the shipped zoo. The server gets
its own LATENTLAB_HOME and LATENTLAB_CACHE, so nothing lands in the real zoo.

Budget: 300 optimiser steps on 32×32 images (about 40 s of training on one busy CPU thread).
"""

from __future__ import annotations

import io
import os
import random
import re
import time
import zipfile

import pytest
from browser_helpers import CHROMIUM, EDITED, ROOT, launch, loaded_src, need, serving, wait_idle
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
NAME = "my_blobs_vae"
N_IMAGES, EPOCHS = 200, 100  # 160 train images, batch 64: 3 steps an epoch, 300 steps (the
#                              loss leaves the mean-image plateau near step 100; margin against collapse)
JOB_TIMEOUT = 240  # seconds; the job takes well under half of this on an idle core
SLOW = 120_000
VIEWPORT = {"width": 1400, "height": 3000}  # tall: the job's curves and grid sit below the form

try:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
except ImportError:  # pragma: no cover - the fixture below reports it
    sync_playwright = None




def shapes_zip(path, n: int = N_IMAGES, seed: int = 0) -> str:
    """`n` 64×64 PNGs, each one coloured disc or square at a random place and size on light grey
    (learnable: a few factors of variation), zipped in a folder as a person would."""
    rng = random.Random(seed)
    colours = [(220, 40, 40), (40, 160, 60), (40, 80, 220), (230, 180, 30), (150, 50, 180)]
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            im = Image.new("RGB", (64, 64), (235, 235, 235))
            r = rng.randint(8, 16)
            cx, cy = rng.randint(r + 2, 62 - r), rng.randint(r + 2, 62 - r)
            draw = ImageDraw.Draw(im)
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((cx - r, cy - r, cx + r, cy + r), fill=rng.choice(colours))
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            zf.writestr(f"my_shapes/shape_{i:03d}.png", buf.getvalue())
    return str(path)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """LATENTLAB_HOME for the server and for this process (which reads the job's status)."""
    root = tmp_path_factory.mktemp("train-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_HOME", str(root / "home"))
        yield root


@pytest.fixture(scope="module")
def server(home):
    if not CHROMIUM.exists():
        need(f"{CHROMIUM} not found: apt-get install chromium")
    if sync_playwright is None:
        need("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with serving(ARTIFACTS / "logs", "streamlit-train", home / "cache") as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def fresh_page(browser, shot: str):
    """A new browser context (a new Streamlit session, as after closing the tab)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(SLOW)
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    page.shot = str(SHOTS / f"test_browser_train_{shot}.png")
    return context, page


def close(context, page) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=page.shot)
    finally:
        context.close()


def assert_clean(page) -> None:
    """No exception box, no error alert, no traceback, no uncaught JavaScript error."""
    wait_idle(page, SLOW)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "This app has encountered an error" not in text
    assert not page.page_errors, page.page_errors


def start_job(page, url: str, zip_path: str) -> None:
    """Train page: my images (the zip, at 32 px), VAE, EPOCHS epochs, the name typed and the
    button clicked straight away."""
    page.goto(f"{url}/train")
    expect(page.get_by_text("New model", exact=True)).to_be_visible(timeout=SLOW)
    wait_idle(page, SLOW)
    page.get_by_text("My images", exact=True).click()
    page.set_input_files("input[type=file]", zip_path)
    expect(page.get_by_text(os.path.basename(zip_path)).first).to_be_visible()
    page.get_by_role("combobox", name="Train at (pixels a side)").click()
    page.get_by_role("option", name="32", exact=True).click()
    wait_idle(page, SLOW)
    expect(page.get_by_role("combobox", name="Family")).to_have_value("vae")
    page.get_by_role("spinbutton", name="Epochs").fill(str(EPOCHS))
    page.get_by_label("Name of the new checkpoint").fill(NAME)
    page.get_by_role("button", name=re.compile("Start training")).click()
    expect(page.get_by_text(re.compile(f"Queued {NAME}: {N_IMAGES} images")).first).to_be_visible(timeout=SLOW)


def wait_for_job(name: str) -> str:
    """The job's final state, polled from its folder (no browser open meanwhile)."""
    from latentlab import jobs

    deadline = time.time() + JOB_TIMEOUT
    while time.time() < deadline:
        views = [v for v in jobs.list_jobs() if v.name == name]
        if views and views[0].state not in ("queued", "running"):
            return views[0].state + (f": {views[0].message}" if views[0].message else "")
        time.sleep(1)
    pytest.fail(f"job {name} not finished after {JOB_TIMEOUT} s")


def test_a_model_trained_on_my_zip_outlives_the_tab_and_opens_on_explore_and_edit(browser, server, home):
    zip_path = shapes_zip(home / "my_shapes.zip")
    context, page = fresh_page(browser, "1_started")
    try:
        start_job(page, server.url, zip_path)
        assert_clean(page)
    finally:
        close(context, page)  # the tab is gone; the job goes on

    state = wait_for_job(NAME)
    assert state.startswith("completed"), f"{state}\n{server.stderr()}"

    context, page = fresh_page(browser, "2_finished")
    try:
        page.goto(f"{server.url}/train")
        expect(page.get_by_role("heading", name=f"{NAME} · completed")).to_be_visible(timeout=SLOW)
        expect(page.get_by_text("test images (top) and their reconstructions")).to_be_visible()
        assert_clean(page)
    finally:
        close(context, page)

    for name in ("explore", "edit"):
        context, page = fresh_page(browser, f"3_{name}")
        try:
            page.goto(f"{server.url}/{name}?ckpt={NAME}")
            picker = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Checkpoint")
            expect(picker).to_have_value(NAME, timeout=SLOW)  # listed, and the link's choice kept
            if name == "edit":
                loaded_src(page, EDITED, timeout=SLOW)
            else:
                expect(page.locator("canvas, .js-plotly-plot").first).to_be_visible(timeout=SLOW)
            assert_clean(page)
        finally:
            close(context, page)
