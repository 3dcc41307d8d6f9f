"""Bounded memory per server: a decoded-bytes budget, one decode at a time, early reduction."""

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from latentlab import images
from latentlab.errors import ImageError
from latentlab.images import load_image


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG" if mode != "F" else "TIFF")
    return buf.getvalue()


def test_the_budget_counts_bytes_not_pixels(monkeypatch):
    """A float image holds 4 bytes per pixel and a gray one 1: the same pixel count can be over
    the byte budget in one mode and under it in the other; refused before decoding."""
    monkeypatch.setattr(images, "MAX_DECODED_BYTES", 200 * 200 * 2)
    gray = _png(np.zeros((200, 200), np.uint8))
    floats = _png(np.zeros((200, 200), np.float32), "F")
    assert load_image(gray, channels=1, size=8).shape == (1, 1, 8, 8)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    with pytest.raises(ImageError, match=r"too large to decode: 200x200 F is 0 MiB in memory"):
        load_image(floats, channels=1, size=8)
    assert decoded == []  # refused from the header alone


def test_decodes_run_one_at_a_time_across_threads(monkeypatch):
    active, most = [0], [0]
    lock = threading.Lock()
    real = images._decode

    def tracked(*args, **kw):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.02)
        try:
            return real(*args, **kw)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(images, "_decode", tracked)
    data = _png((np.arange(64 * 64).reshape(64, 64) % 256).astype(np.uint8))
    out = []
    threads = [threading.Thread(target=lambda: out.append(load_image(data, channels=1, size=16)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 6 and most[0] == images.DECODE_SLOTS == 1


def test_a_decode_that_waits_too_long_is_refused(monkeypatch):
    monkeypatch.setattr(images, "DECODE_WAIT", 0.05)
    data = _png(np.zeros((16, 16), np.uint8))
    images._slots.acquire()  # another session is decoding
    try:
        with pytest.raises(ImageError, match="busy"):
            load_image(data, channels=1, size=8)
    finally:
        images._slots.release()
    assert load_image(data, channels=1, size=8).shape == (1, 1, 8, 8)  # the slot was given back


@pytest.mark.parametrize("mode", ["L", "RGB", "F", "I;16"])
def test_early_reduction_changes_the_result_very_little(mode, monkeypatch):
    """A 1200x900 image reduced right after decoding gives nearly the tensor of the full path."""
    yy, xx = np.mgrid[0:900, 0:1200]
    wave = (np.sin(xx / 37.0) * np.cos(yy / 23.0) + 1) / 2
    array = {"L": (wave * 255).astype(np.uint8), "RGB": np.stack([wave * 255, (1 - wave) * 255,
                                                                  wave * 128], -1).astype(np.uint8),
             "F": wave.astype(np.float32), "I;16": (wave * 65535).astype(np.uint16)}[mode]
    image = Image.fromarray(array)
    assert image.mode == mode
    buf = io.BytesIO()
    image.save(buf, format="TIFF")
    reduced = load_image(buf.getvalue(), channels=3, size=32)
    monkeypatch.setattr(images, "REDUCE_GAP", 10**6)  # never reduce early
    full = load_image(buf.getvalue(), channels=3, size=32)
    assert (reduced - full).abs().max() < 0.03


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])  # not JPEG: its draft would shrink it first
def test_exif_orientation_survives_the_early_reduction(fmt):
    wide = np.zeros((600, 1200, 3), np.uint8)
    wide[:, :600] = 255  # left half white
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: the left half goes on top
    Image.fromarray(wide).save(buf, format=fmt, exif=exif.tobytes())
    x = load_image(buf.getvalue(), channels=1, size=16, fit="pad", background=(0.5, 0.5, 0.5))
    top, bottom = x[0, 0, :6, 4:12].mean(), x[0, 0, 10:, 4:12].mean()
    assert top > 0.9 and bottom < 0.1
