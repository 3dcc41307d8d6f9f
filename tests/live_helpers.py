"""Browser measurements of the live components, shared by tests/test_browser_live.py and
scripts/bench_browser.py: drag a slider with the mouse and count the distinct frames the
canvas showed, read the component's status, and draw a lasso or a box on the WebGL map.

Frames are counted inside the page, independently of the component's own counter: a
requestAnimationFrame loop hashes the canvas's pixels every display frame and counts changes,
so a frame is counted only if it reached the canvas and differs from the one before.
"""

from __future__ import annotations

import time

import numpy as np

STATUS = "(name) => { const s = (window.__latentlab || {}).live || {}; return s[name] ? {...s[name]} : null; }"
MAP = "(name) => { const s = (window.__latentlab || {}).maps || {}; return s[name] ? {...s[name], scatterplot: undefined} : null; }"

COUNT_FRAMES = """(name) => {
    const hash = () => {  // the overlay canvas appears with the first live frame; none: nothing drawn
        const canvas = ((window.__latentlab || {}).canvases || {})[name];
        if (!canvas || canvas.style.display === 'none') return 0;
        const ctx = canvas.getContext('2d', {willReadFrequently: true});
        const px = new Uint32Array(ctx.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
        let h = 2166136261;
        for (let i = 0; i < px.length; i++) h = Math.imul(h ^ px[i], 16777619);
        return h >>> 0;
    };
    const F = window.__frames = {distinct: 0, ticks: 0, times: [], moves: [], run: true, last: hash()};
    document.addEventListener('pointermove', (e) => { if (F.run && e.buttons) F.moves.push(performance.now()); }, true);
    const tick = () => {
        if (!F.run) return;
        const h = hash();
        F.ticks++;
        if (h !== F.last) { F.distinct++; F.times.push(performance.now()); F.last = h; }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
}"""


def wait_live(page, name: str, timeout: float = 120_000) -> dict:
    """Until the component `name` has decided whether it decodes live; its status."""
    page.wait_for_function(f"(name) => {{ const s = ({STATUS})(name); return s && (s.live || s.reason); }}",
                           arg=name, timeout=timeout, polling=100)
    return page.evaluate(STATUS, name)


def slider_geometry(page, label: str) -> tuple[float, float, float, float]:
    """(x of the thumb's centre, y, track left, track right) of the st.slider labelled `label`."""
    slider = page.get_by_test_id("stSlider").filter(has=page.locator(f"input[aria-label='{label}']")).first
    thumb = slider.locator(f"input[aria-label='{label}']").locator("..").locator("..").bounding_box()
    track = slider.get_by_role("group").first.bounding_box()
    return (thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2,
            track["x"] + thumb["width"] / 2, track["x"] + track["width"] - thumb["width"] / 2)


def drag(page, name: str, label: str, seconds: float = 3.0, rate: float = 60.0) -> dict:
    """Press the slider's thumb, sweep it across the track and back for `seconds`, release.

    The mouse is moved in short hops of 2 events each (one Playwright call per hop, paced to
    `rate` events per second), so the Python round trip does not cap the event rate. Distinct
    canvas frames and delivered pointermove events are counted in the page while the button is down."""
    x, y, left, right = slider_geometry(page, label)
    page.evaluate(COUNT_FRAMES, name)
    page.mouse.move(x, y)
    page.mouse.down()
    t0 = time.perf_counter()
    start = page.evaluate("() => performance.now()")
    k, hop = 0, 2
    while (elapsed := time.perf_counter() - t0) < seconds:
        phase = (elapsed / seconds * 2) % 2  # there and back once
        frac = phase if phase < 1 else 2 - phase
        target = left + (right - left) * (0.1 + 0.8 * frac)
        page.mouse.move(x + (target - x) * min(1.0, elapsed / 0.2), y, steps=hop)
        k += hop
        time.sleep(max(0.0, t0 + k / rate - time.perf_counter()))
    end = page.evaluate("() => performance.now()")
    frames = page.evaluate("() => { window.__frames.run = false; return window.__frames; }")
    page.mouse.up()
    release = page.evaluate("() => performance.now()")
    during = [t for t in frames["times"] if start <= t <= end]
    moves = [t for t in frames["moves"] if start <= t <= end]
    span = (end - start) / 1000
    return {"seconds": span, "distinct": len(during), "fps": len(during) / span, "ticks": frames["ticks"],
            "moves": len(moves), "release": release}


def wait_server_after(page, name: str, since: float, timeout: float = 60_000) -> dict:
    """Until the server's image for the released values is on the canvas (shown after `since`)."""
    page.wait_for_function(
        f"([name, since]) => {{ const s = ({STATUS})(name); return s && s.serverShown > since; }}",
        arg=[name, since], timeout=timeout, polling=50)
    return page.evaluate(STATUS, name)


def same_values(status: dict) -> bool:
    """The last live frame was decoded from the values the server used (to float precision)."""
    return np.allclose(status["liveValues"], status["serverValues"], rtol=0, atol=1e-6)


def live_vs_server(status: dict) -> float:
    """Max |live frame - server image| over pixels (0-255) for the same slider values."""
    live = np.asarray(status["livePixels"], dtype=np.int16)
    server = np.asarray(status["serverPixels"], dtype=np.int16)
    return float(np.abs(live - server).max())


def wait_map(page, name: str, timeout: float = 120_000) -> dict:
    page.wait_for_function(f"(name) => {{ const s = ({MAP})(name); return s && (s.drawn || s.error); }}",
                           arg=name, timeout=timeout, polling=50)
    return page.evaluate(MAP, name)


def map_canvas(page):
    return page.locator(".ll-map canvas").first


def lasso(page, box: dict, points: list[tuple[float, float]]) -> None:
    """Press at the first of `points` (fractions of the canvas box), drag through the others,
    release at the last. The plot closes a lasso itself; a box spans the first and last points.
    (Releasing where the drag began would count as a click, which selects one point.)"""
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd rule: which of `pts` `[N, 2]` lie inside polygon `poly` `[K, 2]`."""
    x, y = pts[:, 0], pts[:, 1]
    result = np.zeros(len(pts), dtype=bool)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        result ^= crosses & (x < xc)
    return result


class ScriptServer:
    """`streamlit run <script>` (default tests/live_app.py) on a free port, like browser_helpers.Server
    (whose stop/wait_healthy/stderr it reuses), with extra environment variables."""

    def __init__(self, log_dir, name: str, script: str = "tests/live_app.py", cache_dir=None, env=None):
        import os
        import subprocess
        import sys

        from browser_helpers import ROOT, free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{name}.stderr"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **(env or {})}
        if cache_dir is not None:
            full_env["LATENTLAB_CACHE"] = str(cache_dir)
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(self.port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)

    def __getattr__(self, name):  # stop, wait_healthy, stderr: the same as the app server's
        from browser_helpers import Server

        return getattr(Server, name).__get__(self)


def offsite_requests(page) -> list[str]:
    """Start recording requests that leave 127.0.0.1 (returns the list it fills)."""
    from urllib.parse import urlparse

    seen: list[str] = []

    def check(request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname not in ("127.0.0.1", "localhost"):
            seen.append(request.url)

    page.on("request", check)
    return seen


def screen_positions(page, name: str) -> np.ndarray:
    """Canvas-relative screen position `[n, 2]` of every drawn point, in drawing order."""
    flat = page.evaluate("""(name) => {
        const st = window.__latentlab.maps[name], plot = st.plot, n = st.n, out = new Array(2 * n);
        for (let i = 0; i < n; i++) { const [x, y] = plot.getScreenPosition(i); out[2 * i] = x; out[2 * i + 1] = y; }
        return out;
    }""", name)
    return np.asarray(flat, dtype=np.float64).reshape(-1, 2)
