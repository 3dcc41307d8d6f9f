"""Typed training configuration that round-trips through JSON.

`TrainConfig.from_dict(json.load(f))` validates every key and value and raises ConfigError
naming the offending field; `to_dict()` gives back plain JSON values.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from latentlab.errors import ConfigError


@dataclass
class DataConfig:
    """Which dataset and how much of it. `options` go to the dataset builder (e.g. size=32)."""

    name: str
    options: dict = field(default_factory=dict)


@dataclass
class ModelConfig:
    """Family name plus constructor arguments (image_shape is taken from the data)."""

    family: str
    latent_dim: int
    args: dict = field(default_factory=dict)


@dataclass
class TrainConfig:
    name: str
    data: DataConfig
    model: ModelConfig
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    lr_schedule: str = "cosine"  # "cosine" or "constant"
    seed: int = 0
    threads: int | None = None  # None: all cores (torch default)
    eval_batch_size: int = 500

    def __post_init__(self):
        _require(bool(self.name) and "/" not in self.name and not self.name.startswith("."),
                 "name", f"must be a plain folder name, got {self.name!r}")
        _require(self.epochs >= 1, "epochs", f"must be >= 1, got {self.epochs}")
        _require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _require(self.weight_decay >= 0, "weight_decay", f"must be >= 0, got {self.weight_decay}")
        _require(self.lr_schedule in ("cosine", "constant"), "lr_schedule",
                 f"must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        _require(self.model.latent_dim >= 1, "model.latent_dim",
                 f"must be >= 1, got {self.model.latent_dim}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        if not isinstance(raw, dict):
            raise ConfigError("a training config must be a JSON object")
        raw = dict(raw)
        try:
            raw["data"] = _build(DataConfig, raw.get("data"), "data")
            raw["model"] = _build(ModelConfig, raw.get("model"), "model")
        except KeyError as exc:
            raise ConfigError(f"config is missing {exc}") from None
        return _build(cls, raw, "config")

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
        return cls.from_dict(raw)


def _build(kind, raw, where: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a JSON object")
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    _check_types(kind, raw, where)
    try:
        return kind(**raw)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


_TYPES = {"int": int, "float": (int, float), "str": str, "dict": dict}


def _check_types(kind, raw: dict, where: str) -> None:
    """Reject wrongly typed JSON values before the dataclass sees them ("3" is not an int)."""
    for f in dataclasses.fields(kind):
        if f.name not in raw or f.name in ("data", "model"):
            continue
        value, spec = raw[f.name], str(f.type)
        if value is None and spec.endswith("| None"):
            continue
        expected = _TYPES.get(spec.removesuffix(" | None"))
        if expected and (not isinstance(value, expected) or isinstance(value, bool)):
            raise ConfigError(f"{where}.{f.name} must be {spec}, got {value!r}")


def _require(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name} {message}")
