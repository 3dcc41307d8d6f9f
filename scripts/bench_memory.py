"""Server memory under concurrent uploads: peak and settled RSS (printed, not asserted).

Usage: python scripts/bench_memory.py [--sessions 6] [--model faces_vae]

Six sessions upload the same file at once, each on its own thread as Streamlit runs sessions,
through the app's code path: `latentlab.images.load_image` with the checkpoint's channels and
side (what the Upload page's image_input passes). The process first imports torch and latentlab
and loads the model, as a running server has. RSS is sampled every 2 ms from /proc/self/status;
"after" is RSS one second after the last upload returned. Files (made in a child process, so
their construction does not count):

- the issue's worst file: a 298 KB deflate-compressed 7000x7000 float32 TIFF (187 MiB decoded);
- the worst file still accepted: a 5700x5700 float32 TIFF (124 MiB decoded, just under the limit);
- a 30 MP RGB PNG (6000x5000) and a 48 MP JPEG (8000x6000, decoded at a reduced scale).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAKE = """
import sys
import numpy as np
from PIL import Image
out = sys.argv[1]
a = np.zeros((7000, 7000), np.float32); a[::50, :] = 1.0
Image.fromarray(a, "F").save(f"{out}/worst_7000_float.tif", compression="tiff_adobe_deflate")
a = np.zeros((5700, 5700), np.float32); a[::37, :] = 1.0; a[:, ::53] = 0.5
Image.fromarray(a, "F").save(f"{out}/accepted_5700_float.tif", compression="tiff_adobe_deflate")
b = np.zeros((6000, 5000, 3), np.uint8); b[::7] = 200; b[:, ::11, 1] = 90
Image.fromarray(b).save(f"{out}/rgb_30mp.png", compress_level=9)
c = np.random.default_rng(0).integers(0, 255, (6000, 8000, 3), dtype=np.uint8)
Image.fromarray(c).save(f"{out}/photo_48mp.jpg", quality=85)
"""


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def concurrent_uploads(data: bytes, sessions: int, channels: int, side: int) -> dict:
    """Peak and settled RSS (MB) around `sessions` simultaneous load_image calls."""
    from latentlab.errors import ImageError
    from latentlab.images import load_image

    before, peak, done = rss_mb(), [rss_mb()], threading.Event()
    outcomes: list[str] = []

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.002)

    def upload():
        try:
            load_image(data, channels=channels, size=side)
            outcomes.append("accepted")
        except ImageError as exc:
            outcomes.append(f"refused: {exc}")

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=upload) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    time.sleep(1.0)
    done.set()
    sampler.join()
    return {"before": before, "peak": peak[0], "after": rss_mb(), "seconds": seconds,
            "outcome": sorted(set(outcomes))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sessions", type=int, default=6)
    p.add_argument("--model", default="faces_vae")
    a = p.parse_args()
    import torch

    import latentlab
    from latentlab import images

    torch.set_num_threads(1)
    model = latentlab.load(a.model)
    channels, side = model.image_shape[0], model.image_shape[1]
    slots, budget = getattr(images, "DECODE_SLOTS", None), getattr(images, "MAX_DECODED_BYTES", 0)
    print(f"# {a.sessions} concurrent uploads into {a.model} ({channels}x{side}x{side}); decode slots "
          f"{slots}, decoded-bytes limit {budget / 2**20:.0f} MiB; RSS in MiB")
    print(f"{'file':<26} {'KB':>7} {'RSS before':>10} {'peak':>7} {'added':>7} {'after':>7} "
          f"{'vs before':>9} {'s':>5}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", MAKE, tmp], check=True)
        for f in sorted(Path(tmp).iterdir()):
            r = concurrent_uploads(f.read_bytes(), a.sessions, channels, side)
            print(f"{f.name:<26} {f.stat().st_size / 1024:>7.0f} {r['before']:>10.0f} {r['peak']:>7.0f} "
                  f"{r['peak'] - r['before']:>7.0f} {r['after']:>7.0f} "
                  f"{(r['after'] - r['before']) / r['before']:>+9.1%} {r['seconds']:>5.1f}  "
                  f"{'; '.join(r['outcome'])[:90]}", flush=True)


if __name__ == "__main__":
    main()
