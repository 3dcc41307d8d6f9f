"""Checking a checkpoint folder before anything is allocated for it.

One malformed folder must never take the app down: a `config.json` nested 100,000 deep (json
raises RecursionError), `"label": 5`, a list as the dataset name, `image_shape [3, 1e5, 1e5]`,
`latent_dim 1e9` or a safetensors header nested deep all used to crash the lister or become a
visitor's default checkpoint. `inspect` reads only the two JSON files (size- and depth-limited)
and the safetensors header (length-, depth- and size-limited), checks every type and range,
builds the model on PyTorch's meta device (shapes only, no memory; refused above
limits.MAX_PARAMETERS) and compares the header's tensor names, shapes and dtypes with it. Only
then does `checkpoint.load` read the weights. Every refusal is a CheckpointError naming the file
and the reason in one line.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import torch

from latentlab import limits
from latentlab.errors import CheckpointError, LatentlabError
from latentlab.keys import FAMILY_KEY, METRICS, OLD_FAMILY_KEY
from latentlab.sources import check_source

FORMAT_VERSIONS = (1, 2)  # 1 stored the family as "architecture", 2 as "family"
TRAINING_BYTES = 8 << 20  # a 10,000-epoch history is ~2 MB
HEADER_BYTES = 1 << 20  # our headers are ~2 KB; safetensors itself allows 100 MB
WEIGHT_BYTES = 4 * limits.MAX_PARAMETERS + HEADER_BYTES + 8
HEADER_DEPTH = 3  # {name: {"shape": [..]}}
LABEL = re.compile(r"^[\w .,/()=+-]{1,64}$")  # "β-VAE (β=4)", "VAE/GAN"; no [ ] ! < > for links
DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
          "U8": torch.uint8, "BOOL": torch.bool}


@dataclass
class Inspected:
    """What a checkpoint folder holds, checked; `expected` is the meta-device state_dict."""

    config: dict
    training: dict
    family: str
    header: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)


def read_json(path: Path, max_bytes: int = limits.CONFIG_BYTES) -> dict:
    """A JSON object from `path`, size- and depth-limited, or CheckpointError naming the file."""
    try:
        if not path.is_file():
            raise CheckpointError(f"{path}: missing")
        if path.stat().st_size > max_bytes:
            raise CheckpointError(f"{path}: over the {max_bytes:,}-byte limit")
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable ({exc.strerror or exc})") from None
    try:
        obj = limits.parse_json(raw)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return obj


def family_of(config: dict) -> str:
    """The model family a config names ("family"; "architecture" in format 1)."""
    return config.get(FAMILY_KEY, config.get(OLD_FAMILY_KEY))


def inspect(path: Path, sources: bool = True) -> Inspected:
    """Check a checkpoint folder's JSON files and weight header; nothing big is read.
    sources=False skips the data-source rule (loading weights reads no data; `dataset_of` and
    the zoo listing apply it)."""
    config = read_json(path / "config.json")
    try:
        family, args = _check_config(config, sources)
    except LatentlabError as exc:
        raise CheckpointError(f"{path / 'config.json'}: {exc}") from None
    training = {}
    if (path / "training.json").exists():
        training = read_json(path / "training.json", TRAINING_BYTES)
        _check_training(training, path / "training.json")
    expected = _meta_state(family, args, path / "config.json")
    header = read_header(path / "model.safetensors")
    _compare(header, expected, path / "model.safetensors")
    return Inspected(config, training, family, header, expected)


def _check_config(config: dict, sources: bool) -> tuple[str, dict]:
    if config.get("format_version") not in FORMAT_VERSIONS:
        raise CheckpointError(f"unsupported format_version {limits.show(config.get('format_version'))}")
    family = family_of(config)
    from latentlab.models.registry import FAMILIES

    if not isinstance(family, str) or family not in FAMILIES:
        raise CheckpointError(f"unknown model family {limits.show(family)}; known: {', '.join(FAMILIES)}")
    label = config.get("label", family)
    if not isinstance(label, str) or not LABEL.match(label):
        raise CheckpointError(f"label must be 1-64 letters, digits, spaces and . , / ( ) = + -, "
                              f"got {limits.show(label)}")
    args = config.get("model_args")
    if not isinstance(args, dict):
        raise CheckpointError("model_args must be an object")
    limits.check_image_shape(args.get("image_shape"), "model_args.image_shape")
    limits.check_int(args.get("latent_dim"), "model_args.latent_dim", limits.LATENT_DIM)
    limits.check_model_args(args, "model_args")
    dataset = config.get("dataset")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("options", {}), dict):
        raise CheckpointError("dataset must be an object {name, options}")
    name = dataset.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= limits.NAME_LENGTH:
        raise CheckpointError(f"dataset.name must be a dataset name, got {limits.show(name)}")
    if sources:
        check_source(name, dataset.get("options", {}))
    return family, args


def _check_training(training: dict, where: Path) -> None:
    metrics = training.get("test_metrics", {})
    if not isinstance(metrics, dict):
        raise CheckpointError(f"{where}: test_metrics must be an object")
    for key in METRICS:
        value = metrics.get(key)
        if value is not None and not limits.is_number(value):
            raise CheckpointError(f"{where}: test_metrics.{key} must be a finite number, got {limits.show(value)}")
    for key, kind in (("config", dict), ("history", list)):
        if key in training and not isinstance(training[key], kind):
            raise CheckpointError(f"{where}: {key} must be a JSON {kind.__name__}")
    seconds = training.get("seconds")
    if seconds is not None and not limits.is_number(seconds):
        raise CheckpointError(f"{where}: seconds must be a number, got {limits.show(seconds)}")


def _meta_state(family: str, args: dict, where: Path) -> dict:
    """The state_dict `family(**args)` would have, built on the meta device (no memory)."""
    from latentlab.models.registry import FAMILIES

    try:
        limits.check_model_size(FAMILIES[family], args)
        with torch.device("meta"):
            return FAMILIES[family](**args).state_dict()
    except TypeError as exc:
        raise CheckpointError(f"{where}: bad model_args for family {family!r}: {exc}") from None
    except LatentlabError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def read_header(path: Path) -> dict:
    """The safetensors header of `path`, checked by hand: length, depth, entries, file size.
    A pickle or a truncated file fails here with a clear message (nothing is executed)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
            raw = fh.read(n) if n is not None and n <= min(HEADER_BYTES, size - 8) else b""
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable ({exc.strerror or exc})") from None
    if n is None:
        raise CheckpointError(f"{path}: truncated ({size} bytes), not a safetensors file")
    if not raw:
        raise CheckpointError(f"{path}: not a safetensors file (bad header length; truncated "
                              "or another format such as a pickle)")
    if size > WEIGHT_BYTES:
        raise CheckpointError(f"{path}: {size:,} bytes, over the {WEIGHT_BYTES:,}-byte limit")
    try:
        header = limits.parse_json(raw, HEADER_DEPTH)
    except ValueError as exc:
        raise CheckpointError(f"{path}: not a safetensors file (header: {exc})") from None
    _check_entries(header, path, size - 8 - n)
    return header


def _check_entries(header, path: Path, data_bytes: int) -> None:
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (malformed header)")
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            shape, (start, stop) = entry["shape"], entry["data_offsets"]
            ok = entry["dtype"] in DTYPES and all(limits.is_int(v) and v >= 0 for v in (*shape, start, stop))
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"{path}: not a safetensors file (malformed header entry {limits.show(key)})")
        end = max(end, stop)
    if end != data_bytes:
        raise CheckpointError(f"{path}: truncated or padded (expected {8 + end} bytes of data after "
                              f"the header, found {data_bytes})")


def _compare(header: dict, expected: dict, path: Path) -> None:
    """The header's tensors are exactly the model's: names, shapes, dtypes."""
    found = {k: v for k, v in header.items() if k != "__metadata__"}
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path}: tensors do not match the architecture "
                              f"(missing: {missing[:5]}, unexpected: {extra[:5]})")
    for key, ref in expected.items():
        dtype, shape = DTYPES[found[key]["dtype"]], list(found[key]["shape"])
        if shape != list(ref.shape) or dtype != ref.dtype:
            raise CheckpointError(f"{path}: tensor {key!r} is {dtype}{shape}, "
                                  f"expected {ref.dtype}{list(ref.shape)}")
