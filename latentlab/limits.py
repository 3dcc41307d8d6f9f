"""Limits on every size and count a config, a checkpoint or the command line can ask for.

Everything here is checked before memory is allocated for it: a latent size of 1e6 once reached
4.8 GB before an outside limit stopped it. The bounds are generous for a laptop lab (the zoo's
largest model has 0.9 M parameters and the largest dataset 14,000 64x64 RGB images) and each
refusal names the value, the field and the allowed range in one line.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import torch

from latentlab.errors import ConfigError

LATENT_DIM = (1, 4096)
IMAGE_SIDE = (4, 512)  # pixels per side of a model's input
CHANNELS = (1, 3)
EPOCHS = (1, 10_000)
BATCH_SIZE = (1, 8192)
THREADS = (1, 256)
SEED = (0, 2**32 - 1)  # numpy's legacy seeding accepts no more; torch accepts it too
IMAGES = (1, 1_000_000)  # images per dataset split
MODEL_INT = (0, 65_536)  # any other integer model argument (width, layers, ...)
MODEL_LIST = 256  # values in a list-valued model argument (e.g. a codec's quantiser steps)
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights
MAX_DATA_VALUES = 512_000_000  # floats a dataset may hold in memory (2 GB)
NAME_LENGTH = 64
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
GRID_IMAGES = (1, 1024)
JSON_DEPTH = 32  # our files nest 4 deep; Python's parser recurses (and can crash) near 1000
CONFIG_BYTES = 1 << 20  # a training config or checkpoint config.json
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_int(value, field: str, bounds: tuple[int, int]) -> int:
    """`value` if it is an int within `bounds` (inclusive), else ConfigError naming `field`."""
    lo, hi = bounds
    if not is_int(value) or not lo <= value <= hi:
        raise ConfigError(f"{field} must be an integer in [{lo}, {hi:,}], got {show(value)}")
    return value


def check_number(value, field: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """A finite number >= low (> low with low_open) and <= high, else ConfigError."""
    ok = is_number(value) and (low is None or (value > low if low_open else value >= low)) \
        and (high is None or value <= high)
    if not ok:
        bounds = ([f"{'>' if low_open else '>='} {low}"] if low is not None else []) + \
                 ([f"<= {high}"] if high is not None else [])
        raise ConfigError(f"{field} must be a finite number {' and '.join(bounds)}, got {show(value)}".replace("  ", " "))
    return float(value)


def check_name(value, field: str = "name") -> str:
    """A checkpoint / run name: 1-64 letters, digits, '_', '.', '-', not starting with '.'."""
    if not isinstance(value, str) or not 1 <= len(value) <= NAME_LENGTH or not NAME.match(value):
        raise ConfigError(f"{field} must be 1-{NAME_LENGTH} letters, digits, '_', '.' or '-' "
                          f"(not starting with '.' or '-'), got {show(value)}")
    return value


def check_model_size(cls: type, args: dict) -> None:
    """Build the model on PyTorch's meta device (shapes only, no memory) and refuse it if it has
    more than MAX_PARAMETERS values; constructor errors surface here too."""
    try:
        with torch.device("meta"):
            model = cls(**args)
    except NotImplementedError:  # a family whose constructor computes on tensors: size unknown
        return
    except (RuntimeError, OverflowError, MemoryError) as exc:
        raise ConfigError(f"cannot build this model: {str(exc).splitlines()[0][:200]}") from None
    n = sum(t.numel() for t in model.state_dict().values())
    if n > MAX_PARAMETERS:
        raise ConfigError(f"this model would have {n:,} parameters, over the limit of "
                          f"{MAX_PARAMETERS:,} (lower width, latent_dim or the image size)")


def check_model_args(args: dict, where: str = "model.args") -> None:
    """Generic checks of a family's JSON arguments: scalars or short flat lists of them, finite,
    bounded; the family's constructor checks what each means."""
    for key, value in args.items():
        field = f"{where}.{key}"
        if key == "image_shape":
            continue
        if isinstance(value, list):
            if len(value) > MODEL_LIST:
                raise ConfigError(f"{field} may hold at most {MODEL_LIST} values, got {len(value)}")
            for i, item in enumerate(value):
                _check_model_scalar(item, f"{field}[{i}]")
        else:
            _check_model_scalar(value, field)


def _check_model_scalar(value, field: str) -> None:
    if is_int(value):
        check_int(value, field, MODEL_INT)
    elif isinstance(value, float):
        check_number(value, field, -MODEL_INT[1], MODEL_INT[1])
    elif isinstance(value, str):
        if len(value) > NAME_LENGTH or "\x00" in value:
            raise ConfigError(f"{field} must be a short string, got {show(value)}")
    elif not isinstance(value, bool) and value is not None:
        raise ConfigError(f"{field} must be a number, string, boolean or a list of them, "
                          f"got {type(value).__name__}")


def check_image_shape(value, field: str = "image_shape") -> list[int]:
    """[C, H, W] with C in {1, 3} and H, W within IMAGE_SIDE."""
    if not isinstance(value, list) or len(value) != 3 or not all(is_int(v) for v in value):
        raise ConfigError(f"{field} must be a list of 3 integers [C, H, W], got {show(value)}")
    if value[0] not in CHANNELS:
        raise ConfigError(f"{field}: channels must be 1 or 3, got {value[0]}")
    for side in value[1:]:
        check_int(side, f"{field} side", IMAGE_SIDE)
    return value


def parse_json(raw: bytes, max_depth: int = JSON_DEPTH):
    """Parse UTF-8 JSON whose nesting is at most `max_depth`, checked before parsing (a config
    nested 100,000 deep raises RecursionError inside json.loads). ValueError says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    depth = json_depth(text)
    if depth > max_depth:
        raise ValueError(f"JSON nested {depth} deep, over the limit of {max_depth}")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def json_depth(text: str) -> int:
    """Deepest bracket nesting of JSON `text` outside strings (0 for a bare value)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = (1 if ch in "[{" else -1 for ch in brackets)
    return max(itertools.accumulate(steps, initial=0))


def show(value) -> str:
    """A short, printable rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
