"""Checkpoints: a folder of `model.safetensors` + `config.json` + `training.json`.

This is the only loader. Nothing is ever unpickled: tensors come from safetensors, everything
else from JSON, and the model class is looked up by family name in a fixed registry. Writes are
atomic (latentlab.atomic.atomic_dir): the folder is assembled under a temporary name and
exchanged with the old one in one rename, so a kill at any moment leaves the previous checkpoint
or the new one under its name, never half of one and never none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import latentlab
from latentlab import atomic
from latentlab.errors import CheckpointError, LatentlabError
from latentlab.models import LatentModel, build_model

FORMAT_VERSION = 1
ZOO_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAX_HEADER = 16 * 1024 * 1024


@dataclass
class CheckpointInfo:
    """What a loaded model knows about where it came from. `hash` keys every derived cache."""

    name: str
    path: Path
    config: dict
    training: dict = field(default_factory=dict)
    hash: str = ""

    @property
    def dataset(self) -> dict:
        return self.config["dataset"]

    @property
    def test_metrics(self) -> dict:
        return self.training.get("test_metrics", {})


def save(model: LatentModel, directory: str | Path, dataset: dict, training: dict,
         overwrite: bool = True) -> Path:
    """Write a checkpoint folder atomically; returns its path. `dataset` is {name, options}.

    overwrite=False: CheckpointError if `directory` exists (checked again at the final rename,
    so a checkpoint written meanwhile by another run is never replaced)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "architecture": model.family,
        "label": model.label,
        "model_args": model.model_args(),
        "dataset": dataset,
        "latentlab_version": latentlab.__version__,
        "torch_version": torch.__version__.split("+")[0],
    }
    check_writable(directory, overwrite)
    try:
        with atomic.atomic_dir(directory, exists="replace" if overwrite else "error") as tmp:
            tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
            save_file(tensors, str(tmp / "model.safetensors"))
            _write_json(tmp / "config.json", config)
            _write_json(tmp / "training.json", training)
            for f in tmp.iterdir():
                f.chmod(0o644)  # safetensors writes its file private (0600); a checkpoint is shared
    except FileExistsError:  # another run wrote this name while we trained
        check_writable(directory, overwrite)
        raise
    return directory


def check_writable(directory: Path, overwrite: bool) -> None:
    """CheckpointError if a checkpoint `directory` exists and may not be replaced."""
    if not overwrite and (directory.exists() or atomic.recover(directory)):
        raise CheckpointError(f"a checkpoint {directory.name!r} already exists in {directory.parent}: "
                              "pass --overwrite (overwrite=True) to replace it; it was kept")


def _write_json(path: Path, obj) -> None:
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, allow_nan=False)


def resolve(ref: str | os.PathLike) -> tuple[str, Path]:
    """A `str` is a zoo name under checkpoints/; an `os.PathLike` is a folder anywhere.

    Zoo names may not leave checkpoints/: `..`, absolute paths and symlinks pointing out are
    refused.
    """
    if isinstance(ref, os.PathLike):
        path = Path(ref)
        return path.name, path
    if not isinstance(ref, str):
        raise CheckpointError(f"a checkpoint is named by a str or a path, got {type(ref).__name__}")
    if not _NAME.match(ref):
        raise CheckpointError(f"{ref!r} is not a zoo checkpoint name (letters, digits, _ . -; "
                              "pass a pathlib.Path to load a folder elsewhere)")
    root = ZOO_DIR.resolve()
    path = (ZOO_DIR / ref).resolve()
    if path.parent != root:
        raise CheckpointError(f"zoo name {ref!r} resolves outside {root}: refused")
    return ref, path


def load(ref: str | os.PathLike) -> LatentModel:
    """Load a checkpoint into an eval-mode model; `model.info` is its CheckpointInfo."""
    name, path = resolve(ref)
    if not path.is_dir() and not atomic.recover(path):
        raise CheckpointError(f"checkpoint {name!r} not found at {path}")
    config = read_json(path / "config.json")
    training = read_json(path / "training.json") if (path / "training.json").exists() else {}
    model = _build(config, path)
    tensors = read_tensors(path / "model.safetensors")
    _check_tensors(tensors, model.state_dict(), path / "model.safetensors")
    model.load_state_dict(tensors, strict=True)
    model.eval().requires_grad_(False)
    model.info = CheckpointInfo(name, path, config, training, content_hash(path))
    return model


def read_json(path: Path) -> dict:
    """A JSON object from `path`, or CheckpointError naming the file and the problem."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return obj


def _build(config: dict, path: Path) -> LatentModel:
    where = path / "config.json"
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{where}: unsupported format_version {config.get('format_version')!r}")
    args = config.get("model_args")
    if not isinstance(args, dict):
        raise CheckpointError(f"{where}: model_args must be an object")
    try:
        return build_model(config.get("architecture"), **args)
    except LatentlabError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Parse a safetensors file after checking its header by hand (a pickle or truncated file
    fails here with a clear message; safetensors itself never executes anything)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated ({size} bytes), not a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise CheckpointError(f"{path}: not a safetensors file (bad header length; truncated "
                                  "or another format such as a pickle)")
        try:
            header = json.loads(fh.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CheckpointError(f"{path}: not a safetensors file (header is not JSON)") from None
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
                  default=0)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        raise CheckpointError(f"{path}: not a safetensors file (malformed header)") from None
    if 8 + n + end != size:
        raise CheckpointError(f"{path}: truncated or padded (expected {8 + n + end} bytes, found {size})")
    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors ({exc})") from None


def _check_tensors(found: dict, expected: dict, path: Path) -> None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path}: tensors do not match the architecture "
                              f"(missing: {missing[:5]}, unexpected: {extra[:5]})")
    for key, ref in expected.items():
        t = found[key]
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise CheckpointError(f"{path}: tensor {key!r} is {t.dtype}{list(t.shape)}, "
                                  f"expected {ref.dtype}{list(ref.shape)}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or Inf")


def content_hash(path: Path) -> str:
    """sha256 over weights and config: changes whenever the model would behave differently."""
    h = hashlib.sha256()
    for part in ("model.safetensors", "config.json"):
        with open(path / part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def zoo_names() -> list[str]:
    """Names of the checkpoints in checkpoints/ (folders with a config.json) that `load` accepts
    as zoo names: a symlink pointing out of the zoo or an invalid name is not listed."""
    if not ZOO_DIR.is_dir():
        return []
    atomic.clean_leftovers(ZOO_DIR)  # restores an interrupted swap's old copy, drops stale temps
    return sorted(p.name for p in ZOO_DIR.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "config.json").exists()
                  and _is_zoo_name(p.name))


def _is_zoo_name(name: str) -> bool:
    try:
        resolve(name)
    except CheckpointError:
        return False
    return True
