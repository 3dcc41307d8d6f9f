"""Latent operations: pure functions over tensors/arrays and scikit-learn-style fitted objects.
No Streamlit here; the app's pages call these.

The modules that need scikit-learn (attributes, neighbours, conditional) resolve lazily (PEP 562), so the
app's first map never pays for importing it. The others are bound eagerly: `interpolate` is
both a module and a function, and only an explicit import keeps the function on top.
"""

from importlib import import_module

from latentlab.latent.cache import LatentSet, encode_images, encode_split, find_cached_map, latent_map
from latentlab.latent.interpolate import (
    crossfade,
    interpolate,
    lerp,
    path,
    path_quality,
    slerp,
)
from latentlab.latent.project import LatentMap, cached_map
from latentlab.latent.traverse import direction_sweep, order_dims, traversal_grid

_LAZY = {
    "attributes": ["AttributeDirections", "Direction", "attribute_report", "classifier_direction",
                   "conditional_direction", "directions_from_groups", "fit_attribute_regressors",
                   "mean_difference"],
    "neighbours": ["NearestNeighbours", "latent_neighbours", "pixel_neighbours"],
    "conditional": ["CodeDensity", "ConditionalGaussian", "decode_codes", "prior_codes"],
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "AttributeDirections", "CodeDensity", "ConditionalGaussian", "Direction", "LatentMap", "LatentSet", "NearestNeighbours",
    "attribute_report", "cached_map", "classifier_direction", "conditional_direction", "crossfade",
    "decode_codes", "direction_sweep", "directions_from_groups", "encode_images", "encode_split", "find_cached_map",
    "fit_attribute_regressors", "interpolate", "latent_map", "latent_neighbours", "lerp",
    "mean_difference", "order_dims", "path", "path_quality", "pixel_neighbours", "prior_codes", "slerp", "traversal_grid",
]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'latentlab.latent' has no attribute {name!r}")
    value = getattr(import_module(f"latentlab.latent.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
