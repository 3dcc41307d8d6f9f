"""The issue-12 pages in a real browser: `streamlit run app.py` and headless Chromium (see
tests/test_browser.py for the set-up). Each page is opened by its link and its main figure is
waited for, through the page's background task: Anomaly's histogram and ROC, Restore's
latent-optimisation image (and a mask painted with the mouse on the canvas), Generate's grid of
requested digits, Features' probe curve after pressing its start button.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import loaded_src, plot_points, wait_idle
from test_browser import (  # noqa: F401 - browser, page, server: test_browser's fixtures, registered here
    SLOW,
    assert_no_error,
    browser,
    open_page,
    page,
    server,
    shows_server_log,
)

pytestmark = pytest.mark.browser
TASK = 240_000  # a background task on a busy 2-core machine: a spawned child imports torch first


def plots_drawn(tab, n: int) -> list:
    plots = tab.locator(".js-plotly-plot")
    for k in range(n):
        tab.wait_for_function("gd => (gd._fullData || []).some(t => t._length > 0)",
                               arg=plots.nth(k).element_handle(timeout=TASK), polling="raf", timeout=TASK)
    return [plots.nth(k) for k in range(n)]


@shows_server_log
def test_anomaly_draws_histogram_and_roc(page, server):  # noqa: F811
    open_page(page, server, "anomaly?ckpt=mnist_ae_only3&an_score=recon&an_ref=500")
    hist, roc = plots_drawn(page, 2)
    assert plot_points(roc) > 10 and plot_points(hist) > 100  # a ROC polyline; a histogram of 1000 scores
    auroc = page.get_by_test_id("stMetric").filter(has_text="AUROC")
    assert 0.5 < float(re.search(r"\d\.\d{3}", auroc.inner_text()).group()) <= 1
    assert_no_error(page)


@shows_server_log
def test_restore_shows_latent_optimisation_and_takes_a_painted_mask(page, server):  # noqa: F811
    open_page(page, server, "restore?rs_steps=50&rs_models=mnist_ae")
    loaded_src(page, "^latent optimisation · ", timeout=TASK)
    wait_idle(page)
    page.get_by_text("painted mask", exact=True).click()
    canvas = page.locator("canvas.upper-canvas").first  # Fabric.js's event layer
    canvas.wait_for(timeout=SLOW)
    box = canvas.bounding_box()
    x0, y = box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"]
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x0 + 0.4 * box["width"], y, steps=12)
    page.mouse.up()
    heading = page.get_by_role("heading", name=re.compile(r"\d+ painted pixels hidden"))
    heading.wait_for(timeout=SLOW)
    assert int(re.search(r"(\d+) painted", heading.inner_text()).group(1)) > 5
    loaded_src(page, "^latent optimisation · ", timeout=TASK)
    assert_no_error(page)


@shows_server_log
def test_generate_draws_the_requested_digit(page, server):  # noqa: F811
    open_page(page, server, "generate?gen_digit=7&gen_n=16")
    loaded_src(page, "^digit = 7: 16 samples", timeout=TASK)
    agreement = page.get_by_test_id("stMetric").filter(has_text="agreement: digit")
    assert re.search(r"\d+\.\d%", agreement.inner_text(timeout=TASK))
    assert_no_error(page)


@shows_server_log
def test_features_draws_the_probe_curve(page, server):  # noqa: F811
    open_page(page, server, "features?ft_probe=knn&ft_max=5&ft_seeds=1&ft_reps=mnist_ae")
    page.get_by_role("button", name=re.compile("^Compute the knn curves")).click(timeout=SLOW)
    (curve,) = plots_drawn(page, 1)
    assert plot_points(curve) >= 3  # 1, 2 and 5 labels per class
    assert_no_error(page)
