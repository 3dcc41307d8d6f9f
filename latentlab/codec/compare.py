"""What the Compress page calls: one image and a rate -> the codec's bytes and decoded image,
beside JPEG and WebP files of at most the same size, with PSNR and SSIM for each.

    rates(model)                        -> [(step index, Δ)] the model offers, finest first
    comparison = compare(model, x, step_index)
    comparison.data                     -> the bytes to download (`.llc` by convention)
    comparison.rows()                   -> table rows: method, bytes, bpp, PSNR, SSIM
    decode_upload(model, data)          -> the image in uploaded bytes, or CodecError

Images `[C, H, W]` in [0, 1]; the original is rounded to 8 bits first, as JPEG and WebP see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.codec import baselines, coder
from latentlab.codec.baselines import Coded
from latentlab.codec.model import Codec


@dataclass
class Comparison:
    """The codec's stream and decoding of one image, and the baselines at the same budget."""

    original: torch.Tensor  # [C, H, W], 8-bit values
    data: bytes
    decoded: torch.Tensor  # [C, H, W], 8-bit values (what a viewer of the decoded file sees)
    step: float
    jpeg: Coded | None  # None: even the smallest JPEG is larger than the codec's stream
    webp: Coded | None

    @property
    def n_bytes(self) -> int:
        return len(self.data)

    def bpp(self, n_bytes: int) -> float:
        return 8 * n_bytes / (self.original.shape[1] * self.original.shape[2])

    def rows(self) -> list[dict]:
        """One row per method: bytes, bits per pixel, PSNR (dB), SSIM; None where JPEG or WebP
        cannot fit the budget."""
        out = [self._row("learned codec", self.n_bytes, self.decoded)]
        for name, c in (("JPEG", self.jpeg), ("WebP", self.webp)):
            out.append(self._row(f"{name} (q={c.quality})", c.n_bytes, c.image) if c else
                       {"method": name, "bytes": None, "bpp": None, "psnr": None, "ssim": None})
        return out

    def _row(self, method: str, n: int, image: torch.Tensor) -> dict:
        return {"method": method, "bytes": n, "bpp": self.bpp(n),
                "psnr": baselines.psnr(image, self.original), "ssim": baselines.ssim(image, self.original)}


def rates(model: Codec) -> list[tuple[int, float]]:
    """(step index, Δ) pairs, from the finest step (most bytes) to the coarsest."""
    return sorted(enumerate(model.steps), key=lambda pair: pair[1])


def compare(model: Codec, x: torch.Tensor, step_index: int | None = None) -> Comparison:
    """Code `x` `[C, H, W]` with the codec at one step and with JPEG/WebP at most as many bytes."""
    original = baselines.eight_bit(coder.check_image(model, x)[0])
    data = coder.compress(model, original, step_index)
    decoded = baselines.eight_bit(coder.decompress(model, data))
    step = model.steps[model.default_step if step_index is None else step_index]
    jpeg, webp = (baselines.at_most(baselines.ladder(original, fmt), len(data)) for fmt in ("JPEG", "WEBP"))
    return Comparison(original, data, decoded, step, jpeg, webp)


def decode_upload(model: Codec, data: bytes) -> torch.Tensor:
    """Decode uploaded bytes to an image `[C, H, W]`; CodecError if they are not this model's."""
    return coder.decompress(model, data)
