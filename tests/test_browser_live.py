"""The browser components in headless Chromium, driven with the mouse (tests/live_app.py serves them
outside the app's pages, so they are tested on their own).

- A st.slider dragged with the mouse redraws the page's image DURING the drag (the live overlay's
  distinct frames counted in the page while the button is down), and after release the server's
  image is back on screen and equals the last live frame within 1/255; the same for an
  attribute direction and for scrubbing along an interpolation path.
- With live decoding off (LATENTLAB_LIVE=0) the component says so and the server path still
  updates the image on release.
- The WebGL map of 100,000 points returns the right row indices for a click, a box and a lasso.
- No request leaves 127.0.0.1 (everything the components load is served by the app itself).

Screenshots of each test's last state go to artifacts/screenshots/live_<test>.png.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from browser_helpers import CHROMIUM, ROOT, VIEWPORT, launch, loaded_src, need, wait_idle, wait_src_change
from live_helpers import (
    ScriptServer,
    drag,
    inside,
    lasso,
    live_vs_server,
    map_canvas,
    offsite_requests,
    same_values,
    screen_positions,
    wait_live,
    wait_map,
    wait_server_after,
)

from latentlab.ui.components import assets

pytestmark = pytest.mark.browser

SHOTS = ROOT / "artifacts" / "screenshots"
LOGS = ROOT / "artifacts" / "logs"
MODEL = "faces_vae"




try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the fixture
    sync_playwright = None


def _serve(tmp_path_factory, name: str, env=None):
    if not CHROMIUM.exists():
        need(f"{CHROMIUM} not found: apt-get install chromium")
    if sync_playwright is None:
        need("the playwright package is not installed (pip install -r requirements-dev.txt)")
    for kind in ("live", "scatter"):
        if assets.missing(kind):
            need(assets.missing(kind))
    srv = ScriptServer(LOGS, name, cache_dir=tmp_path_factory.mktemp(name), env=env)
    try:
        srv.wait_healthy(timeout=120)
    except RuntimeError as exc:
        srv.stop()
        pytest.fail(str(exc))
    return srv


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = _serve(tmp_path_factory, "streamlit-live-tests")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        need("the playwright package is not installed")
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.offsite = offsite_requests(pg)
    yield pg
    try:
        pg.screenshot(path=str(SHOTS / f"live_{request.node.name}.png"))
    finally:
        context.close()
    assert not pg.offsite, f"requests left 127.0.0.1: {pg.offsite[:5]}"
    assert not pg.errors, pg.errors


def name_of(view: str, digest: str, suffix: str = "") -> str:
    return f"live_{view}_{digest}{suffix}"


def open_view(page, server, view: str, extra: str = "") -> str:
    """Open a live view; the component's name (key) read from the page once it has mounted."""
    page.goto(f"{server.url}/?view={view}&model={MODEL}{extra}")
    page.wait_for_function("() => Object.keys((window.__latentlab || {}).live || {}).some(k => k.startsWith('live_'))",
                           timeout=180_000, polling=100)
    return page.evaluate("() => Object.keys(window.__latentlab.live).find(k => k.startsWith('live_'))")


def check_drag(page, name: str, label: str, seconds: float = 2.0) -> dict:
    status = wait_live(page, name)
    assert status["live"], f"live decoding did not start: {status.get('reason')}"
    result = drag(page, name, label, seconds=seconds)
    print(f"{name}: {result['distinct']} distinct frames in {result['seconds']:.2f} s of dragging "
          f"({result['fps']:.1f}/s, {result['moves']} mouse moves)")
    assert result["distinct"] >= 5, "the image hardly changed while the slider was dragged"
    after = wait_server_after(page, name, result["release"])
    differ = [(k, a, b) for k, (a, b) in enumerate(zip(after["liveValues"], after["serverValues"])) if abs(a - b) > 1e-6]
    assert same_values(after), f"the server decoded other values than the last live frame: {differ[:5]}"
    assert page.evaluate("(n) => window.__latentlab.canvases[n].style.display", name) == "none", \
        "the overlay should step aside for the server's image"
    diff = live_vs_server(after)
    print(f"last live frame vs the server's decode: max |difference| {diff:.0f} / 255")
    assert diff <= 1, "the in-browser decode differs from the server's by more than 1/255"
    return result


def test_dimension_slider_redraws_while_dragged(page, server):
    check_drag(page, open_view(page, server, "dims"), "z0")
    expect(page.get_by_text("Live: the image follows the slider")).to_be_visible()


def test_attribute_slider_and_path_scrub_are_live(page, server):
    check_drag(page, open_view(page, server, "attr"), "a direction")
    check_drag(page, open_view(page, server, "path", "&method=slerp"), "position t")


def test_server_path_when_live_is_off(browser, tmp_path_factory):
    srv = _serve(tmp_path_factory, "streamlit-live-off", env={"LATENTLAB_LIVE": "0"})
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        name = open_view(page, srv, "dims")
        status = wait_live(page, name)
        assert not status["live"] and "LATENTLAB_LIVE=0" in status["reason"]
        expect(page.get_by_text(re.compile("Live preview off: .* updates when you release"))).to_be_visible()
        src = loaded_src(page, "^edited live$")
        wait_idle(page)
        result = drag(page, name, "z0", seconds=1.0)
        assert result["distinct"] == 0 and not page.evaluate("(n) => (window.__latentlab.canvases || {})[n] || null", name), \
            "nothing is decoded in the browser when live is off"
        wait_src_change(page, "^edited live$", src)  # the server path: a new image after the release
        page.screenshot(path=str(SHOTS / "live_test_server_path_when_live_is_off.png"))
    finally:
        context.close()
        srv.stop()


# -- the map ----------------------------------------------------------------------------------------
N, K = 100_000, 10


def map_data():
    """The scratch app's points as the component draws them: (positions `[N, 2]` in the plot's
    coordinates, row index of each), in drawing order (the same seeded construction)."""
    from latentlab.ui.components.scatter import points_table

    rng = np.random.default_rng(3)
    labels = rng.integers(0, K, N)
    xy = rng.standard_normal((N, 2)) + 4 * np.stack([np.cos(labels), np.sin(labels)], 1)
    table, _ = points_table(xy, labels, True)
    return table[["x", "y"]].to_numpy(np.float64), table["row"].to_numpy()


def selected_rows(page, name: str) -> list[int]:
    return sorted(page.evaluate("(name) => window.__latentlab.maps[name].selection", name))


def wait_selected(page, count: int) -> None:
    expect(page.get_by_role("heading", name=f"{count} selected")).to_be_visible(timeout=60_000)


def test_big_map_selects_the_right_rows(page, server):
    """Click, box and lasso on 100,000 points: the rows the app receives are exactly those whose
    points lie under the click / inside the shape (positions from the drawn plot; the rows from
    the app's own table, drawn in a shuffled order so a point's index is not its row)."""
    page.goto(f"{server.url}/?view=map&n={N}&k={K}")
    name = f"map_{N}_{K}"
    status = wait_map(page, name)
    assert status.get("error") is None, status.get("error")
    assert status["n"] == N
    xy, rows = map_data()
    pos = screen_positions(page, name)
    box = map_canvas(page).bounding_box()

    # a single click, in the default (lasso) mode, on a point with no neighbour within 6 px
    centre = np.array([box["width"] / 2, box["height"] / 2])
    near = np.argsort(np.linalg.norm(pos - centre, axis=1))[:4000]
    alone = next(i for i in near if np.sort(np.linalg.norm(pos[near] - pos[i], axis=1))[1] > 6)
    page.mouse.move(box["x"] + pos[alone, 0], box["y"] + pos[alone, 1])
    # as a person does: the point is under the pointer (its hover label shows) before the click
    expect(page.locator(".ll-map .tip")).to_contain_text(f"sample #{rows[alone]} ")
    page.mouse.down()
    page.mouse.up()
    wait_selected(page, 1)
    assert selected_rows(page, name) == [int(rows[alone])]

    # box over the middle of the map, then a lasso (a triangle over two clusters). The expected
    # rows: points of the app's table inside the shape the plot reports it used (it starts the
    # shape at the first move, not where the button went down).
    page.get_by_role("button", name="Box").click()
    lasso(page, box, [(0.42, 0.4), (0.5, 0.5), (0.58, 0.6)])
    check_selection(page, name, xy, rows, "box")
    page.get_by_role("button", name="Lasso").click()
    lasso(page, box, [(0.3, 0.25), (0.7, 0.3), (0.45, 0.75)])
    check_selection(page, name, xy, rows, "lasso")


def check_selection(page, name: str, xy: np.ndarray, rows: np.ndarray, shape: str) -> None:
    page.wait_for_function("(name) => window.__latentlab.maps[name].selection.length > 1", arg=name, timeout=60_000)
    got = selected_rows(page, name)
    wait_selected(page, len(got))
    digest = hashlib.sha1(",".join(map(str, got)).encode()).hexdigest()[:12]
    expect(page.get_by_text(f"rows digest {digest}")).to_be_visible()  # Python received the same rows
    poly = np.asarray(page.evaluate("(name) => window.__latentlab.maps[name].lasso", name), dtype=np.float64)
    want = set(int(r) for r in rows[inside(poly, xy)])
    overlap = len(want & set(got)) / max(1, len(want | set(got)))
    print(f"{shape}: {len(got)} rows selected, {len(want)} points inside the shape, Jaccard {overlap:.4f}")
    assert len(want) > 100
    assert overlap >= 0.995, f"{shape} selection does not match the points inside it"


# -- the app's pages ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    from browser_helpers import serving

    if not CHROMIUM.exists():
        need(f"{CHROMIUM} not found: apt-get install chromium")
    with serving(LOGS, "streamlit-live-app", tmp_path_factory.mktemp("live-app-cache"), timeout=120) as srv:
        yield srv


def page_component(page) -> str:
    """The live component mounted last (an earlier model's stays registered, unmounted)."""
    page.wait_for_function("() => Object.keys((window.__latentlab || {}).live || {}).length > 0",
                           timeout=180_000, polling=100)
    return page.evaluate("() => Object.keys(window.__latentlab.live).at(-1)")


def test_edit_page_image_follows_the_dragged_slider(page, app_server):
    """On Edit (faces_vae), dragging the most important latent slider, then the smile
    attribute slider, redraws the edited image during the drag; after each release the server's
    image equals the last live frame."""
    from browser_helpers import pick_model

    page.goto(f"{app_server.url}/edit")
    if pick_model(page, MODEL) != MODEL:
        pytest.skip(f"{MODEL} is not in the zoo")
    name = page_component(page)
    label = page.locator("[data-testid=stSlider] input[type=range]").first.get_attribute("aria-label")
    check_drag(page, name, label)
    page.get_by_role("tab", name="Attribute directions").click()  # a code plus direction × strength
    smiling = page.locator("input[type=range][aria-label^='smile · ']").first  # "smile · leak 0.13"
    smiling.wait_for(timeout=180_000)  # directions ship in the zoo's cache; fitted in the background if not
    check_drag(page, name, smiling.get_attribute("aria-label"))


def test_interpolate_scrub_follows_the_thumb(page, app_server):
    page.goto(f"{app_server.url}/interpolate")
    check_drag(page, page_component(page), "position along the path")
