"""Checkpoints: a folder of `model.safetensors` + `config.json` + `training.json`.

This is the only loader. Nothing is ever unpickled: tensors come from safetensors, everything
else from JSON, and the model class is looked up by family name in a fixed registry. Every
folder is checked by latentlab.validate (sizes, depths, types, ranges, tensor header) before
anything is allocated for it. Writes are atomic (latentlab.atomic.atomic_dir): the folder is
assembled under a temporary name and exchanged with the old one in one rename, so a kill at any
moment leaves the previous checkpoint or the new one under its name, never half of one and never
none.

Two roots hold named checkpoints: the shipped zoo (`checkpoints/` in the repository, written
only deliberately, with `--out checkpoints`) and the user's own (USER_ROOT: `$LATENTLAB_HOME/
checkpoints`, default `~/.local/share/latentlab/checkpoints`), where training from the app or
the CLI goes by default. Names are unique across both; a shipped name wins.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import latentlab
from latentlab import atomic, limits
from latentlab.errors import CheckpointError
from latentlab.keys import FAMILY_KEY
from latentlab.models import LatentModel, build_model
from latentlab.validate import family_of, inspect, read_header, read_json  # noqa: F401 - re-exported

FORMAT_VERSION = 2  # 2: the family is stored as "family" (1 named it "architecture"; still read)
ZOO_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def user_root() -> Path:
    """Where checkpoints trained by the user go: $LATENTLAB_HOME/checkpoints, else
    $XDG_DATA_HOME/latentlab/checkpoints, else ~/.local/share/latentlab/checkpoints."""
    home = os.environ.get("LATENTLAB_HOME")
    if not home:
        data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        home = Path(data) / "latentlab"
    return Path(home) / "checkpoints"


def roots() -> list[tuple[str, Path]]:
    """The named-checkpoint folders, in lookup order: ("shipped", ZOO_DIR), ("user", user_root())."""
    return [("shipped", ZOO_DIR), ("user", user_root())]


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
        FAMILY_KEY: model.family,
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
    """CheckpointError if a checkpoint `directory` exists and may not be replaced, or if it is
    in one root and its name is already taken in another (names are unique across roots)."""
    directory = Path(directory)
    limits.check_name(directory.name, "checkpoint name")
    if not overwrite and (directory.exists() or atomic.recover(directory)):
        raise CheckpointError(f"a checkpoint {directory.name!r} already exists in {directory.parent}: "
                              "pass --overwrite (overwrite=True) to replace it; it was kept")
    parent = directory.parent.resolve()
    for kind, root in roots():
        if root.resolve() != parent and parent in {r.resolve() for _, r in roots()} \
                and (root / directory.name).exists():
            raise CheckpointError(f"the name {directory.name!r} is taken by a {kind} checkpoint in "
                                  f"{root}; choose another name")


def _write_json(path: Path, obj) -> None:
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, allow_nan=False)


def resolve(ref: str | os.PathLike) -> tuple[str, Path]:
    """A `str` is a checkpoint name, looked up in the shipped zoo, then the user root; an
    `os.PathLike` is a folder anywhere. Names may not leave their root: `..`, absolute paths,
    NUL and symlinks pointing out are refused. An unknown name resolves to the shipped path."""
    if isinstance(ref, os.PathLike):
        path = Path(ref)
        return path.name, path
    if not isinstance(ref, str):
        raise CheckpointError(f"a checkpoint is named by a str or a path, got {type(ref).__name__}")
    if not (1 <= len(ref) <= limits.NAME_LENGTH and limits.NAME.match(ref)):
        raise CheckpointError(f"{limits.show(ref)} is not a zoo checkpoint name (letters, digits, _ . -; "
                              "pass a pathlib.Path to load a folder elsewhere)")
    found = [(root, root / ref) for _, root in roots() if (root / ref).exists() or atomic.recover(root / ref)]
    root, path = found[0] if found else (ZOO_DIR, ZOO_DIR / ref)
    if path.resolve().parent != root.resolve():
        raise CheckpointError(f"zoo name {ref!r} resolves outside {root.resolve()}: refused")
    return ref, path.resolve()


def find(name: str) -> Path | None:
    """The folder of checkpoint `name` (shipped first, then the user's), or None."""
    try:
        _, path = resolve(name)
    except CheckpointError:
        return None
    return path if path.is_dir() else None


def load(ref: str | os.PathLike) -> LatentModel:
    """Load a checkpoint into an eval-mode model; `model.info` is its CheckpointInfo."""
    name, path = resolve(ref)
    if not path.is_dir() and not atomic.recover(path):
        roots_text = " or ".join(str(r) for _, r in roots()) if isinstance(ref, str) else str(path.parent)
        raise CheckpointError(f"checkpoint {name!r} not found in {roots_text}")
    checked = inspect(path, sources=False)  # JSON, ranges, header vs. shapes: nothing allocated yet
    model = _build(checked, path)
    tensors = read_tensors(path / "model.safetensors")
    _check_tensors(tensors, model.state_dict(), path / "model.safetensors")
    model.load_state_dict(tensors, strict=True)
    model.eval().requires_grad_(False)
    model.info = CheckpointInfo(name, path, checked.config, checked.training, content_hash(path))
    return model


def _build(checked, path: Path) -> LatentModel:
    try:
        return build_model(checked.family, **checked.config["model_args"])
    except latentlab.LatentlabError as exc:
        raise CheckpointError(f"{path / 'config.json'}: {exc}") from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Parse a safetensors file after checking its header by hand (latentlab.validate)."""
    read_header(path)
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


def stamp(path: Path) -> tuple:
    """(inode, size, mtime) of a checkpoint's files: changes when it is rewritten (a cache key)."""
    out = []
    for part in ("config.json", "training.json", "model.safetensors"):
        try:
            st = (Path(path) / part).stat()
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def zoo_entries() -> list[tuple[str, str, Path]]:
    """(name, root kind, folder) of every folder with a config.json in the shipped zoo and the
    user root, shipped first, each sorted by name. Includes what `load` refuses (invalid names,
    symlinks out of their root, user folders whose name the zoo has), so zoo_table can say why."""
    out = []
    for kind, root in roots():
        if not root.is_dir():
            continue
        atomic.clean_leftovers(root)  # restores an interrupted swap's old copy, drops stale temps
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        for name in names:
            try:
                if not name.startswith(".") and (root / name / "config.json").exists():
                    out.append((name, kind, root / name))
            except (OSError, ValueError):
                continue
    return out


def entry_problem(name: str, path: Path, root_kind: str) -> str | None:
    """Why `load(name)` would not reach the folder `path`, or None."""
    if len(name) > limits.NAME_LENGTH or not limits.NAME.match(name):
        return f"not a valid checkpoint name (1-{limits.NAME_LENGTH} letters, digits, _ . -)"
    root = dict(roots())[root_kind].resolve()
    try:
        if path.resolve().parent != root:
            return f"a link that resolves outside {root}: refused"
    except (OSError, RuntimeError):
        return "a link that cannot be resolved"
    return None


def zoo_names() -> list[str]:
    """Names `load` accepts: the shipped zoo's, then the user's not already taken."""
    seen: list[str] = []
    for name, kind, path in zoo_entries():
        if name not in seen and entry_problem(name, path, kind) is None:
            seen.append(name)
    return seen
