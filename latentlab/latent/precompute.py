"""Cache producers for a checkpoint named by its name: encode a split, fit a 2-D map.

They run where waiting would hurt: as the app's background tasks (a child process per task,
latentlab.ui.tasks) and from scripts/precompute_maps.py. Results land in latentlab's on-disk
cache keyed by the checkpoint's content hash, where the app's cached loaders find them.
"""

from __future__ import annotations

import latentlab
from latentlab.latent.cache import encode_split, latent_map


def _quiet(fraction: float, message: str = "") -> None:
    pass


def encode(name: str, split: str, progress=_quiet) -> None:
    """Encode checkpoint `name`'s `split` into the latent cache."""
    from latentlab.sources import dataset_of  # not latentlab.zoo, which imports latentlab.latent

    model = latentlab.load(name)
    progress(0.0, f"building the {model.info.dataset['name']} dataset")
    dataset_of(model)
    encode_split(model, split, progress=progress)


def fit_map(name: str, method: str, split: str, progress=_quiet) -> None:
    """Fit (or find) checkpoint `name`'s `method` map of `split` and cache it."""
    encode(name, split, lambda fraction, message: progress(0.3 * fraction, message))
    progress(0.3, f"fitting {method.upper()} (the fit itself reports no progress)")
    latent_map(latentlab.load(name), method, split)


def directions(name: str, progress=_quiet) -> None:
    """Fit (or find) checkpoint `name`'s least-leaking attribute directions and cache them."""
    from latentlab.latent.directions import load_or_fit_directions

    load_or_fit_directions(latentlab.load(name), progress=progress)


def dim_names(name: str, progress=_quiet) -> None:
    """Measure (or find) what each latent dimension of checkpoint `name` changes, and cache it."""
    from latentlab.latent.naming import load_or_name_dims

    load_or_name_dims(latentlab.load(name), progress=progress)
