"""The one image renderer: tensors -> tiled sheets -> PNG / GIF bytes or files.

Every grid, strip and exported image (the app's pages, `python -m latentlab reconstruct`,
`replay`, the benchmark report) goes through `tile` and `to_pil`, so an image exported from the
app and the same image replayed from the command line are the same bytes. Images are floats in
[0, 1], `[C, H, W]` or `[N, C, H, W]` with C = 1 or 3; the tiny 28/32/64 px images are enlarged
with nearest-neighbour so pixels stay crisp.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from PIL import Image

from latentlab.atomic import atomic_file
from latentlab.errors import ConfigError, LatentlabError


def _images(images) -> torch.Tensor:
    x = torch.as_tensor(images).detach().float()
    x = x[None] if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) == 0:
        raise ConfigError(f"expected images [N, C in (1, 3), H, W], got {tuple(x.shape)}")
    return x


def tile(images, ncol: int | None = None, gap: int = 1, fill: float = 1.0) -> torch.Tensor:
    """Images `[N, C, H, W]` in rows of `ncol` (default: one row), `gap` pixels of `fill` between
    tiles and none around the sheet -> `[C, H', W']`. A short last row is padded with `fill`."""
    x = _images(images)
    n, c, h, w = x.shape
    ncol = max(1, min(int(ncol or n), n))
    nrow = -(-n // ncol)
    sheet = torch.full((c, nrow * (h + gap) - gap, ncol * (w + gap) - gap), float(fill))
    for k, image in enumerate(x):
        r, q = divmod(k, ncol)
        sheet[:, r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = image
    return sheet


def scale_for(side: int, px: int | None) -> int:
    """The integer enlargement that brings a `side`-pixel tile closest to `px` (at least 1)."""
    return 1 if not px else max(1, round(px / side))


def to_pil(image, scale: int = 1) -> Image.Image:
    """One image `[C, H, W]` in [0, 1] (C = 1 or 3) -> PIL image, nearest-upscaled by `scale`."""
    x = torch.as_tensor(image).detach().float().clamp(0, 1)
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ConfigError(f"expected an image [C in (1, 3), H, W], got {tuple(x.shape)}")
    arr = (x * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def png(images, ncol: int | None = None, px: int | None = None, gap: int = 1) -> bytes:
    """One image `[C, H, W]` or a sheet of images `[N, C, H, W]` (rows of `ncol`, default one row)
    -> PNG bytes, each tile enlarged to about `px` pixels wide."""
    x = _images(images)
    sheet = x[0] if len(x) == 1 else tile(x, ncol, gap)
    buf = io.BytesIO()
    to_pil(sheet, scale_for(x.shape[-1], px)).save(buf, format="PNG")
    return buf.getvalue()


def gif(frames, duration_ms: int = 80, pingpong: bool = False, px: int | None = None) -> bytes:
    """Frames `[T, C, H, W]` -> an animated GIF that loops forever.

    pingpong appends the frames in reverse without repeating the ends (T -> 2T-2 frames), so the
    animation goes there and back. Pillow merges consecutive identical frames into one longer
    frame, so a static path yields fewer frames.
    """
    seq = list(_images(frames))
    if pingpong and len(seq) > 2:
        seq = seq + seq[-2:0:-1]
    scale = scale_for(seq[0].shape[-1], px)
    imgs = [to_pil(f, scale) for f in seq]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def save_png(data: bytes | torch.Tensor, path: str | os.PathLike) -> Path:
    """Write PNG bytes (or one image `[C, H, W]`) to a .png file atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise LatentlabError(f"output must be a .png file, got {path}")
    if not path.parent.is_dir():
        raise LatentlabError(f"output folder does not exist: {path.parent}")
    if isinstance(data, torch.Tensor):
        data = png(data)
    with atomic_file(path, suffix=".png") as tmp:
        tmp.write_bytes(data)
    return path
