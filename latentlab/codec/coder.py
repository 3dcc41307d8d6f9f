"""Real bytes from a `Codec`: quantised latents range-coded with `constriction`.

Symbols are coded channel by channel (row-major within a channel), each channel with its own
categorical model built from the integer frequency tables stored in the checkpoint
(`Codec.table_counts`), so encoder and decoder use bit-identical probabilities on any machine.
constriction's range coder (a queue: decode in encoding order) rescales the tables to its own
fixed-point precision deterministically and keeps every symbol codable.

Shapes: one image `[C, H, W]` in [0, 1], H and W divisible by 2^stages, at most 2048.
"""

from __future__ import annotations

import hashlib

import constriction
import numpy as np
import torch

from latentlab.codec import bitstream
from latentlab.codec.bitstream import CodecError, Header
from latentlab.codec.model import TABLE_LEN, Codec


def model_tag(model: Codec) -> bytes:
    """Two bytes identifying the weights and tables a stream was made with."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().contiguous().cpu().numpy().tobytes())
    return h.digest()[:2]


def _categoricals(model: Codec, step_index: int) -> list:
    counts = model.table_counts[step_index].double().numpy()
    return [constriction.stream.model.Categorical(c / c.sum(), perfect=False) for c in counts]


def check_image(model: Codec, x: torch.Tensor) -> torch.Tensor:
    """The image as `[1, C, H, W]` float32 in [0, 1], or CodecError saying why it cannot be coded."""
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4) or (x.ndim == 4 and len(x) != 1):
        raise CodecError("compress takes one image tensor [C, H, W] (or [1, C, H, W])")
    x = x.reshape(1, *x.shape[-3:]).float()
    c, h, w = x.shape[1:]
    side = 2 ** model.args["stages"]
    if c != model.image_shape[0]:
        raise CodecError(f"this codec codes {model.image_shape[0]}-channel images, got {c} channels")
    if h % side or w % side or not (h <= bitstream.MAX_SIDE and w <= bitstream.MAX_SIDE):
        raise CodecError(f"image sides must be multiples of {side} and at most {bitstream.MAX_SIDE}, "
                         f"got {h}x{w}")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise CodecError("image values must be finite and in [0, 1]")
    return x


@torch.inference_mode()
def compress(model: Codec, x: torch.Tensor, step_index: int | None = None) -> bytes:
    """One image `[C, H, W]` in [0, 1] -> bytes. `step_index` picks Δ from `model.steps`
    (default: Δ = 1, the trained rate); a larger Δ means fewer bytes and a coarser image."""
    x = check_image(model, x)
    s = model.default_step if step_index is None else int(step_index)
    if not 0 <= s < len(model.steps):
        raise CodecError(f"step index must be in [0, {len(model.steps) - 1}], got {step_index}")
    k = model.quantise(model.analysis(x), s)[0]  # [M, h, w]
    symbols = (k - model.table_lo[s].long()[:, None, None]).flatten(1).numpy().astype(np.int32)
    encoder = constriction.stream.queue.RangeEncoder()
    for row, cat in zip(symbols, _categoricals(model, s)):
        encoder.encode(row, cat)
    header = Header(s, x.shape[1], x.shape[2], x.shape[3], model_tag(model))
    return bitstream.pack(header, encoder.get_compressed())


@torch.inference_mode()
def decode_latents(model: Codec, data: bytes) -> tuple[torch.Tensor, Header]:
    """Bytes -> quantised latents ŷ `[1, M, h, w]` and the header; CodecError if they are not a
    complete stream made by this model."""
    header, words = bitstream.unpack(data)
    side = 2 ** model.args["stages"]
    if header.channels != model.image_shape[0] or header.height % side or header.width % side:
        raise CodecError(f"stream holds a {header.channels}x{header.height}x{header.width} image, "
                         f"which this codec ({model.image_shape[0]} channels, sides multiple of "
                         f"{side}) does not code")
    if header.step_index >= len(model.steps):
        raise CodecError(f"stream uses step index {header.step_index}; this codec has {len(model.steps)}")
    if header.tag != model_tag(model):
        raise CodecError("stream was made by another codec checkpoint (model tag mismatch)")
    h, w = header.height // side, header.width // side
    decoder = constriction.stream.queue.RangeDecoder(words)
    rows = [decoder.decode(cat, h * w) for cat in _categoricals(model, header.step_index)]
    if not decoder.maybe_exhausted():
        raise CodecError("codec stream has trailing data after the last symbol")
    symbols = np.stack(rows).astype(np.int64).reshape(-1, h, w)
    if symbols.min() < 0 or symbols.max() >= TABLE_LEN:
        raise CodecError("codec stream decodes to symbols outside the model's tables")
    k = torch.from_numpy(symbols) + model.table_lo[header.step_index].long()[:, None, None]
    return model.dequantise(k[None], header.step_index), header


def decompress(model: Codec, data: bytes) -> torch.Tensor:
    """Bytes -> decoded image `[C, H, W]` in [0, 1]."""
    y_hat, _ = decode_latents(model, data)
    with torch.inference_mode():
        return model.synthesise(y_hat)[0]


@torch.inference_mode()
def quantised_reconstruction(model: Codec, x: torch.Tensor, step_index: int | None = None) -> torch.Tensor:
    """What `decompress(compress(x))` must return, computed without coding: `[C, H, W]`."""
    x = check_image(model, x)
    s = model.default_step if step_index is None else int(step_index)
    return model.synthesise(model.dequantise(model.quantise(model.analysis(x), s), s))[0]
