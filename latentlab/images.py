"""User image files -> model input: the one gate for uploads and user folders.

`load_image` turns one file into a float32 tensor `[1, C, size, size]` in [0, 1], or refuses it
with an `ImageError` that names the problem. Argument mistakes (channels, size, fit, ...) raise
`ConfigError`, a `ValueError`. The checks run in this order, each before the next costs anything:

1. at most `max_bytes` bytes are read (paths must be regular files, so a FIFO cannot hang us);
2. only ALLOWED_FORMATS are tried (`Image.open(formats=...)`), so EPS/PostScript (which would run
   Ghostscript), PDF and the many rarely used Pillow plugins never see user bytes;
3. the pixel count from the header is checked against `max_pixels`, and the bytes the decoded
   image will occupy (pixels x bytes per pixel of its mode, after a JPEG's draft reduction)
   against `max_decoded_bytes`, before any pixel is decoded: a 100000x100000 PNG is a few hundred
   bytes on disk, and a 298 KB 7000x7000 float TIFF is 196 MB once decoded (it once cost 0.8 GB
   with the copies made while converting it);
4. the full decode runs inside one `try`, so truncated or corrupt data is an ImageError.
   This relies on Pillow's global `ImageFile.LOAD_TRUNCATED_IMAGES` staying False (its default).

Memory: decodes run one at a time per process (DECODE_SLOTS, a bounded pool shared by every
session of a server), a large image is reduced right after decoding (JPEG draft while decoding,
then an integer box `reduce` to at least 3x the output size) so every later copy is small, and
freed heap pages are handed back to the system afterwards (glibc `malloc_trim`).

What is accepted is normalised predictably: EXIF orientation applied; the first frame of
animations; alpha composited onto `background`; 16-bit and float images scaled by their real range
(not clipped to 8 bits); CMYK/YCbCr/LAB/palette converted to RGB; channels=1 is BT.601 luminance.
"""

from __future__ import annotations

import ctypes
import io
import os
import stat
import threading
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps

from latentlab.errors import ConfigError, ImageError

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
MAX_BYTES = 50 * 2**20  # a large phone JPEG is ~10 MB; Streamlit's own upload cap is 200 MB
MAX_PIXELS = 50_000_000  # below Pillow's 89 MP warning threshold, so ours fires first
MAX_DECODED_BYTES = 128 * 2**20  # 128 MiB: a 33 MP RGB image (Pillow keeps RGB as 4 bytes per pixel)
DECODE_SLOTS = 1  # concurrent decodes per process
DECODE_WAIT = 60.0  # seconds a decode waits for a slot before the upload is refused
REDUCE_GAP = 3  # reduce to at least this multiple of the output size (as resize's reducing_gap)
TRIM_ABOVE = 8 * 2**20  # hand memory back after decodes this big (a trim costs ~1 ms)
_REDUCIBLE = ("L", "RGB", "RGBA", "LA", "I", "F")
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}  # else 4
_slots = threading.BoundedSemaphore(DECODE_SLOTS)
FITS = ("crop", "pad")
WHITE = (1.0, 1.0, 1.0)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's "L"
_LANCZOS = Image.Resampling.LANCZOS

Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def load_image(source: Source, *, channels: int, size: int, fit: str = "crop",
               background: Sequence[float] = WHITE, invert: bool | str = False,
               max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """One user image file as model input: float32 `[1, C, size, size]` in [0, 1].

    source: bytes, a path (str / os.PathLike) or a binary file object read from its current
    position (a Streamlit UploadedFile works). channels: 1 (grayscale by luminance) or 3 (RGB).
    fit: "crop" (default) centre-crops to a square then resizes, so nothing is distorted but the
    long side loses its ends; "pad" centres the whole image on a `background` square.
    background: RGB in [0, 1] used under transparent pixels and for "pad" bars.
    invert: False, True, or "auto" (see `to_model_input`).
    Raises ImageError for the file, ConfigError (a ValueError) for bad arguments.
    """
    _check_options(channels, size, fit, background, invert)
    _check_limits(max_bytes, max_pixels)
    data = _read_bytes(source, max_bytes)
    with _decode_slot():
        decoded = 0
        try:
            image, decoded = _decode(data, max_pixels, draft_size=size, fit=fit)
            return to_model_input(image, channels=channels, size=size, fit=fit,
                                  background=background, invert=invert)
        finally:
            image = None  # noqa: F841 - drop the decoded pixels before handing memory back
            if decoded > TRIM_ABOVE:
                _release_memory()


class _decode_slot:  # noqa: N801 - used as `with _decode_slot():`
    """Hold one of the DECODE_SLOTS while decoding; ImageError if none frees up in time."""

    def __enter__(self):
        if not _slots.acquire(timeout=DECODE_WAIT):
            raise ImageError(f"the server is busy decoding other images (waited {DECODE_WAIT:.0f} s); "
                             "try again")

    def __exit__(self, *exc):
        _slots.release()


def _release_memory() -> None:
    """Return freed heap pages to the system (glibc keeps them per thread arena otherwise)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc_malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return None


_malloc_trim = _libc_malloc_trim()


def load_images(sources: Sequence[Source], **kwargs) -> torch.Tensor:
    """Several files with the same options as `load_image`: `[N, C, size, size]` in [0, 1].

    A refusal names the failing item (its file name, or its index for bytes and streams).
    """
    if len(sources) == 0:
        raise ImageError("no images given")
    out = []
    for i, src in enumerate(sources):
        try:
            out.append(load_image(src, **kwargs))
        except ImageError as exc:
            name = os.path.basename(src) if isinstance(src, (str, os.PathLike)) else f"image {i}"
            raise ImageError(f"{name}: {exc}") from None
    return torch.cat(out)


def to_model_input(image: Image.Image, *, channels: int, size: int, fit: str = "crop",
                   background: Sequence[float] = WHITE, invert: bool | str = False) -> torch.Tensor:
    """An already-open PIL image (its current frame) as float32 `[1, C, size, size]` in [0, 1].

    For images the program made or already trusts: it does none of load_image's file checks
    (byte and pixel caps, format allow-list), so user files go through `load_image`.

    invert: True flips x -> 1 - x. "auto" flips only when channels == 1 and the border is
    brighter than the centre: MNIST-style models expect a light digit on black, while a photo of
    a handwritten digit is dark ink on light paper. Inversion runs after compositing and padding,
    so with fit="pad" the bars count as border: pick a background the colour of the paper.
    """
    _check_options(channels, size, fit, background, invert)
    if not isinstance(image, Image.Image):
        raise ImageError(f"to_model_input takes a PIL image, got a {type(image).__name__}")
    image = _to_working_mode(_upright(image))
    box = _centre_square(image.size) if fit == "crop" else None
    target = (size, size) if fit == "crop" else _fit_inside(image.size, size)
    pixels, alpha = _to_array(_resize(image, target, box))
    pixels = _match_channels(pixels, channels)
    bg = _match_channels(np.asarray(background, np.float32)[None, None, :], channels)[0, 0]
    if alpha is not None:
        # float compositing after the resize: exact background where alpha == 0, and cheap
        pixels = pixels * alpha + bg * (1.0 - alpha)
    if fit == "pad":
        pixels = _pad_square(pixels, size, bg)
    pixels = _maybe_invert(np.clip(pixels, 0.0, 1.0), invert, channels)
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None].float()


# ---------------------------------------------------------------- arguments


def _check_options(channels, size, fit, background, invert) -> None:
    """ConfigError for arguments a caller (not a file) got wrong."""
    if not _is_int(channels) or channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    if not _is_int(size) or not 1 <= size <= 4096:
        raise ConfigError(f"size must be an int in [1, 4096], got {size!r}")
    if fit not in FITS:
        raise ConfigError(f"fit must be one of {FITS}, got {fit!r}")
    try:
        bg = np.asarray(background, dtype=np.float64)
    except (TypeError, ValueError):
        bg = None
    if bg is None or bg.shape != (3,) or not np.all((bg >= 0) & (bg <= 1)):
        raise ConfigError(f"background must be 3 floats (RGB) in [0, 1], got {background!r}")
    if not (invert is True or invert is False or invert == "auto"):
        raise ConfigError(f"invert must be True, False or 'auto', got {invert!r}")


def _check_limits(max_bytes, max_pixels) -> None:
    for name, value in (("max_bytes", max_bytes), ("max_pixels", max_pixels)):
        if not _is_int(value) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# ---------------------------------------------------------------- bytes in


def _read_bytes(source, max_bytes: int) -> bytes:
    """At most `max_bytes` bytes of `source`; ImageError if empty, over the cap or unreadable."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(os.fspath(source), max_bytes)
    elif hasattr(source, "read"):
        data = _read_stream(source, max_bytes)
    else:
        raise ImageError(f"cannot read an image from a {type(source).__name__}: pass bytes, a "
                         "path or a binary file object (open PIL images go to to_model_input)")
    if len(data) == 0:
        raise ImageError("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ImageError(f"file is over the {max_bytes:,}-byte limit")
    return data


def _read_path(path: str, max_bytes: int) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{path} is not a regular file")
        if info.st_size > max_bytes:  # refuse before reading anything
            raise ImageError(f"file is over the {max_bytes:,}-byte limit ({info.st_size:,} bytes)")
        with open(path, "rb") as fh:
            return fh.read(max_bytes + 1)  # +1 so a file that grew is still caught
    except FileNotFoundError:
        raise ImageError(f"file not found: {path}") from None
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_stream(stream, max_bytes: int) -> bytes:
    try:
        data = stream.read(max_bytes + 1)
    except (OSError, ValueError) as exc:  # ValueError: read from a closed file
        raise ImageError(f"cannot read the file object: {exc}") from None
    if not isinstance(data, (bytes, bytearray)):
        raise ImageError("the file object returned text: open image files in binary mode ('rb')")
    return bytes(data)


# ---------------------------------------------------------------- decoding


def _decode(data: bytes, max_pixels: int, draft_size: int, fit: str = "pad") -> tuple[Image.Image, int]:
    """The fully decoded (and reduced) first frame of `data` and the bytes its full decode took,
    or ImageError; never decodes an oversized image."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own cap, checked inside open: an error above 179 MP, a warning above 89 MP
        # (raised only if the caller turned warnings into errors; then our cap refuses anyway)
        raise ImageError(f"image too large: {exc}") from None
    except Exception:  # noqa: BLE001 - every failure to identify untrusted bytes is a refusal
        raise ImageError(_unopenable_message(data)) from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(_too_large_message(image.size, max_pixels))
    if width == 0 or height == 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
    try:
        # a JPEG can be decoded at 1/2, 1/4 or 1/8 scale for free; never below the output size
        image.draft(None, (draft_size, draft_size))
        decoded = _check_decoded_bytes(image)
        image.load()
        return _reduce(image, draft_size, fit), decoded
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow decoders raise OSError, SyntaxError, ...
        raise ImageError(f"truncated or corrupt {image.format} data: {exc}") from None


def _check_decoded_bytes(image: Image.Image) -> int:
    """The bytes `image`'s decoded pixels will take; ImageError above MAX_DECODED_BYTES."""
    w, h = image.size
    per_pixel = _BYTES_PER_PIXEL.get(image.mode, 4)
    need = w * h * per_pixel
    if need > MAX_DECODED_BYTES:
        raise ImageError(f"image too large to decode: {w}x{h} {image.mode} is {need / 2**20:,.0f} MiB "
                         f"in memory, over the {MAX_DECODED_BYTES / 2**20:.0f} MiB limit")
    return need


def _reduce(image: Image.Image, size: int, fit: str) -> Image.Image:
    """`image` shrunk by an integer box filter to at least REDUCE_GAP x `size` on its short side
    (what resize's reducing_gap would do later, but before the mode conversions copy it). For
    fit="crop" only the centre square is kept, exactly the box `to_model_input` would crop (a
    centred square stays centred under any EXIF rotation or flip), so the result is the same."""
    factor = min(image.size) // (REDUCE_GAP * size)
    if factor < 2:
        return image
    if image.mode.startswith("I;16"):
        image = image.convert("I")  # 16-bit data has no reduce; its values are kept (0..65535)
    if image.mode not in _REDUCIBLE:  # P, 1, CMYK, ...: their own conversion runs later
        return image
    # reduce keeps image.info, so EXIF orientation and transparency travel with the pixels
    return image.reduce(factor, box=_centre_square(image.size) if fit == "crop" else None)


def _too_large_message(size: tuple[int, int], max_pixels: int) -> str:
    return (f"image too large: {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels is over the "
            f"limit of {max_pixels:,} (refused before decoding; possible decompression bomb)")


def _unopenable_message(data: bytes) -> str:
    """Why `data` was not opened, as specific as a look at its first bytes allows."""
    head = data[:1024]
    allowed = ", ".join(ALLOWED_FORMATS)
    if head.startswith(b"%PDF"):
        return f"a PDF document, not an image (accepted formats: {allowed})"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "PostScript/EPS is refused: opening it would run Ghostscript"
    if _looks_like_text(head):
        return f"a text file, not an image (accepted formats: {allowed})"
    return f"not a recognised image, or a format not accepted (accepted formats: {allowed})"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


# ---------------------------------------------------------------- modes


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF Orientation tag (phone photos are stored sideways with a rotate flag)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as exc:  # noqa: BLE001 - malformed EXIF blocks raise many types
        raise ImageError(f"unreadable EXIF orientation: {exc}") from None


def _to_working_mode(image: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA (8-bit) or F (high bit depth, scaled to [0, 1])."""
    mode = image.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _high_bit_to_float(image)
    has_key = "transparency" in image.info  # palette / tRNS colour-key transparency
    if mode in ("L", "RGB", "LA", "RGBA") and not has_key:
        return image
    if mode == "1":
        return image.convert("L")
    wants_alpha = has_key or "A" in image.getbands() or mode in ("La", "RGBa")
    try:
        return image.convert("RGBA" if wants_alpha else "RGB")
    except (ValueError, OSError) as exc:
        raise ImageError(f"unsupported image mode {mode}: {exc}") from None


def _high_bit_to_float(image: Image.Image) -> Image.Image:
    """Mode F in [0, 1]: I;16* / 0..65535 data / 0..1 floats over their range, else min..max."""
    values = np.asarray(image).astype(np.float32)  # uint16, int32 or float32 by mode
    if not np.isfinite(values).all():
        raise ImageError(f"{image.mode} image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if image.mode.startswith("I;16") or (image.mode == "I" and low >= 0 and high <= 65535):
        values /= 65535.0  # 16-bit data: its real range, not clipped at 255
    elif not (image.mode == "F" and low >= 0 and high <= 1):
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(values)


# ---------------------------------------------------------------- geometry and arrays


def _centre_square(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred square box (left, top, right, bottom) inside a `(w, h)` image."""
    w, h = size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return left, top, left + side, top + side


def _fit_inside(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`(w, h)` scaled so the long side is `side`, aspect kept, each at least 1 pixel."""
    w, h = size
    scale = side / max(w, h)
    return max(1, min(side, round(w * scale))), max(1, min(side, round(h * scale)))


def _resize(image: Image.Image, target: tuple[int, int], box) -> Image.Image:
    """`box` of `image` (None = all of it) Lanczos-resampled to `target` (w, h).

    Cropped first rather than `resize(box=...)`, whose kernel reads pixels outside the box, so
    nothing cropped away bleeds into the edges. Lanczos is antialiased on downscale (its kernel
    widens with the factor); reducing_gap first box-reduces huge images by an integer factor,
    faster and visually identical. Pillow premultiplies alpha for LA/RGBA, so transparent
    pixels do not bleed colour.
    """
    if box is not None:
        image = image.crop(box)
    return image.resize(target, _LANCZOS, reducing_gap=3.0)


def _to_array(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """`[H, W, C]` float32 in [0, 1] (C = 1 or 3) and alpha `[H, W, 1]` or None."""
    values = np.asarray(image, dtype=np.float32)
    if image.mode != "F":
        values = values / 255.0
    values = values.reshape(image.height, image.width, -1)
    if image.mode in ("LA", "RGBA"):
        return values[..., :-1], values[..., -1:]
    return values, None


def _match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """`[H, W, 1 or 3]` -> `[H, W, channels]`: gray is repeated, RGB becomes BT.601 luminance."""
    if pixels.shape[-1] == channels:
        return pixels
    if channels == 3:
        return np.repeat(pixels, 3, axis=-1)
    return (pixels @ LUMA)[..., None]


def _pad_square(pixels: np.ndarray, side: int, fill: np.ndarray) -> np.ndarray:
    """`[h, w, C]` centred on a `[side, side, C]` canvas of `fill` (`[C]`)."""
    h, w, c = pixels.shape
    canvas = np.empty((side, side, c), np.float32)
    canvas[...] = fill
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = pixels
    return canvas


def _maybe_invert(pixels: np.ndarray, invert: bool | str, channels: int) -> np.ndarray:
    """`[S, S, C]` flipped to 1 - x when asked, or for "auto" when the border outshines the centre."""
    if invert == "auto":
        invert = channels == 1 and _border_mean(pixels) > _centre_mean(pixels)
    return 1.0 - pixels if invert else pixels


def _border_mean(pixels: np.ndarray) -> float:
    """Mean of the outer ring, an eighth of the side wide (at least one pixel)."""
    k = max(1, pixels.shape[0] // 8)
    mask = np.ones(pixels.shape[:2], bool)
    mask[k:-k, k:-k] = False
    return float(pixels[mask].mean())


def _centre_mean(pixels: np.ndarray) -> float:
    """Mean of the central square, half the side wide."""
    s = pixels.shape[0]
    q = s // 4
    return float(pixels[q:s - q, q:s - q].mean()) if s > 2 else float(pixels.mean())
