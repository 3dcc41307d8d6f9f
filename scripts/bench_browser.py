"""What a person waits for in the browser (printed, not asserted), with headless Debian Chromium.

Usage: python scripts/bench_browser.py [--model faces_vae] [--moves 20] [--fresh 3] [--cache DIR]
                                       [--only live,release,maps,edit,explore]

(live) Frames while dragging: tests/live_app.py (outside the app's pages: st.sliders, the st.image
    of the server's decode, and the live component over it) for faces_vae and mnist_vae; the
    first latent slider is pressed and swept across its track and back with Playwright's mouse
    for 3 s (60 move events/s asked, in hops of 2). A requestAnimationFrame loop in the page
    hashes the live canvas every display frame and counts changes while the button is down:
    distinct frames per second. Also printed: pointer moves the page received per second (the
    ceiling of the count: one decode per move at most) and the in-browser decode time.
(release) Where the server still decodes: slider release -> new image on screen on the Edit
    page (faces_vae) with in-browser decoding off (LATENTLAB_LIVE=0), and with it on (the
    server's copy that replaces the live frame), against Streamlit's floor: a fragment with 4
    st.sliders and a trivial st.image (tests/live_app.py?view=floor), moves interleaved over the
    three pages. Release: a capture-phase pointerup; on screen: a MutationObserver sees the
    "edited …" image's src change, img.decode(), the next animation frame.
(maps) First map in a fresh app process: a new `streamlit run` and browser context per run,
    navigation start -> the WebGL map has drawn all its points (tests/live_app.py's map view
    with 1,000 and 4,000 points, the zoo's test splits, and with 100,000), with the times the
    data arrived, the library loaded and WebGL was ready.
(edit) Edit on its own (the pre-issue figure): slider release -> new image on screen, `--moves`
    times, same stamps as (release), live decoding on.
(explore) Explore in a fresh app process: a new `streamlit run` per repeat, a new browser context
    (empty HTTP cache), Explore's URL opened directly; navigation start -> the map has its points
    (the WebGL map's own draw stamp; plotly's first frame with laid-out points where the app
    falls back to plotly). Also stamped: the sidebar, the page title, and the map element (its
    delta arrived), to tell the server's share from the browser's. The on-disk latent cache is
    the app's usual one (or --cache); whether the default model's test latents were already on
    disk is printed per run, since a cold disk cache adds the dataset build and encode.

The machine line (nproc, CPU model, load) is printed first: the figures mean little without it.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # browser_helpers: the server and browser the tests use
sys.path.insert(0, str(ROOT))

from browser_helpers import (  # noqa: E402
    CHROMIUM,
    VIEWPORT,
    Server,
    free_port,
    launch,
    pick_model,
    wait_idle,
)
from live_helpers import ScriptServer, drag, wait_live, wait_map  # noqa: E402

LOGS = ROOT / "artifacts" / "logs"

INSTRUMENT_EDIT = """() => {
    const B = window.__bench = {release: null, shown: []};
    performance.setResourceTimingBufferSize(5000);  // keep every /media fetch's timing
    const find = () => {
        for (const block of document.querySelectorAll('[data-testid=stImage]'))
            if (/^edited /.test(block.innerText.trim())) return block.querySelector('img');
        return null;
    };
    B.lastSrc = find() && find().src;
    document.addEventListener('pointerup', e => { B.release = performance.now(); }, true);
    new MutationObserver(() => {
        const img = find();
        if (!img || img.src === B.lastSrc) return;
        const src = B.lastSrc = img.src, mutated = performance.now();
        const stamp = () => requestAnimationFrame(() => B.shown.push({src, mutated, painted: performance.now()}));
        img.decode().then(stamp, stamp);
    }).observe(document.querySelector('[data-testid=stMain]'),
               {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""

INSTRUMENT_MAP = """(() => {
    const t = window.__milestones = {};
    const check = () => {
        const now = performance.now();
        if (!t.sidebar && document.querySelector('[data-testid=stSidebarNav]')) t.sidebar = now;
        if (!t.title && [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === 'Explore')) t.title = now;
        if (!t.chart && document.querySelector('[data-testid=stPlotlyChart]')) t.chart = now;
        const maps = Object.values((window.__latentlab || {}).maps || {});
        const drawn = maps.find(m => m.drawn);
        if (drawn) {  // the WebGL map: its own stamps (data arrived, library loaded, WebGL ready, drawn)
            Object.assign(t, {chart: drawn.mounted, library: drawn.library, webgl: drawn.webgl, map: drawn.drawn});
            return;
        }
        const gd = document.querySelector('.js-plotly-plot');
        if (gd && gd.querySelector('.main-svg') && (gd._fullData || []).some(d => d._length > 0)) {
            t.map = now;
            return;
        }
        requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
})();"""


# -- reporting --------------------------------------------------------------------------------------
def machine_line() -> str:
    from importlib.metadata import version

    from latentlab.bench.report import cpu_model, usable_cpus

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout.strip()
    return (f"machine: nproc {usable_cpus()} · {cpu_model()} · load {load} · {chromium} · "
            f"streamlit {version('streamlit')} · playwright {version('playwright')}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in (0, 100]) of a short list: p95 of 20 values is the 19th."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


# -- (a) Edit slider --------------------------------------------------------------------------------
def drag_first_slider(page, k: int) -> None:
    """Press the first slider's thumb, move it towards the track's centre, release."""
    slider = page.get_by_test_id("stSlider").first
    thumb = slider.get_by_test_id("stSliderThumbValue").locator("..").bounding_box()
    track = slider.get_by_role("group").first.bounding_box()
    x, y = thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2
    direction = 1 if x < track["x"] + track["width"] / 2 else -1
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + direction * (24 + 3 * k), y, steps=4)
    page.mouse.up()


def slider_latency(browser, url: str, model: str, moves: int) -> tuple[str, list[dict]]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{url}/edit")
    shown = pick_model(page, model)
    page.evaluate(INSTRUMENT_EDIT)
    results = []
    for k in range(moves):
        n = page.evaluate("() => window.__bench.shown.length")
        drag_first_slider(page, k)
        page.wait_for_function("n => window.__bench.shown.length > n", arg=n, timeout=30_000, polling="raf")
        wait_idle(page)
        b = page.evaluate("""() => {
            const B = window.__bench, last = B.shown[B.shown.length - 1];
            const fetch = performance.getEntriesByName(last.src).pop();
            return {...B, last, fetched: fetch ? fetch.responseEnd : null};
        }""")
        last, release = b["last"], b["release"]
        results.append({"painted": last["painted"] - release, "src": last["mutated"] - release,
                        "fetched": None if b["fetched"] is None else b["fetched"] - release,
                        "extra": len(b["shown"]) - n - 1})
    context.close()
    return shown, results


# -- (b) Explore in a fresh process -----------------------------------------------------------------
def latent_files(cache: Path | None) -> set[Path]:
    """Cached test-split latents on disk now: shipped (checkpoints/*/cache) and the user cache."""
    root = cache or Path(os.environ.get("LATENTLAB_CACHE", Path.home() / ".cache" / "latentlab"))
    return {*(ROOT / "checkpoints").glob("*/cache/*-latents-test.npz"), *root.glob("*/*-latents-test.npz")}


def explore_fresh(browser, run: int, cache: Path | None, context=None, port: int | None = None) -> dict:
    """One fresh `streamlit run`, Explore opened in a new browser context (empty HTTP cache), or in
    `context` (a profile that has visited the app before on the same `port`, so same origin)."""
    before = latent_files(cache)
    server = Server(LOGS, f"streamlit-bench-explore-{run}", cache_dir=cache, port=port)
    own = context is None
    try:
        healthy = server.wait_healthy(timeout=120)
        context = browser.new_context(viewport=VIEWPORT) if own else context
        page = context.new_page()
        page.add_init_script(INSTRUMENT_MAP)
        page.goto(f"{server.url}/explore")
        page.wait_for_function("() => window.__milestones.map", timeout=180_000, polling=100)
        milestones = page.evaluate("() => window.__milestones")
        name = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Checkpoint").input_value()
        (context if own else page).close()
    finally:
        server.stop()
    model = name.split(" · ")[0]
    warm = any(f.parent.name == model or f.parent.parent.name == model for f in before)
    return {"healthy": healthy, "model": model, "warm": warm, **milestones}


# -- (live) frames while dragging ------------------------------------------------------------------
def live_fps(browser, url: str, model: str, seconds: float = 3.0) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{url}/?view=dims&model={model}")
    page.wait_for_function("() => Object.keys((window.__latentlab || {}).live || {}).some(k => k.startsWith('live_'))",
                           timeout=300_000, polling=100)
    name = page.evaluate("() => Object.keys(window.__latentlab.live).find(k => k.startsWith('live_'))")
    status = wait_live(page, name, timeout=300_000)
    if not status["live"]:
        context.close()
        return {"model": model, "off": status.get("reason")}
    runs = [drag(page, name, "z0", seconds=seconds) for _ in range(2)]
    decode_ms = page.evaluate("(n) => window.__latentlab.live[n].decodeMs", name)
    context.close()
    best = max(runs, key=lambda r: r["fps"])
    return {"model": model, "runs": runs, "best": best, "decode_ms": decode_ms, "load_ms": status.get("loadMs")}


def report_fps(r: dict) -> None:
    if "off" in r:
        print(f"    {r['model']}: live decoding off ({r['off']})")
        return
    runs = " · ".join(f"{x['fps']:.1f} frames/s ({x['distinct']} frames, {x['moves'] / x['seconds']:.0f} moves/s)"
                      for x in r["runs"])
    ms = r["decode_ms"]
    print(f"    {r['model']}: {runs}; in-browser decode p50 {statistics.median(ms):.1f} ms, "
          f"p95 {percentile(ms, 95):.1f} ms over {len(ms)} frames; decoder loaded in {r['load_ms'] / 1000:.1f} s",
          flush=True)


# -- (release) server path vs the floor -------------------------------------------------------------
def open_floor(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/?view=floor")
    page.get_by_test_id("stSlider").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.evaluate(INSTRUMENT_EDIT)
    return page


def one_release(page, k: int) -> float:
    """Drag the first slider a little and release; ms from pointerup to the new "edited" image painted."""
    n = page.evaluate("() => window.__bench.shown.length")
    drag_first_slider(page, k)
    page.wait_for_function("n => window.__bench.shown.length > n", arg=n, timeout=60_000, polling="raf")
    wait_idle(page)
    return page.evaluate("() => { const B = window.__bench; return B.shown[B.shown.length - 1].painted - B.release; }")


def release_vs_floor(browser, cache: Path | None, model: str, moves: int) -> dict[str, list[float]]:
    """Edit's release -> server image with live decoding off and on, and the floor, interleaved."""
    os.environ["LATENTLAB_LIVE"] = "0"  # browser_helpers.Server passes its environment on
    try:
        servers = {"off": Server(LOGS, "streamlit-bench-edit-off", cache_dir=cache)}
    finally:
        del os.environ["LATENTLAB_LIVE"]
    servers["on"] = Server(LOGS, "streamlit-bench-edit-on", cache_dir=cache)
    servers["floor"] = ScriptServer(LOGS, "streamlit-bench-floor", cache_dir=cache)
    contexts = []
    try:
        pages = {}
        for label, server in servers.items():
            server.wait_healthy(timeout=120)
            contexts.append(browser.new_context(viewport=VIEWPORT))
            if label == "floor":
                pages[label] = open_floor(contexts[-1], server.url)
                continue
            page = pages[label] = contexts[-1].new_page()
            page.goto(f"{server.url}/edit")
            pick_model(page, model)
            page.evaluate(INSTRUMENT_EDIT)
        times = {label: [] for label in pages}
        for k in range(moves):  # interleaved, so all three see the same load
            for label, page in pages.items():
                times[label].append(one_release(page, k))
    finally:
        for c in contexts:
            c.close()
        for server in servers.values():
            server.stop()
    return times


# -- (maps) first map in a fresh process --------------------------------------------------------------
def map_fresh(browser, n: int, cache: Path | None) -> dict:
    server = ScriptServer(LOGS, f"streamlit-bench-map-{n}", cache_dir=cache)
    try:
        healthy = server.wait_healthy(timeout=120)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(f"{server.url}/?view=map&n={n}&k=10")
        status = wait_map(page, f"map_{n}_10", timeout=180_000)
        context.close()
    finally:
        server.stop()
    return {"healthy": healthy, **status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="faces_vae", help="checkpoint for the slider figures")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--fresh", type=int, default=3, help="fresh app processes per map figure")
    parser.add_argument("--cache", type=Path, default=None, help="LATENTLAB_CACHE for the servers")
    parser.add_argument("--only", default="live,release,maps,edit,explore", help="sections to run")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    print(machine_line(), flush=True)
    with sync_playwright() as p:
        browser = launch(p)
        if "live" in only:
            print("(live) distinct frames per second while a slider is dragged with the mouse (2 drags of 3 s each)")
            server = ScriptServer(LOGS, "streamlit-bench-live", cache_dir=args.cache)
            try:
                server.wait_healthy(timeout=120)
                for model in (args.model, "mnist_vae"):
                    report_fps(live_fps(browser, server.url, model))
            finally:
                server.stop()
            print(f"    load after: {load()}", flush=True)
        if "release" in only:
            times = release_vs_floor(browser, args.cache, args.model, args.moves)
            print(f"(release) slider release -> image on screen, {args.moves} interleaved moves each "
                  f"(load after: {load()})")
            names = {"off": f"Edit, {args.model}, live off (server decodes)",
                     "on": f"Edit, {args.model}, live on: server image", "floor": "floor: 4 st.sliders + st.image"}
            for label, v in times.items():
                print(f"    {names[label]:42s} p50 {statistics.median(v):6.0f} ms   p95 {percentile(v, 95):6.0f} ms   "
                      f"max {max(v):6.0f} ms")
            floor = times["floor"]
            for label in ("off", "on"):
                print(f"    {label}: p50 {statistics.median(times[label]) / statistics.median(floor):.2f}x, "
                      f"p95 {percentile(times[label], 95) / percentile(floor, 95):.2f}x the floor")
            print("    (live on, the last live frame is already on screen at release; this is the server's copy)",
                  flush=True)
        if "maps" in only:
            print(f"(maps) first map in a fresh app process, navigation start -> all points drawn, {args.fresh} runs each")
            for n in (1000, 4000, 100_000):
                times = [map_fresh(browser, n, args.cache) for _ in range(args.fresh)]
                print(f"    {n:>7,} points: " + ", ".join(f"{t['drawn'] / 1000:.2f} s" for t in times)
                      + f"   (load after: {load()})", flush=True)
                for t in times:  # where the time went (seconds after navigation start)
                    print(f"        data arrived {t['mounted'] / 1000:.2f} · library loaded {t['library'] / 1000:.2f} · "
                          f"WebGL ready {t['webgl'] / 1000:.2f} · drawn {t['drawn'] / 1000:.2f}")
        if "edit" in only:
            edit_section(browser, args)
        if "explore" in only:
            explore_section(browser, args)
        browser.close()


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def edit_section(browser, args) -> None:
    server = Server(LOGS, "streamlit-bench-edit", cache_dir=args.cache)
    try:
        server.wait_healthy(timeout=120)
        model, results = slider_latency(browser, server.url, args.model, args.moves)
    finally:
        server.stop()
    painted = [r["painted"] for r in results]
    swapped = [r["src"] for r in results]
    print(f"(edit) Edit page, {model}: slider release -> new image on screen over {len(results)} moves "
          f"(in-page pointerup -> MutationObserver src change -> img.decode() -> next frame)")
    print(f"    on screen  p50 {statistics.median(painted):6.0f} ms   p95 {percentile(painted, 95):6.0f} ms   "
          f"max {max(painted):6.0f} ms")
    print(f"    src swap   p50 {statistics.median(swapped):6.0f} ms   p95 {percentile(swapped, 95):6.0f} ms"
          "   (the rerun's new image URL reaches the page)")
    print("    each move (ms): " + " ".join(f"{v:.0f}" for v in painted), flush=True)


def explore_section(browser, args) -> None:
    print(f"(explore) Explore in a fresh app process, {args.fresh} runs (navigation start -> map with points)")
    print("    empty browser cache (a new browser context per run):")
    for run in range(1, args.fresh + 1):
        report_fresh(run, explore_fresh(browser, run, args.cache))
    print("    browser cache warm from an earlier visit (one context, same port; the app restarted each run):")
    port, context = free_port(), browser.new_context(viewport=VIEWPORT)
    explore_fresh(browser, 0, args.cache, context, port)  # the earlier visit, not reported
    for run in range(1, args.fresh + 1):
        report_fresh(run, explore_fresh(browser, run, args.cache, context, port))
    context.close()


def report_fresh(run: int, r: dict) -> None:
    at = {k: f"{r[k] / 1000:.2f} s" if r.get(k) is not None else "?" for k in ("sidebar", "title", "chart")}
    print(f"    run {run}: {r['map'] / 1000:5.2f} s to the map ({r['model']}; sidebar at {at['sidebar']}, "
          f"page title {at['title']}, map data {at['chart']}"
          + (f", library {r['library'] / 1000:.2f} s, WebGL {r['webgl'] / 1000:.2f} s" if r.get("webgl") else "")
          + f"; server healthy {r['healthy']:.1f} s "
          f"after launch; its test latents already on disk: {'yes' if r['warm'] else 'no'})", flush=True)


if __name__ == "__main__":
    main()
