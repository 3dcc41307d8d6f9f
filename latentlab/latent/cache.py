"""Latents of a dataset split, encoded once per checkpoint and kept on disk.

Every file is keyed by the checkpoint's content hash (`model.info.hash`, sha256 over weights and
config), so a retrained or edited checkpoint never reads another's latents or maps. Lookups try
the checkpoint's own `cache/` folder first (where the zoo ships its precomputed latents and
maps, so the first map in a fresh process needs neither the dataset nor a fit), then the user
cache (`$LATENTLAB_CACHE`, default `~/.cache/latentlab`), where new results are written
atomically. Arrays are .npz read with allow_pickle=False.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.atomic import atomic_file
from latentlab.errors import ConfigError
from latentlab.latent.project import LatentMap, cached_map, params_key
from latentlab.progress import tick

SPLITS = ("train", "test")


@dataclass
class LatentSet:
    """Codes of one split: `z` float32 `[N, d]`, per-image reconstruction MSE `[N]`, labels."""

    z: np.ndarray
    recon_error: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    split: str = "test"
    hash: str = ""


def user_cache_root() -> Path:
    return Path(os.environ.get("LATENTLAB_CACHE", Path.home() / ".cache" / "latentlab"))


def _dirs(model) -> list[Path]:
    """Where to look, shipped first."""
    return [Path(model.info.path) / "cache", user_cache_root() / model.info.name]


def _latents_file(model, split: str) -> str:
    return f"{model.info.hash}-latents-{split}.npz"


def find_cached_latents(model, split: str = "test") -> Path | None:
    """The file holding a split's latents (shipped first), or None if they would be encoded."""
    name = _latents_file(model, split)
    return next((d / name for d in _dirs(model) if (d / name).exists()), None)


def encode_split(model, split: str = "test", batch_size: int = 500, write_to: Path | None = None,
                 progress=None, should_stop=None) -> LatentSet:
    """Latents of a checkpoint's own dataset split, from cache or encoded (then cached).

    `progress(fraction, message)` / `should_stop()` (latentlab.progress) are passed to the encoding
    loop; a stop raises Cancelled before anything is written."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}: expected one of {SPLITS}")
    found = find_cached_latents(model, split)
    if found is not None:
        return _read(found, split, model.info.hash)
    name = _latents_file(model, split)
    from latentlab.sources import dataset_of  # not latentlab.zoo: that imports latentlab.latent

    tick(progress, should_stop, 0.0, "loading the dataset")
    x, labels = dataset_of(model).split(split)
    z, err = encode_images(model, x, batch_size, progress, should_stop)
    out = LatentSet(z, err, dict(labels), split, model.info.hash)
    _write(Path(write_to or _dirs(model)[1]) / name, out)
    return out


@torch.inference_mode()
def encode_images(model, x: torch.Tensor, batch_size: int = 500, progress=None,
                  should_stop=None) -> tuple[np.ndarray, np.ndarray]:
    """Codes `[N, d]` and per-image reconstruction MSE `[N]` of images `[N, C, H, W]`.
    Calls `progress(fraction, message)` and checks `should_stop()` before each batch."""
    zs, errs = [], []
    for start in range(0, len(x), batch_size):
        tick(progress, should_stop, start / max(1, len(x)), f"encoding {start}/{len(x)} images")
        chunk = x[start:start + batch_size]
        z = model.encode(chunk)
        zs.append(z)
        errs.append((model.decode(z) - chunk).pow(2).flatten(1).mean(1))
    tick(progress, should_stop, 1.0, f"encoded {len(x)} images")
    return torch.cat(zs).numpy().astype(np.float32), torch.cat(errs).numpy().astype(np.float32)


def _read(path: Path, split: str, digest: str) -> LatentSet:
    with np.load(path, allow_pickle=False) as npz:
        labels = {k[7:]: npz[k] for k in npz.files if k.startswith("labels.")}
        return LatentSet(npz["z"], npz["recon_error"], labels, split, digest)


def _write(path: Path, latents: LatentSet) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"z": latents.z, "recon_error": latents.recon_error}
    arrays.update({f"labels.{k}": np.asarray(v) for k, v in latents.labels.items()})
    with atomic_file(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


DEFAULT_PARAMS = {"pca": {}, "umap": {"n_neighbors": 15, "min_dist": 0.1}, "tsne": {"perplexity": 30}}


def _map_key(model, method: str, split: str, params: dict) -> tuple[str, dict]:
    params = params or dict(DEFAULT_PARAMS.get(method, {}))
    return f"{model.info.hash}-{split}-{params_key(method, **params)}", params


def find_cached_map(model, method: str = "pca", split: str = "test", **params) -> Path | None:
    """The folder of an already computed map (shipped first), or None if it would be fitted."""
    key, _ = _map_key(model, method, split, params)
    return next((d / key for d in _dirs(model) if (d / key / "map.json").exists()), None)


def latent_map(model, method: str = "pca", split: str = "test", write_to: Path | None = None,
               **params) -> tuple[LatentMap, np.ndarray]:
    """A 2-D map of a split's latents (shipped, cached, or fitted and cached) and its embedding.

    With no params the method's DEFAULT_PARAMS are used, which are the ones the zoo ships.
    """
    found = find_cached_map(model, method, split, **params)
    if found is not None:
        fitted = LatentMap.load(found)
        return fitted, fitted.embedding_
    key, params = _map_key(model, method, split, params)
    z = encode_split(model, split, write_to=write_to).z
    fitted = cached_map(write_to or _dirs(model)[1], key, z, method, **params)
    return fitted, fitted.embedding_
