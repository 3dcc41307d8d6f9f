"""JPEG and WebP from Pillow at a byte budget, and the image metrics every codec is scored by.

Matching: for a budget of n bytes, every quality setting is tried and the largest file of at
most n bytes is kept (ties: the higher quality). File sizes are whole files as Pillow writes
them: JPEG's headers and Huffman tables (~125+ bytes for a 64×64 image even at quality 1) and
WebP's RIFF container count, just as the codec's own 13-byte header does. When even the
smallest file exceeds the budget the format has no entry at that rate (None).

JPEG: baseline, Huffman tables optimised (`optimize=True`), Pillow's default 4:2:0 chroma
subsampling, qualities 1–95. WebP: lossy, `method=6` (slowest, smallest), qualities 0–100.
All images are 8-bit: the original is rounded to 8 bits before any codec sees it, and every
decoded image is compared in 8 bits too.

Metrics: PSNR in dB for data range 1; SSIM from scikit-image's `structural_similarity`
(Wang et al. 2004; 7×7 uniform window, data range 1, colour channels averaged), the same call
as `latentlab.metrics.restoration.ssim`, so the numbers agree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

FORMATS = {"JPEG": range(1, 96), "WEBP": range(0, 101)}


@dataclass(frozen=True)
class Coded:
    """One coded image: the file's bytes, the quality used, the decoded 8-bit image `[H, W, C]`."""

    format: str
    quality: int
    data: bytes
    pixels: np.ndarray

    @property
    def n_bytes(self) -> int:
        return len(self.data)

    @property
    def image(self) -> torch.Tensor:
        """The decoded image `[C, H, W]` in [0, 1]."""
        return from_uint8(self.pixels)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """`[C, H, W]` in [0, 1] -> `[H, W, C]` uint8 (rounded)."""
    return (x.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def from_uint8(a: np.ndarray) -> torch.Tensor:
    """`[H, W, C]` uint8 -> `[C, H, W]` float in [0, 1]."""
    return torch.from_numpy(np.array(a, dtype=np.float32)).permute(2, 0, 1) / 255


def eight_bit(x: torch.Tensor) -> torch.Tensor:
    """The image as an 8-bit file would hold it, `[C, H, W]`."""
    return from_uint8(to_uint8(x))


def encode_pil(a: np.ndarray, fmt: str, quality: int) -> Coded:
    """Encode an 8-bit image `[H, W, C]` (C = 1 or 3) as JPEG or WEBP and decode it back."""
    image = Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)
    buf = io.BytesIO()
    options = {"optimize": True} if fmt == "JPEG" else {"method": 6}
    image.save(buf, format=fmt, quality=int(quality), **options)
    data = buf.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert(image.mode))
    return Coded(fmt, int(quality), data, decoded.reshape(a.shape))


def ladder(x: torch.Tensor, fmt: str) -> list[Coded]:
    """Every quality of one format for one image `[C, H, W]`, in quality order."""
    a = to_uint8(x)
    return [encode_pil(a, fmt, q) for q in FORMATS[fmt]]


def at_most(coded: list[Coded], n_bytes: int) -> Coded | None:
    """The largest file of at most `n_bytes` (ties: higher quality), or None if none fits."""
    fits = [c for c in coded if c.n_bytes <= n_bytes]
    return max(fits, key=lambda c: (c.n_bytes, c.quality)) if fits else None


def psnr(x_hat, x) -> float:
    """PSNR in dB of two images in [0, 1] (tensors or arrays of one shape), data range 1."""
    mse = float(np.mean((np.asarray(x_hat, dtype=np.float64) - np.asarray(x, dtype=np.float64)) ** 2))
    return float("inf") if mse == 0 else -10 * float(np.log10(mse))


def ssim(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """SSIM of `[C, H, W]` images in [0, 1] (scikit-image, data range 1, channels averaged)."""
    from skimage.metrics import structural_similarity  # lazy: only the metric needs scikit-image

    return float(structural_similarity(x_hat.double().clamp(0, 1).numpy(), x.double().numpy(),
                                       data_range=1.0, channel_axis=0))
