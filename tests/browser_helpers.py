"""Shared by tests/test_browser.py and scripts/bench_browser.py: a Streamlit server in its own
process group, headless Debian Chromium, and waits that poll the page instead of sleeping.

Selectors are Streamlit 1.67's: `stApp[data-test-script-state]` says whether a script (or a
fragment) is running, slider thumbs are react-aria `input[type=range]` (older releases drew a
baseweb `[role=slider]`), images are `stImage` blocks whose caption is their text.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 1600}  # tall: Streamlit scrolls inside the page, so screenshots
#                                             show the viewport only
EDITED = "^edited "  # caption of the Edit page's decoded image
SLIDER_INPUT = "[data-testid=stSlider] input[type=range]"  # the focusable thumb (react-aria)
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


# -- the server -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free port, stderr to a file, in a process group of its own."""

    def __init__(self, log_dir: Path, name: str = "streamlit", cache_dir: Path | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{name}.stderr"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if cache_dir is not None:
            env["LATENTLAB_CACHE"] = str(cache_dir)
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)

    def stderr(self, tail: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def wait_healthy(self, timeout: float = 60) -> float:
        """Seconds until /_stcore/health answers "ok"; RuntimeError (with stderr) if it never does."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{self.stderr()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._stderr.close()


# -- the browser ------------------------------------------------------------------------------------

def need(reason: str) -> None:
    """A browser test cannot run here: skip it, but fail under CI=true (browser tests must run there)."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@contextlib.contextmanager
def serving(log_dir: Path, name: str, cache_dir: Path | None = None, timeout: float = 60):
    """A started Server for a module fixture: fails the test with the server's stderr if it never
    answers, and is stopped afterwards."""
    import pytest

    srv = Server(log_dir, name, cache_dir=cache_dir)
    try:
        srv.wait_healthy(timeout=timeout)
    except RuntimeError as exc:
        srv.stop()
        pytest.fail(str(exc))
    try:
        yield srv
    finally:
        srv.stop()


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)


def wait_idle(page, timeout: float = 60_000) -> None:
    """Until no script or fragment run is in progress (call after the change you waited for)."""
    page.locator(IDLE).wait_for(state="attached", timeout=timeout)


def image(page, caption: str):
    """The `<img>` of the st.image whose caption matches the regex `caption` (e.g. "^edited ")."""
    return page.locator("[data-testid=stImage]").filter(has_text=re.compile(caption)).locator("img")


_SRC = """([pattern, old, same]) => {
    const re = new RegExp(pattern);
    for (const block of document.querySelectorAll('[data-testid=stImage]')) {
        const img = block.querySelector('img');
        if (img && re.test(block.innerText.trim()) && img.src && (img.src === old) === same
            && img.complete && img.naturalWidth > 0) return img.src;
    }
    return null;
}"""


def wait_src_change(page, caption: str, old: str | None, timeout: float = 30_000) -> str:
    """Poll (every animation frame) until the image captioned `caption` shows a src other than
    `old` and has loaded; return the new src. The element is looked up afresh on each poll, since
    React may replace it."""
    return page.wait_for_function(_SRC, arg=[caption, old, False], timeout=timeout, polling="raf").json_value()


def wait_src(page, caption: str, src: str, timeout: float = 30_000) -> None:
    """Poll until the image captioned `caption` shows (and has loaded) exactly `src`."""
    page.wait_for_function(_SRC, arg=[caption, src, True], timeout=timeout, polling="raf")


def loaded_src(page, caption: str, timeout: float = 30_000) -> str:
    """The src of the image captioned `caption` once it has loaded."""
    return wait_src_change(page, caption, None, timeout)


def settled_src(page, caption: str, quiet_ms: int = 1500, timeout: float = 90) -> str:
    """The src of the image captioned `caption` once it has stopped changing for `quiet_ms` with no
    run in progress: under load, a slider's later key presses rerun after the first new image."""
    src, t0 = loaded_src(page, caption), time.monotonic()
    while time.monotonic() - t0 < timeout:
        page.wait_for_timeout(quiet_ms)
        wait_idle(page)
        now = loaded_src(page, caption)
        if now == src:
            return src
        src = now
    raise AssertionError(f"the image {caption!r} kept changing for {timeout:.0f} s")


def pixels(png: bytes):
    """PNG bytes (e.g. an element screenshot) -> float array [H, W, 3]."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)


def plot_points(plot) -> int:
    """Points plotly has laid out in a `.js-plotly-plot` (SVG or WebGL alike)."""
    return plot.evaluate("gd => (gd._fullData || []).reduce((n, t) => n + (t.visible === true ? t._length || 0 : 0), 0)")


def choose(page, label: str, option: str, timeout: float = 180_000) -> None:
    """Pick `option` in the sidebar combobox `label`, then wait for the Edit image to be redrawn
    (any model switch changes it) and the run to finish."""
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name=label)
    if box.input_value() == option:
        return
    before = loaded_src(page, EDITED, timeout=timeout)
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_src_change(page, EDITED, before, timeout=timeout)
    wait_idle(page, timeout=timeout)


def pick_model(page, name: str) -> str:
    """Select checkpoint `name` on the Edit page (its dataset first); the checkpoint shown."""
    checkpoint = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Checkpoint")
    loaded_src(page, EDITED, timeout=180_000)  # first use: dataset, latents, directions
    wait_idle(page, timeout=180_000)
    datasets = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Dataset")
    dataset = next((d for d in ("mnist", "faces", "shapes") if name.startswith(d + "_")), None)
    if dataset and not datasets.input_value() == dataset:
        choose(page, "Dataset", dataset)
    choose(page, "Checkpoint", name)
    return checkpoint.input_value()
