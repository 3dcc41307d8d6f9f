"""latentlab.images: a generated broken-image corpus is refused cleanly; real images normalise.

Every file is made here, in tmp_path or in memory: nothing binary is committed.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from latentlab.errors import ConfigError, ImageError
from latentlab.images import load_image, load_images, to_model_input

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def noise_rgb(w: int = 64, h: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def split_image(w: int, h: int, left=RED, right=BLUE) -> Image.Image:
    """`left` colour on the left half, `right` on the right half."""
    image = Image.new("RGB", (w, h), right)
    image.paste(left, (0, 0, w // 2, h))
    return image


def png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR claims `width` x `height` (CRC recomputed, so it parses)."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)  # 8 signature + 4 length + 4 b"IHDR"
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def genuine_bomb_png(side: int = 8000) -> bytes:
    """A real, complete 1-bit `side` x `side` black PNG: ~10 kB on disk, 64 MB once decoded."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
       b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _truncated(fmt: str) -> bytes:
    data = encode(noise_rgb(), fmt)
    return data[: len(data) // 2]


# name -> (file name, bytes maker, load_image kwargs, expected message fragment)
CORPUS = {
    "zero bytes": ("empty.png", lambda: b"", {}, "empty file"),
    "text named .png": ("notes.png", lambda: b"just some notes\nnot an image\n", {}, "text file"),
    "pdf named .png": ("doc.png", lambda: PDF, {}, "PDF document"),
    "truncated png": ("half.png", lambda: _truncated("PNG"), {}, "truncated or corrupt PNG"),
    "truncated jpeg": ("half.jpg", lambda: _truncated("JPEG"), {}, "truncated or corrupt JPEG"),
    "png header bomb": ("bomb.png", lambda: png_with_size(100_000, 100_000), {}, "too large"),
    "png header over cap": ("wide.png", lambda: png_with_size(10_000, 6_000), {}, "too large"),
    "genuine bomb": ("zeros.png", genuine_bomb_png, {}, "64,000,000 pixels"),
    "small pixel cap": ("ok.png", lambda: encode(noise_rgb(), "PNG"),
                        {"max_pixels": 1000}, "over the limit of 1,000"),
    "small byte cap": ("ok.png", lambda: encode(noise_rgb(), "PNG"),
                       {"max_bytes": 100}, "100-byte limit"),
    "eps named .png": ("figure.png", lambda: EPS, {}, "PostScript/EPS is refused"),
    "eps named .eps": ("figure.eps", lambda: EPS, {}, "PostScript/EPS is refused"),
    "tga (pillow reads it, we do not)": ("pic.png", lambda: encode(noise_rgb(), "TGA"), {},
                                         "format not accepted"),
    "garbage bytes": ("noise.png", lambda: bytes(np.random.default_rng(1).integers(
        0, 256, 4096, dtype=np.uint8)), {}, "not a recognised image"),
}


@pytest.fixture
def reference(tmp_path) -> tuple[Path, torch.Tensor]:
    """A valid PNG and what it must load as, to show a refusal leaves no state behind."""
    path = tmp_path / "good.png"
    path.write_bytes(encode(split_image(8, 8, left=RED, right=GREEN), "PNG"))  # no resampling
    expected = torch.zeros(1, 3, 8, 8)
    expected[0, 0, :, :4] = 1.0
    expected[0, 1, :, 4:] = 1.0
    return path, expected


def assert_reference_loads(reference) -> None:
    path, expected = reference
    assert torch.equal(load_image(path, channels=3, size=8), expected)


@pytest.mark.parametrize("case", list(CORPUS), ids=list(CORPUS))
def test_broken_corpus_is_refused_with_a_named_reason(case, tmp_path, reference):
    name, make, kwargs, fragment = CORPUS[case]
    path = tmp_path / name
    path.write_bytes(make())
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        with pytest.raises(ImageError, match=fragment):
            load_image(source, channels=3, size=16, **kwargs)
    assert_reference_loads(reference)


def test_corpus_files_are_what_they_claim():
    """The EPS and TGA cases really are those formats to Pillow: the allow-list is what refuses."""
    assert Image.open(io.BytesIO(EPS)).format == "EPS"
    assert Image.open(io.BytesIO(encode(noise_rgb(), "TGA"))).format == "TGA"


@pytest.mark.parametrize("make", [lambda: png_with_size(100_000, 100_000), genuine_bomb_png,
                                  lambda: png_with_size(10_000, 6_000)])
def test_bombs_are_refused_before_any_pixel_is_decoded(make, monkeypatch):
    calls = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: calls.append(self.size) or real_load(self))
    with pytest.raises(ImageError, match="too large"):
        load_image(make(), channels=1, size=28)
    assert calls == []


def test_truncated_images_are_not_silently_accepted():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # the refusal above relies on this default


@pytest.mark.parametrize("source, fragment", [
    (12345, "cannot read an image from a int"),
    (None, "cannot read an image from a NoneType"),
    (Image.new("RGB", (4, 4)), "to_model_input"),
    (io.StringIO("text"), "binary mode"),
])
def test_wrong_source_types_are_refused(source, fragment, reference):
    with pytest.raises(ImageError, match=fragment):
        load_image(source, channels=3, size=8)
    assert_reference_loads(reference)


def test_missing_paths_and_directories_are_refused(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        load_image(tmp_path / "nope.png", channels=3, size=8)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(tmp_path, channels=3, size=8)


@pytest.mark.parametrize("kwargs", [
    {"channels": 2}, {"channels": True}, {"channels": 3.0}, {"size": 0}, {"size": True},
    {"size": 8.5}, {"fit": "stretch"}, {"background": (1, 1)}, {"background": (2, 0, 0)},
    {"background": "white"}, {"invert": "yes"}, {"max_pixels": 0}, {"max_bytes": -1},
])
def test_bad_arguments_raise_config_error_a_value_error(kwargs):
    args = {"channels": 3, "size": 8, **kwargs}
    with pytest.raises(ConfigError) as info:
        load_image(encode(noise_rgb(), "PNG"), **args)
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------ accepted images


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [1, 28, 64])
@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_output_shape_dtype_and_range(channels, size, fit):
    out = load_image(encode(noise_rgb(90, 50), "PNG"), channels=channels, size=size, fit=fit)
    assert out.shape == (1, channels, size, size)
    assert out.dtype == torch.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_every_kind_of_source_gives_the_same_tensor(tmp_path):
    data = encode(noise_rgb(), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        outs = [load_image(s, channels=3, size=16) for s in
                (data, bytearray(data), path, str(path), io.BytesIO(data), fh)]
        assert not fh.closed  # the caller's file object stays the caller's
    assert all(torch.equal(outs[0], o) for o in outs[1:])


def test_grayscale_is_luminance_and_rgb_of_gray_repeats():
    colour = (200, 100, 50)
    gray = load_image(encode(Image.new("RGB", (8, 8), colour), "PNG"), channels=1, size=4)
    luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    assert torch.allclose(gray, torch.full_like(gray, luma), atol=1e-5)
    rgb = load_image(encode(noise_rgb().convert("L"), "PNG"), channels=3, size=8)
    assert torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2])


def test_exif_orientation_is_applied():
    """Orientation 6 = stored on its side, "rotate 90 clockwise": the left half ends on top."""
    stored = split_image(40, 20, left=RED, right=BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = load_image(encode(stored, "JPEG", exif=exif.tobytes()), channels=3, size=8)
    plain = load_image(encode(stored, "JPEG"), channels=3, size=8, fit="pad")
    red, blue = rotated[0, 0], rotated[0, 2]
    assert (red[:3] > 0.8).all() and (blue[:3] < 0.2).all()  # top is red
    assert (blue[-3:] > 0.8).all() and (red[-3:] < 0.2).all()  # bottom is blue
    assert (plain[0, 0, 3:5, :3] > 0.8).all()  # without the tag red stays on the left


@pytest.mark.parametrize("background", [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.2, 0.4, 0.6)])
@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_fully_transparent_is_exactly_the_background(background, fit):
    clear = Image.new("RGBA", (30, 20), (255, 0, 0, 0))  # red, but invisible
    out = load_image(encode(clear, "PNG"), channels=3, size=8, fit=fit, background=background)
    expected = torch.tensor(background, dtype=torch.float32).view(1, 3, 1, 1).expand_as(out)
    assert torch.equal(out, expected)


def test_half_transparent_black_over_white_is_mid_gray():
    out = load_image(encode(Image.new("RGBA", (8, 8), (0, 0, 0, 128)), "PNG"), channels=1, size=4)
    assert torch.allclose(out, torch.full_like(out, 1 - 128 / 255), atol=1e-5)


def test_la_alpha_is_composited():
    la = Image.new("LA", (8, 8), (0, 0))  # left half transparent
    la.paste((0, 255), (4, 0, 8, 8))  # right half opaque black
    out = load_image(encode(la, "PNG"), channels=1, size=8, background=(1.0, 1.0, 1.0))
    assert torch.equal(out[0, 0, :, :4], torch.ones(8, 4))
    assert torch.equal(out[0, 0, :, 4:], torch.zeros(8, 4))


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_becomes_background(fmt):
    pal = Image.new("P", (16, 16), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)  # index 0 red, 1 green
    pal.paste(1, (8, 0, 16, 16))
    out = load_image(encode(pal, fmt, transparency=0), channels=3, size=16,
                     background=(0.0, 0.0, 1.0))
    assert torch.equal(out[0, :, 0, 0], torch.tensor([0.0, 0.0, 1.0]))  # transparent red
    assert torch.equal(out[0, :, 0, 15], torch.tensor([0.0, 1.0, 0.0]))  # opaque green


def gradient16() -> np.ndarray:
    return np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)


@pytest.mark.parametrize("fmt, dtype", [("PNG", "<u2"), ("TIFF", "<u2"), ("TIFF", ">u2"),
                                        ("PPM", "<u2")])
def test_16_bit_images_use_their_full_range(fmt, dtype):
    data = encode(Image.fromarray(gradient16().astype(dtype)), fmt)
    out = load_image(data, channels=1, size=64)
    assert out.max() == 1.0 and out.min() == 0.0
    assert abs(out.mean().item() - 0.5) < 1e-3  # neither clipped at 255 nor saturated
    mid = load_image(encode(Image.fromarray(np.full((8, 8), 32768, np.uint16)), fmt),
                     channels=3, size=4)
    assert torch.allclose(mid, torch.full_like(mid, 32768 / 65535), atol=1e-6)


def test_float_tiff_in_unit_range_is_kept():
    values = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    out = load_image(encode(Image.fromarray(values), "TIFF"), channels=1, size=16)
    assert torch.allclose(out[0, 0], torch.from_numpy(values), atol=1e-6)


@pytest.mark.parametrize("fmt, kwargs", [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_animated_images_give_their_first_frame(fmt, kwargs):
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN, BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **kwargs)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    out = load_image(data, channels=3, size=4)
    assert torch.allclose(out, torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1).expand_as(out))


def test_cmyk_jpeg_is_converted_to_rgb():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in ink
    data = encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = load_image(data, channels=3, size=4)
    assert torch.allclose(out[0, :, 2, 2], torch.tensor([1.0, 0.0, 0.0]), atol=0.03)


def test_crop_and_pad_on_a_wide_image():
    """Left third red, middle third black, right third blue: crop keeps the black centre only,
    pad keeps every colour and leaves background bars above and below."""
    wide = Image.new("RGB", (90, 30), (0, 0, 0))
    wide.paste(RED, (0, 0, 30, 30))
    wide.paste(BLUE, (60, 0, 90, 30))
    data = encode(wide, "PNG")
    crop = load_image(data, channels=3, size=9)
    pad = load_image(data, channels=3, size=9, fit="pad", background=(1.0, 1.0, 1.0))
    assert torch.equal(crop, torch.zeros_like(crop))
    assert torch.equal(pad[0, :, :3], torch.ones(3, 3, 9))  # bar above
    assert torch.equal(pad[0, :, -3:], torch.ones(3, 3, 9))  # bar below
    assert pad[0, 0, 4, 0] > 0.9 and pad[0, 2, 4, -1] > 0.9 and pad[0, :, 4, 4].max() < 0.1


def test_large_jpeg_matches_its_png_twin():
    """The JPEG fast path (decoding at reduced scale) keeps geometry: compare to the PNG."""
    big = split_image(512, 256, left=RED, right=GREEN).resize((512, 256))
    for fit in ("crop", "pad"):
        a = load_image(encode(big, "JPEG", quality=95), channels=3, size=16, fit=fit)
        b = load_image(encode(big, "PNG"), channels=3, size=16, fit=fit)
        assert (a - b).abs().mean() < 0.02


def digit(ink: int, paper: int) -> bytes:
    image = Image.new("L", (28, 28), paper)
    image.paste(ink, (11, 6, 17, 22))  # a "1" stroke in the middle
    return encode(image, "PNG")


def test_invert_true_flips_and_auto_flips_only_dark_on_light():
    on_paper, mnist_like = digit(ink=0, paper=255), digit(ink=255, paper=0)
    plain = load_image(on_paper, channels=1, size=28)
    assert torch.equal(load_image(on_paper, channels=1, size=28, invert=True), 1 - plain)
    auto = load_image(on_paper, channels=1, size=28, invert="auto")
    assert torch.equal(auto, 1 - plain) and auto[0, 0, 0, 0] == 0.0  # now light on black
    mnist = load_image(mnist_like, channels=1, size=28)
    assert torch.equal(load_image(mnist_like, channels=1, size=28, invert="auto"), mnist)
    rgb = load_image(on_paper, channels=3, size=28)
    assert torch.equal(load_image(on_paper, channels=3, size=28, invert="auto"), rgb)


def test_load_images_stacks_and_names_the_failing_file(tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(encode(noise_rgb(), "PNG"))
    bad.write_bytes(b"")
    out = load_images([good, encode(noise_rgb(seed=1), "PNG")], channels=1, size=8)
    assert out.shape == (2, 1, 8, 8)
    with pytest.raises(ImageError, match="bad.png: empty file"):
        load_images([good, bad], channels=1, size=8)


def test_to_model_input_leaves_the_callers_image_alone():
    image = Image.new("RGBA", (20, 10), (10, 20, 30, 0))
    before = image.tobytes()
    out = to_model_input(image, channels=3, size=4)
    assert out.shape == (1, 3, 4, 4) and image.mode == "RGBA" and image.tobytes() == before
