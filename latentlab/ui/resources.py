"""Cached loaders and inference shared by every page.

Everything cached here is shared by all sessions of the server: models are eval-mode and only
ever called under `torch.inference_mode()`; latents, maps, directions and datasets are read,
never mutated. A page gets its checkpoint from `current_model()`, which stops the page with a
message (never a traceback) when it cannot load.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
import torch

import latentlab
from latentlab import LatentlabError
from latentlab.checkpoint import ZOO_DIR, find
from latentlab.datasets import Dataset
from latentlab.latent.cache import LatentSet, encode_split, find_cached_latents, find_cached_map, latent_map
from latentlab.latent.project import LatentMap
from latentlab.latent.traverse import rank_dims, sweep_values
from latentlab.models import LatentModel
from latentlab.ui import runtime, tasks

if TYPE_CHECKING:
    from latentlab.latent.directions import EditDirections

MAP_METHODS = {"PCA": "pca", "UMAP": "umap", "t-SNE": "tsne"}


# -- checkpoints --------------------------------------------------------------------------------
def _stamp(name: str) -> tuple[int, ...]:
    """Modification times of a checkpoint's files: a retrained checkpoint is loaded afresh."""
    folder = find(name) or ZOO_DIR / name  # shipped first, then the user root
    return tuple((folder / f).stat().st_mtime_ns for f in ("config.json", "model.safetensors")
                 if (folder / f).exists())


@st.cache_resource(show_spinner="Loading checkpoint…", max_entries=16)
def _load(name: str, stamp: tuple[int, ...]) -> LatentModel:
    return latentlab.load(name)  # eval mode, requires_grad off


def load_model(name: str) -> LatentModel:
    return _load(name, _stamp(name))


def load_models(names: list[str]) -> list[LatentModel]:
    """Several checkpoints a page compares; stops the page with the first one's error if any cannot load."""
    try:
        return [load_model(n) for n in names]
    except LatentlabError as exc:
        st.error(str(exc))
        st.stop()


def current_model() -> LatentModel:
    """The checkpoint chosen in the sidebar; stops the page with a message if it cannot load."""
    runtime.run_through_app()
    name = st.session_state.get("model_name")
    if not name:
        st.info("No checkpoint in `checkpoints/` yet: train one with `python -m latentlab train`.")
        st.stop()
    try:
        return load_model(name)
    except LatentlabError as exc:
        st.error(f"Cannot load checkpoint **{name}**: {exc}")
        st.stop()


# -- latents, maps, directions, dimensions ------------------------------------------------------
@st.cache_resource(show_spinner="Encoding the split (once per checkpoint)…", max_entries=32)
def _latents(_model: LatentModel, digest: str, split: str) -> LatentSet:
    return encode_split(_model, split)


def latents(model: LatentModel, split: str = "test") -> LatentSet:
    """Codes, per-image reconstruction error and labels of a split, from the on-disk cache. A split
    not encoded yet is encoded in a background task (progress, Cancel); the page stops until then."""
    if find_cached_latents(model, split) is None and not tasks.wait_for(
            f"encode-{model.info.hash}-{split}", "latentlab.latent.precompute:encode",
            {"name": model.info.name, "split": split}, f"Encoding the {split} split of {model.info.name}"):
        st.stop()
    try:
        return _latents(model, model.info.hash, split)
    except LatentlabError as exc:
        st.error(f"Cannot encode the {split} split of {model.info.name}: {exc}")
        st.stop()


def map_is_cached(model: LatentModel, method: str, split: str = "test") -> bool:
    """True when `latent_map` would load rather than fit (PCA is always cheap enough to fit)."""
    return method == "pca" or find_cached_map(model, method, split) is not None


@st.cache_resource(show_spinner=False, max_entries=32)
def _map(_model: LatentModel, digest: str, method: str, split: str) -> tuple[LatentMap, np.ndarray]:
    return latent_map(_model, method, split)


def get_map(model: LatentModel, method: str = "pca", split: str = "test") -> tuple[LatentMap, np.ndarray]:
    """(fitted map, embedding [N, 2]): shipped, cached, or fitted once — UMAP/t-SNE in a background
    task (progress, Cancel; the page stops until it is done). A broken cached map stops the page
    with a message naming the file."""
    if not map_is_cached(model, method, split) and not tasks.wait_for(
            f"map-{model.info.hash}-{method}-{split}", "latentlab.latent.precompute:fit_map",
            {"name": model.info.name, "method": method, "split": split},
            f"Fitting {method.upper()} on the {split} codes of {model.info.name}"):
        st.stop()
    try:
        return _map(model, model.info.hash, method, split)
    except LatentlabError as exc:
        st.error(f"Cannot load the {method} map of {model.info.name}: {exc}")
        st.stop()


def _analysis(model: LatentModel, find, task: str, label: str, block: bool):
    """A per-checkpoint analysis: shipped or cached (`find(model)`), else computed once in a
    background task. block: stop the page until it is done; else return None meanwhile."""
    found = find(model)
    if found is not None:
        return found
    done = tasks.wait_for(f"{task}-{model.info.hash}", f"latentlab.latent.precompute:{task}",
                          {"name": model.info.name}, label)
    if not done and block:
        st.stop()
    return find(model) if done else None


def directions(model: LatentModel, block: bool = True) -> EditDirections | None:
    """The checkpoint's least-leaking attribute directions (latentlab.latent.directions): shipped
    with the zoo, else fitted once in a background task (progress and Cancel; block: the page
    waits; else None meanwhile, see `pending`). None when its data has no labels to fit on."""
    from latentlab.latent.directions import find_directions

    return _analysis(model, find_directions, "directions", f"Fitting attribute directions of {model.info.name}", block)


def pending(model: LatentModel, task: str) -> bool:
    """True while a background analysis ("directions", "dim_names") of the checkpoint runs."""
    return tasks.state(f"{task}-{model.info.hash}") == "running"


def dim_names(model: LatentModel) -> list | None:
    """What each latent dimension mostly changes (latentlab.latent.naming), or None while it is
    being measured in the background (the page shows "z14" meanwhile)."""
    from latentlab.latent.naming import find_dim_names

    return _analysis(model, find_dim_names, "dim_names", f"Naming the dimensions of {model.info.name}", False)


@st.cache_resource(show_spinner=False, max_entries=8)
def classifier(dataset_name: str):
    """The data classifier of an embedded dataset (latentlab.metrics.classifier), or None."""
    from latentlab.metrics.classifier import load_classifier

    try:
        return load_classifier(dataset_name)
    except LatentlabError:
        return None


def tag_direction(model: LatentModel, tagged: dict[str, list[int]]) -> tuple[np.ndarray, float] | None:
    """Unit direction from the mean code of hand-tagged group B to group A's, and the codes' std
    along it; None until both groups are tagged (and disjoint)."""
    from latentlab.latent.attributes import directions_from_groups  # lazy: pulls in scikit-learn

    if not tagged["A"] or not tagged["B"]:
        return None
    z = latents(model).z
    try:
        d = directions_from_groups(z, tagged["A"], tagged["B"])
    except LatentlabError:
        return None
    return d.vector, float((z @ d.vector).std())


@st.cache_resource(show_spinner="Ranking latent dimensions…", max_entries=16)
def _ranked(_model: LatentModel, _x: torch.Tensor, _z: np.ndarray, digest: str):
    return rank_dims(_model, _x, _z)


def dimension_order(model: LatentModel, data: Dataset) -> tuple[np.ndarray, np.ndarray, str]:
    """(dims by importance, score per dim, score name): KL where the encoder has a posterior."""
    return _ranked(model, data.x_test[:500], latents(model).z, model.info.hash)


def slider_ranges(model: LatentModel) -> np.ndarray:
    """Per-dimension slider range `[d, 2]`: N(0,1) 1%/99% quantiles for a normal prior, else the
    1%/99% percentiles of the test codes."""
    mode = "prior" if model.prior == "normal" else "data"
    z = latents(model).z
    return sweep_values(np.arange(z.shape[1]), 2, mode, z, quantiles=(0.01, 0.99))


# -- datasets: generated off the script thread (faces take seconds) ------------------------------
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="latentlab-data")
_FUTURES: dict[str, Future] = {}
_FUTURES_LOCK = Lock()


def _dataset_future(model: LatentModel) -> Future:
    key = repr(model.info.dataset)
    with _FUTURES_LOCK:
        if key not in _FUTURES:
            _FUTURES[key] = _POOL.submit(_build_dataset, model)
        return _FUTURES[key]


def _build_dataset(model: LatentModel) -> Dataset:
    from latentlab.zoo import dataset_of  # imported here: it pulls in torchvision

    return dataset_of(model)


def warm_dataset(name: str) -> None:
    """Start building a checkpoint's dataset in the background so later pages find it ready."""
    try:
        _dataset_future(load_model(name))
    except LatentlabError:
        pass  # the model card has already said why this checkpoint cannot load


def dataset_ready(model: LatentModel) -> bool:
    """True if the dataset is built; never starts a build (that waits until the page has drawn)."""
    with _FUTURES_LOCK:
        future = _FUTURES.get(repr(model.info.dataset))
    return future is not None and future.done() and future.exception() is None


def dataset(model: LatentModel) -> Dataset:
    """The dataset a checkpoint was trained on (blocks, with a spinner, until it is built)."""
    future = _dataset_future(model)
    try:
        if not future.done():
            with st.spinner(f"Building the {model.info.dataset['name']} dataset (once per server)…"):
                return future.result()
        return future.result()
    except LatentlabError as exc:
        st.error(f"Cannot load the data {model.info.name} was trained on: {exc}")
        st.stop()


def categories(model: LatentModel) -> dict[str, list[str]]:
    """Category names of categorical labels, if the dataset is already built (never waits)."""
    return dataset(model).categories if dataset_ready(model) else {}


# -- inference ------------------------------------------------------------------------------------
def encode(model: LatentModel, x: torch.Tensor) -> np.ndarray:
    """Images `[N, C, H, W]` -> codes `[N, d]` (numpy, so no inference tensor leaks out)."""
    with torch.inference_mode():
        return model.encode(x).numpy().copy()


def decode(model: LatentModel, z) -> torch.Tensor:
    """Codes `[N, d]` -> images `[N, C, H, W]` in [0, 1]."""
    with torch.inference_mode():
        return model.decode(torch.as_tensor(np.asarray(z, dtype=np.float32))).clone()


def reconstruct(model: LatentModel, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model.reconstruct(x).clone()
