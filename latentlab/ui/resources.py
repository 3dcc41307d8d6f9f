"""Shared by every page: cached loaders, the sidebar model picker, and session-state helpers.

Not a page (app.py lists pages explicitly with st.navigation, so pages/ is not auto-discovered).
Everything cached here is shared by all sessions of the server: models are eval-mode and only
ever called under `torch.inference_mode()`; latents, maps and datasets are read, never mutated.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
import torch
from threadpoolctl import threadpool_limits

import latentlab
from latentlab import LatentlabError
from latentlab.checkpoint import ZOO_DIR
from latentlab.datasets import Dataset
from latentlab.images import load_image
from latentlab.latent.cache import LatentSet, encode_split, find_cached_map, latent_map
from latentlab.latent.labels import (  # noqa: F401
    attribute_targets,
    contrasting_index,
    is_categorical,
    label_names,
    label_text,
)
from latentlab.latent.project import LatentMap
from latentlab.latent.traverse import rank_dims, sweep_values
from latentlab.models import LatentModel

if TYPE_CHECKING:
    from latentlab.latent.attributes import AttributeDirections

# Small problems on a shared 2-core CPU: extra BLAS/OpenMP threads only contend. Fitting the 22
# face-attribute directions took 12 s with 2 BLAS threads and 0.5 s with one.
threadpool_limits(1)
torch.set_num_threads(1)

MAP_METHODS = {"PCA": "pca", "UMAP": "umap", "t-SNE": "tsne"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


# -- models, latents, maps --------------------------------------------------------------------
def _stamp(name: str) -> tuple[int, ...]:
    """Modification times of a checkpoint's files: a retrained checkpoint is loaded afresh."""
    folder = ZOO_DIR / name
    return tuple((folder / f).stat().st_mtime_ns for f in ("config.json", "model.safetensors")
                 if (folder / f).exists())


@st.cache_resource(show_spinner="Loading checkpoint…", max_entries=16)
def _load(name: str, stamp: tuple[int, ...]) -> LatentModel:
    return latentlab.load(name)  # eval mode, requires_grad off


def load_model(name: str) -> LatentModel:
    return _load(name, _stamp(name))


def _through_entry_point() -> None:
    """Re-run through app.py when a page was started without it.

    Streamlit decides once per process, before any script runs, that an app with a pages/ folder
    is a v1 multipage app. Until some session has called st.navigation, a request for /explore
    in a fresh process runs pages/explore.py alone: no sidebar, no model picker, and helper
    modules listed as pages. Clearing the flag (exactly what st.navigation itself does) and
    rerunning executes app.py, whose st.navigation then resolves the requested page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_model() -> LatentModel:
    """The checkpoint chosen in the sidebar; stops the page with a message if it cannot load."""
    name = st.session_state.get("model_name")
    if not name:
        _through_entry_point()
        st.info("No checkpoint in `checkpoints/` yet: train one with `python -m latentlab train`.")
        st.stop()
    try:
        return load_model(name)
    except LatentlabError as exc:
        st.error(f"Cannot load checkpoint **{name}**: {exc}")
        st.stop()


@st.cache_resource(show_spinner="Encoding the split (once per checkpoint)…", max_entries=32)
def _latents(_model: LatentModel, digest: str, split: str) -> LatentSet:
    return encode_split(_model, split)


def latents(model: LatentModel, split: str = "test") -> LatentSet:
    """Codes, per-image reconstruction error and labels of a split, from the on-disk cache."""
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
    """(fitted map, embedding [N, 2]): shipped, cached, or fitted once (slow for UMAP/t-SNE).
    A broken cached map stops the page with a message naming the file."""
    try:
        return _map(model, model.info.hash, method, split)
    except LatentlabError as exc:
        st.error(f"Cannot load the {method} map of {model.info.name}: {exc}")
        st.stop()


# How an attribute's direction is fitted. Mean difference first: on every faces model it moved the
# decoded attribute most per step (scripts/attribute_report.py: smile 0.21-1.64 label stds per
# step); the classifier normal separates the classes better (probe accuracy 0.94-1.00) but on the
# VAEs it points along code directions the decoder hardly draws (smile 0.10 and 0.00 per step).
DIRECTION_METHODS = {"mean difference": "mean_difference", "classifier normal": "logistic"}


@st.cache_resource(show_spinner="Fitting attribute directions…", max_entries=32)
def _directions(_z: np.ndarray, _targets: dict, digest: str, method: str) -> AttributeDirections:
    from latentlab.latent.attributes import AttributeDirections  # lazy: pulls in scikit-learn

    return AttributeDirections(method=method, compare=()).fit(_z, _targets)


def directions(model: LatentModel, data: Dataset, method: str = "mean_difference") -> AttributeDirections | None:
    """Attribute directions fitted on the cached test latents (`method`: a DIRECTION_METHODS value)."""
    lat = latents(model)
    targets = attribute_targets(lat.labels, data.categories)
    if not targets:
        return None
    return _directions(lat.z, targets, f"{model.info.hash}-{','.join(targets)}", method)


def direction_method(container, key: str) -> str:
    """A radio choosing how attribute directions are fitted; returns the method's name."""
    label = container.radio(
        "Direction", list(DIRECTION_METHODS), horizontal=True, key=key,
        help="Mean difference: mean code of the samples with the attribute minus the mean code of "
             "those without. Classifier normal: the normal of a logistic regression separating them "
             "(InterFaceGAN). The classifier separates better, but on VAEs its direction can barely "
             "change the decoded image.")
    return DIRECTION_METHODS[label]


def tags(model: LatentModel) -> dict[str, list[int]]:
    """Test-split indices the user tagged by hand on the map, per group ("A", "B"), per dataset."""
    return st.session_state.setdefault(f"tags_{model.info.dataset['name']}", {"A": [], "B": []})


def tag_direction(model: LatentModel) -> tuple[np.ndarray, float] | None:
    """Unit direction from group B's mean code to group A's, and the codes' std along it.
    None until both groups are tagged (and disjoint)."""
    from latentlab.latent.attributes import directions_from_groups  # lazy: pulls in scikit-learn

    t = tags(model)
    if not t["A"] or not t["B"]:
        return None
    z = latents(model).z
    try:
        d = directions_from_groups(z, t["A"], t["B"])
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
    """Per-dimension slider range `[d, 2]`: N(0,1) 1%/99% quantiles for VAEs, data percentiles else."""
    mode = "prior" if model.prior == "normal" else "data"
    z = latents(model).z
    return sweep_values(np.arange(z.shape[1]), 2, mode, z, quantiles=(0.01, 0.99))


# -- datasets: generated off the script thread (faces take seconds) -------------------------------
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
    from latentlab.zoo import dataset_of  # imported here: it pulls in torchvision (~1.5 s)

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


# -- session state ------------------------------------------------------------------------------------
def kept(widget, label: str, key: str, default, options=None, **kwargs):
    """A keyed widget whose value survives page switches.

    Streamlit forgets the state of widgets that a run does not draw, so the value is mirrored
    under a plain key and put back before the widget is drawn again.
    """
    shadow = f"_kept_{key}"
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(shadow, default)
    value = st.session_state[key]
    if options is not None and isinstance(value, list):  # multiselect: keep the still-valid choices
        st.session_state[key] = [v for v in value if v in options]
    elif options is not None and value not in options:
        st.session_state[key] = default if default in options else options[0]
    args = (label,) if options is None else (label, options)
    value = widget(*args, key=key, **kwargs)
    st.session_state[shadow] = value
    return value


def pool(model: LatentModel) -> dict[str, torch.Tensor]:
    """This session's own images for the model's dataset (uploads, train samples): name -> [1,C,H,W]."""
    return st.session_state.setdefault("pool", {}).setdefault(model.info.dataset["name"], {})


def send(page: str, **request) -> None:
    """Hand a request (e.g. index=3) to another page and switch to it."""
    st.session_state[f"request_{page}"] = request
    st.switch_page(f"pages/{page}.py")


def take_request(page: str) -> dict | None:
    return st.session_state.pop(f"request_{page}", None)


# -- inference --------------------------------------------------------------------------------------
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


def image_input(model: LatentModel, data: bytes, fit: str = "crop", invert="auto") -> torch.Tensor:
    """An uploaded file as model input `[1, C, S, S]`; raises ImageError (a LatentlabError)."""
    c, side, _ = model.image_shape
    return load_image(data, channels=c, size=side, fit=fit, invert=invert)


def add_upload(model: LatentModel, upload) -> str | None:
    """Preprocess one st.file_uploader file into the session's pool; st.error if it is refused."""
    try:
        pool(model)[upload.name] = image_input(model, upload.getvalue())
    except LatentlabError as exc:
        st.error(f"**{upload.name}**: {exc}")
        return None
    return upload.name


def latent_path(model: LatentModel, x0: torch.Tensor, x1: torch.Tensor, steps: int,
                method: str) -> tuple[np.ndarray, torch.Tensor]:
    """Like `latentlab.latent.interpolate`, but also returns the path's codes `[steps, d]`."""
    from latentlab.latent import path

    z = encode(model, torch.cat([x0, x1]))
    codes = path(z, steps, method).numpy()
    return codes, decode(model, codes)


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)

