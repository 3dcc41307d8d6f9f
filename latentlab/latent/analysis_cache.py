"""Small fitted analyses of one checkpoint (attribute directions, dimension names) on disk.

Each analysis is a pair `<key>.json` (everything readable) + `<key>.npz` (arrays, read with
allow_pickle=False), where the key starts with the checkpoint's content hash, so a retrained
checkpoint never reads another's results. Lookups try the checkpoint's own `cache/` folder first
(the zoo ships its analyses there), then the user cache ($LATENTLAB_CACHE). Writes go to the user
cache (or `write_to`): the npz first, the JSON last, each atomically, and the JSON records the
npz's digest, so a reader never pairs a new JSON with an old or half-written npz.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from latentlab.atomic import atomic_file
from latentlab.errors import CheckpointError
from latentlab.latent.cache import user_cache_root


def search_dirs(model) -> list[Path]:
    """Where a checkpoint's analyses are looked up: shipped first, then the user cache."""
    return [Path(model.info.path) / "cache", user_cache_root() / model.info.name]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def jsonable(obj):
    """NaN/Inf -> None, numpy scalars -> Python, recursively (JSON is written with allow_nan=False)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def find(model, key: str) -> Path | None:
    """The folder holding `<key>.json` for this checkpoint, shipped first; None if not computed."""
    return next((d for d in search_dirs(model) if (d / f"{key}.json").is_file()), None)


def read(folder: Path, key: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(record, arrays) of an analysis; CheckpointError naming the file if it is broken."""
    meta, arrays = folder / f"{key}.json", folder / f"{key}.npz"
    try:
        record = json.loads(meta.read_text())
        if record.get("npz_digest") != _digest(arrays):
            raise CheckpointError(f"{arrays}: does not match {meta.name} (digest differs)")
        with np.load(arrays, allow_pickle=False) as npz:
            return record, {k: npz[k] for k in npz.files}
    except (OSError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{meta}: unreadable analysis ({exc})") from None


def write(folder: Path, key: str, record: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write the pair into `folder` (created): npz, then JSON with the npz's digest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file(folder / f"{key}.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    record = {**jsonable(record), "npz_digest": _digest(folder / f"{key}.npz")}
    with atomic_file(folder / f"{key}.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
    return folder
