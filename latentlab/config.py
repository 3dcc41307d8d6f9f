"""Typed training configuration that round-trips through JSON.

`TrainConfig.from_dict(json.load(f))` validates every key and value and raises ConfigError
naming the offending field; `to_dict()` gives back plain JSON values. Every size and count is
bounded (latentlab.limits), data sources follow latentlab.sources, and `from_json` refuses files
that are not small, UTF-8, shallowly nested JSON objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from latentlab import limits
from latentlab.errors import ConfigError, DatasetError
from latentlab.limits import check_int, check_number
from latentlab.sources import check_source


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
        limits.check_name(self.name)
        check_int(self.epochs, "epochs", limits.EPOCHS)
        check_int(self.batch_size, "batch_size", limits.BATCH_SIZE)
        check_int(self.eval_batch_size, "eval_batch_size", limits.BATCH_SIZE)
        check_number(self.lr, "lr", 0, low_open=True)
        check_number(self.weight_decay, "weight_decay", 0)
        if self.grad_clip is not None:  # a negative clip norm once ran gradient ascent
            check_number(self.grad_clip, "grad_clip", 0, low_open=True)
        _require(self.lr_schedule in ("cosine", "constant"), "lr_schedule",
                 f"must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        check_int(self.seed, "seed", limits.SEED)
        if self.threads is not None:
            check_int(self.threads, "threads", limits.THREADS)
        _check_model(self.model)
        _check_data(self.data)

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
            if path.is_dir():
                raise ConfigError(f"config {path} is a directory, not a JSON file")
            if path.stat().st_size > limits.CONFIG_BYTES:
                raise ConfigError(f"config {path} is over {limits.CONFIG_BYTES:,} bytes")
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            raise ConfigError(f"cannot read config {path}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            return cls.from_dict(limits.parse_json(raw))
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{path} is not a usable config: {exc}") from None


DATA_OPTIONS = {  # known dataset options and their bounds; others go to the builder unchecked
    "size": limits.IMAGE_SIDE, "n_train": limits.IMAGES, "n_test": limits.IMAGES,
    "seed": limits.SEED, "limit": limits.IMAGES, "max_images": (2, limits.IMAGES[1]),
}
_DEFAULTS = {"shapes": (1, 64, 20000, 4000), "faces": (3, 64, 12000, 2000), "mnist": (1, 28, 4000, 1000),
             "folder": (3, 64, 20000, 0), "torchvision": (3, 64, 20000, 20000)}  # C, side, train, test


def _check_data(data: DataConfig) -> None:
    if not isinstance(data.name, str) or not 1 <= len(data.name) <= limits.NAME_LENGTH or "\x00" in data.name:
        raise ConfigError(f"data.name must be a dataset name, got {limits.show(data.name)}")
    for key, value in data.options.items():
        where = f"data.options.{key}"
        if key in DATA_OPTIONS:
            check_int(value, where, DATA_OPTIONS[key])
        elif key == "test_fraction":
            check_number(value, where, 0, 0.9, low_open=True)
        elif key == "channels" and (not limits.is_int(value) or value not in limits.CHANNELS):
            raise ConfigError(f"{where} must be 1 or 3, got {limits.show(value)}")
        elif key in ("path", "root"):  # folders: checked by latentlab.sources below
            if not isinstance(value, str) or len(value) > 4096:
                raise ConfigError(f"{where} must be a folder path, got {limits.show(value)}")
        elif isinstance(value, dict):  # e.g. keep={"digit": [1]}: short names -> flat lists
            if len(value) > limits.MODEL_LIST or not all(isinstance(k, str) and len(k) <= limits.NAME_LENGTH
                                                         for k in value):
                raise ConfigError(f"{where} must map at most {limits.MODEL_LIST} short names to values")
            limits.check_model_args(value, where)
        else:
            limits.check_model_args({key: value}, "data.options")
    try:
        check_source(data.name, data.options, strict=False)
    except DatasetError as exc:
        raise ConfigError(f"data: {exc}") from None
    _check_data_size(data)


def _check_data_size(data: DataConfig) -> None:
    """Refuse datasets that would not fit in memory, before generating or reading them."""
    if data.name not in _DEFAULTS:
        return
    o = data.options
    c, side, n_train, n_test = _DEFAULTS[data.name]
    c, side = o.get("channels", c), o.get("size", side)
    images = o.get("n_train", n_train) + o.get("n_test", n_test)
    images = min(images, o.get("max_images", images), 2 * o.get("limit", images))
    values = images * c * side * side
    if values > limits.MAX_DATA_VALUES:
        raise ConfigError(f"data: {images:,} images of {c}x{side}x{side} are {values * 4 / 1e9:.1f} GB "
                          f"as float32, over the limit of {limits.MAX_DATA_VALUES * 4 / 1e9:.1f} GB")


def _check_model(model: ModelConfig) -> None:
    if not isinstance(model.family, str) or len(model.family) > limits.NAME_LENGTH:
        raise ConfigError(f"model.family must be a family name, got {limits.show(model.family)}")
    check_int(model.latent_dim, "model.latent_dim", limits.LATENT_DIM)
    taken = {"image_shape", "latent_dim"} & set(model.args)
    if taken:
        raise ConfigError(f"model.args may not set {', '.join(sorted(taken))} (latent_dim is "
                          "model.latent_dim; the image shape comes from the data)")
    limits.check_model_args(model.args)


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
            raise ConfigError(f"{where}.{f.name} must be {spec}, got {limits.show(value)}")


def _require(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name} {message}")
