"""Screenshots of app pages in headless Chromium, to look at what a user sees.

Usage: python scripts/screenshots.py [path ...] [--out artifacts/screens] [--width 1400 --height 1000]
A path is what follows the host, e.g. "edit?ckpt=faces_vae&sample=test:3" (default: every page).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_helpers import IDLE, Server, launch  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from latentlab.ui.pages import PAGES  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("paths", nargs="*")
    p.add_argument("--out", default="artifacts/screens")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--full", action="store_true", help="whole page, not just the viewport")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = a.paths or ["" if s.name == "home" else s.name for s in PAGES]
    server = Server(out, "screens")
    try:
        server.wait_healthy()
        with sync_playwright() as pw:
            browser = launch(pw)
            for path in paths:
                page = browser.new_context(viewport={"width": a.width, "height": a.height}).new_page()
                page.goto(f"{server.url}/{path}")
                page.wait_for_timeout(1500)
                page.locator(IDLE).wait_for(state="attached", timeout=180_000)
                page.wait_for_timeout(1500)
                name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", path) or "home"
                if a.full:  # Streamlit scrolls inside its main block: make it as tall as its content
                    page.set_viewport_size({"width": a.width, "height": min(8000, page.evaluate(
                        "document.querySelector('[data-testid=stMain]').scrollHeight + 100"))})
                    page.wait_for_timeout(800)
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png", flush=True)
                page.context.close()
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
