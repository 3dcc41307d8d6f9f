"""The codec's byte format: a 11-byte header, the range coder's words, a 2-byte checksum.

    offset  size  field
    0       2     magic b"LC"
    2       1     format version (1)
    3       1     index of the quantisation step in the model's ladder
    4       1     image channels C
    5       2     image height H (little-endian)
    7       2     image width W
    9       2     model tag: the first two bytes of a hash of the weights and tables, so bytes
                  made by one codec checkpoint are refused by another instead of decoding to noise
    11      n     payload: the range coder's 32-bit words, big-endian, up to 3 trailing zero
                  bytes dropped (the decoder pads them back)
    11+n    2     CRC-16/CCITT of everything before it (binascii.crc_hqx)

13 bytes of overhead in all, counted in every byte and bpp figure. Parsing checks lengths,
magic, version, checksum and field ranges before anything is decoded, and every failure is a
CodecError naming the problem.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

import numpy as np

from latentlab.errors import LatentlabError

MAGIC = b"LC"
VERSION = 1
MAX_SIDE = 2048  # refuse headers that would make the decoder allocate a giant image
_HEAD = struct.Struct("<2sBBBHH2s")
OVERHEAD = _HEAD.size + 2


class CodecError(LatentlabError, ValueError):
    """Bytes that are not a valid latentlab codec stream for this model, or an image it cannot code."""


@dataclass(frozen=True)
class Header:
    step_index: int
    channels: int
    height: int
    width: int
    tag: bytes


def pack(header: Header, words: np.ndarray) -> bytes:
    """Header + payload words (uint32) + checksum."""
    head = _HEAD.pack(MAGIC, VERSION, header.step_index, header.channels, header.height,
                      header.width, header.tag)
    payload = words.astype(">u4").tobytes()
    trimmed = payload.rstrip(b"\0")
    payload = payload[: max(len(trimmed), len(payload) - 3)]
    body = head + payload
    return body + struct.pack("<H", binascii.crc_hqx(body, 0))


def unpack(data: bytes) -> tuple[Header, np.ndarray]:
    """Check and split a stream; raises CodecError for anything malformed, truncated or corrupted."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < OVERHEAD:
        raise CodecError(f"too short to be a latentlab codec stream: {len(data)} bytes "
                         f"(at least {OVERHEAD})")
    magic, version, step_index, channels, height, width, tag = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise CodecError(f"not a latentlab codec stream (starts with {data[:2]!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise CodecError(f"unsupported codec format version {version} (this latentlab reads {VERSION})")
    (crc,) = struct.unpack_from("<H", data, len(data) - 2)
    if crc != binascii.crc_hqx(data[:-2], 0):
        raise CodecError("corrupted or truncated codec stream (checksum mismatch)")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE and channels >= 1):
        raise CodecError(f"codec stream declares an impossible image {channels}x{height}x{width}")
    payload = data[_HEAD.size:-2]
    payload += b"\0" * (-len(payload) % 4)
    words = np.frombuffer(payload, dtype=">u4").astype(np.uint32)
    return Header(step_index, channels, height, width, tag), words
