"""latentlab.render: the one tiler and encoder behind every grid, strip, GIF and exported PNG."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import render
from latentlab.errors import ConfigError, LatentlabError


def _frames(n=6, c=3, h=8, w=10):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0))


def test_tile_places_every_image_and_fills_gaps():
    x = _frames(5)
    sheet = render.tile(x, ncol=2, gap=1, fill=0.5)
    assert sheet.shape == (3, 3 * 8 + 2, 2 * 10 + 1)
    for k in range(5):
        r, q = divmod(k, 2)
        assert torch.equal(sheet[:, r * 9:r * 9 + 8, q * 11:q * 11 + 10], x[k])
    assert torch.all(sheet[:, 8, :] == 0.5) and torch.all(sheet[:, 18:, 11:] == 0.5)  # gap row, padded tail


def test_png_and_gif_decode_with_the_stated_sizes():
    x = _frames(6)
    strip = Image.open(io.BytesIO(render.png(x[:, :1])))
    assert strip.format == "PNG" and strip.size == (6 * 10 + 5, 8) and strip.mode == "L"
    big = Image.open(io.BytesIO(render.png(x[0], px=30)))
    assert big.size == (30, 24)  # scale 3, nearest neighbour
    anim = Image.open(io.BytesIO(render.gif(x, duration_ms=50)))
    assert anim.n_frames == 6 and anim.size == (10, 8) and anim.info.get("loop") == 0
    assert Image.open(io.BytesIO(render.gif(x, pingpong=True, px=20))).n_frames == 10


def test_png_round_trips_pixel_values():
    x = (torch.arange(3 * 4 * 5).reshape(1, 3, 4, 5) % 256) / 255.0
    back = torch.from_numpy(np.array(Image.open(io.BytesIO(render.png(x))))).permute(2, 0, 1)
    assert torch.equal(back, (x[0] * 255).round().to(torch.uint8))


def test_bad_shapes_and_paths_are_refused(tmp_path):
    with pytest.raises(ConfigError):
        render.tile(torch.rand(2, 4, 8, 8))
    with pytest.raises(LatentlabError):
        render.save_png(b"", tmp_path / "x.jpg")
    with pytest.raises(LatentlabError):
        render.save_png(b"", tmp_path / "missing" / "x.png")
    out = render.save_png(_frames(1)[0], tmp_path / "x.png")
    assert Image.open(out).size == (10, 8) and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
