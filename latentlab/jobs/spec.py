"""What a person asks to train, checked before anything runs.

`Request` is what the Train page (or a script) fills in; `validate(request)` turns it into a
`TrainConfig` or raises one clear error (JobError / ConfigError, both LatentlabError). Families
and their arguments are read from the model registry (constructor signatures, `Literal` choices),
never from a list kept here; defaults come from the zoo's own configs/*.json.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

from latentlab import checkpoint
from latentlab.config import TrainConfig
from latentlab.datasets import EMBEDDED
from latentlab.errors import ConfigError, LatentlabError
from latentlab.jobs.store import ACTIVE, JobError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_EPOCHS, MAX_MINUTES, MAX_LATENT = 1000, 24 * 60, 512
_FILLED_BY_DATA = ("image_shape", "latent_dim", "dataset_size")  # set from the data, not asked


@dataclass(frozen=True)
class Arg:
    """One constructor argument of a family: its default, type and (if declared) its choices."""

    name: str
    default: object
    kind: type
    choices: tuple | None = None


@dataclass
class Request:
    """A training job as the page asks for it.

    data: a built-in dataset name (see `datasets()`), "upload" (images added with
    `latentlab.jobs.uploads`), or "folder:<key>" for a folder the operator listed.
    Exactly one of `epochs` and `minutes` is the budget.
    """

    name: str
    data: str
    family: str
    latent_dim: int
    args: dict = field(default_factory=dict)
    epochs: int | None = None
    minutes: float | None = None
    overrides: dict = field(default_factory=dict)  # batch_size, lr, seed, threads, ...


def families() -> dict[str, list[Arg]]:
    """Every registered family -> its arguments (subclass defaults win over parents')."""
    from latentlab.models import FAMILIES

    return {name: family_arguments(cls) for name, cls in FAMILIES.items()}


def family_arguments(cls) -> list[Arg]:
    seen: dict[str, Arg] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith("torch"):
            continue
        try:
            hints = typing.get_type_hints(init)
        except Exception:  # noqa: BLE001 - an unresolvable annotation just loses its choices
            hints = {}
        for p in inspect.signature(init).parameters.values():
            if (p.name in seen or p.name == "self" or p.name in _FILLED_BY_DATA
                    or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty):
                continue
            hint = hints.get(p.name)
            choices = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None
            kind = type(p.default) if p.default is not None else float
            seen[p.name] = Arg(p.name, p.default, kind, choices)
    return list(seen.values())


def datasets() -> list[str]:
    """The built-in datasets a job may train on (operator folders: `latentlab.jobs.uploads`)."""
    return list(EMBEDDED)


def defaults(data: str, family: str) -> dict:
    """Settings from the zoo's config closest to (data, family): same data and family, else same
    data, else same family, else the TrainConfig defaults. User images use the faces settings."""
    base = "faces" if data not in EMBEDDED else data
    configs = []
    for path in sorted(CONFIGS.glob("*.json")) if CONFIGS.is_dir() else []:
        try:
            configs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    rank = [c for c in configs if c.get("name") == f"{base}_{family}"]
    rank += [c for c in configs if c["data"]["name"] == base and c["model"]["family"] == family]
    rank += [c for c in configs if c["data"]["name"] == base] + [c for c in configs if c["model"]["family"] == family]
    chosen = next(iter(rank), None)
    out = {"epochs": 10, "batch_size": 128, "lr": 1e-3, "latent_dim": 16, "args": {}, "data_options": {}}
    if chosen:
        out.update({k: chosen[k] for k in ("epochs", "batch_size", "lr") if k in chosen})
        out["latent_dim"] = chosen["model"]["latent_dim"]
        out["data_options"] = chosen["data"].get("options", {}) if data in EMBEDDED else {}
        if chosen["model"]["family"] == family:
            out["args"] = dict(chosen["model"].get("args", {}))
    return out


def check_name(name: str, root: Path) -> None:
    """A new checkpoint name: a plain folder name, free in the zoo, the user root and the queue."""
    from latentlab.jobs import store

    if not isinstance(name, str) or not NAME.match(name):
        raise JobError(f"name {name!r}: use 1-64 letters, digits, _ . - (starting with a letter or digit)")
    if name in checkpoint.zoo_names() or (root / name).exists():
        raise JobError(f"name {name!r} is taken by an existing checkpoint; pick another")
    for job_id in store.all_ids():
        folder = store.jobs_root() / job_id
        if store.status(store.jobs_root() / job_id).get("state") in ACTIVE and \
                (store.read_json(folder / "config.json", {}) or {}).get("train", {}).get("name") == name:
            raise JobError(f"name {name!r} is taken by job {job_id}, which is queued or running")


def budget(request: Request) -> tuple[int, float | None]:
    """(epochs to plan, minutes or None). A minutes budget is turned into epochs when the job
    starts, from a short timing run; until then it plans MAX_EPOCHS."""
    e, m = request.epochs, request.minutes
    if (e is None) == (m is None):
        raise JobError("give the budget as epochs or as minutes (exactly one)")
    if e is not None:
        if isinstance(e, bool) or not isinstance(e, int) or not 1 <= e <= MAX_EPOCHS:
            raise JobError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {e!r}")
        return e, None
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or not 0.5 <= m <= MAX_MINUTES:
        raise JobError(f"minutes must be between 0.5 and {MAX_MINUTES}, got {m!r}")
    return MAX_EPOCHS, float(m)


def check_request(request: Request) -> None:
    """The cheap checks (family, its argument names, latent size, budget), before any data loads."""
    from latentlab.models import FAMILIES

    if request.family not in FAMILIES:
        raise JobError(f"unknown family {request.family!r}; known: {', '.join(FAMILIES)}")
    d = request.latent_dim
    if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_LATENT:
        raise JobError(f"latent size must be a whole number from 1 to {MAX_LATENT}, got {d!r}")
    known = {a.name for a in family_arguments(FAMILIES[request.family])}
    unknown = set(request.args) - known
    if unknown:
        raise JobError(f"family {request.family!r} has no argument(s) {', '.join(sorted(unknown))}; "
                       f"it takes: {', '.join(sorted(known)) or 'none'}")
    budget(request)


def train_config(request: Request, data_name: str, data_options: dict, n_train: int) -> TrainConfig:
    """The TrainConfig of a request (ConfigError naming the bad field, or JobError)."""
    from latentlab.models import FAMILIES

    check_request(request)
    args = dict(request.args)
    if "dataset_size" in inspect.signature(FAMILIES[request.family].__init__).parameters:
        args["dataset_size"] = n_train  # e.g. β-TCVAE's minibatch-weighted estimator needs N
    epochs, _ = budget(request)
    base = defaults(request.data, request.family)
    raw = {"name": request.name, "data": {"name": data_name, "options": data_options},
           "model": {"family": request.family, "latent_dim": request.latent_dim, "args": args},
           "epochs": epochs, "batch_size": base["batch_size"], "lr": base["lr"], "seed": 0, "threads": 1,
           **request.overrides}
    cfg = TrainConfig.from_dict(raw)
    if cfg.batch_size > n_train:
        cfg.batch_size = n_train  # a batch larger than the data would make one short step per epoch
    return cfg


def check_model(cfg: TrainConfig, image_shape: tuple[int, int, int]) -> None:
    """Build the model once, so bad family arguments are refused before the job is queued."""
    from latentlab.models import build_model

    try:
        build_model(cfg.model.family, image_shape=list(image_shape), latent_dim=cfg.model.latent_dim,
                    **cfg.model.args)
    except LatentlabError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad arguments for family {cfg.model.family!r}: {exc}") from None
