"""The Compress page, driven headless: real bytes from the codec beside JPEG and WebP at most as
large, a rate control that changes the byte count, and a codec picked for non-codec models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from latentlab.checkpoint import zoo_names

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
ROOT = Path(__file__).resolve().parent.parent
CODECS = [n for n in zoo_names() if n.startswith("mnist_codec")]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))


def open_compress(ckpt: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ckpt"] = ckpt
    at.switch_page("pages/compress.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def captions(at: AppTest) -> list[str]:
    return [c for img in at.image for c in img.captions]


def codec_bytes(at: AppTest) -> int:
    found = [int(m.group(1)) for c in captions(at) if (m := re.match(r"codec: (\d+) bytes", c))]
    assert len(found) == 1, captions(at)
    return found[0]


@pytest.mark.skipif(not CODECS, reason="no mnist codec checkpoint")
def test_compress_shows_bytes_and_baselines_within_the_same_budget():
    at = open_compress(CODECS[0])
    assert at.title[0].value == "Compress"
    n = codec_bytes(at)
    for c in captions(at):
        if m := re.match(r"(JPEG|WebP) q=\d+: (\d+) bytes", c):
            assert int(m.group(2)) <= n
    assert at.dataframe[0].value.shape[0] == 3  # codec, JPEG, WebP


@pytest.mark.skipif(not CODECS, reason="no mnist codec checkpoint")
def test_a_coarser_rate_gives_fewer_bytes():
    at = open_compress(CODECS[0])
    before = codec_bytes(at)
    rate = at.select_slider(key="compress_rate")
    rate.set_value(rate.options[-1]).run()
    assert not at.exception
    assert codec_bytes(at) < before


@pytest.mark.skipif(not CODECS, reason="no mnist codec checkpoint")
def test_a_non_codec_model_gets_a_codec_of_its_dataset():
    at = open_compress("mnist_ae")
    assert at.selectbox(key="compress_codec").value.startswith("mnist_codec")
    assert codec_bytes(at) > 0
