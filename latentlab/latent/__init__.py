"""Latent operations: pure functions over tensors/arrays and scikit-learn-style fitted objects.
No Streamlit here; the app's pages call these."""

from latentlab.latent.attributes import (
    AttributeDirections,
    Direction,
    attribute_report,
    classifier_direction,
    conditional_direction,
    directions_from_groups,
    fit_attribute_regressors,
    mean_difference,
)
from latentlab.latent.cache import LatentSet, encode_images, encode_split, latent_map
from latentlab.latent.interpolate import (
    crossfade,
    gif,
    interpolate,
    lerp,
    path,
    path_quality,
    slerp,
    strip_png,
)
from latentlab.latent.neighbours import NearestNeighbours, latent_neighbours, pixel_neighbours
from latentlab.latent.project import LatentMap, cached_map
from latentlab.latent.traverse import direction_sweep, order_dims, traversal_grid

__all__ = [
    "AttributeDirections", "Direction", "LatentMap", "LatentSet", "NearestNeighbours",
    "attribute_report", "cached_map", "classifier_direction", "conditional_direction", "crossfade",
    "direction_sweep", "directions_from_groups", "encode_images", "encode_split",
    "fit_attribute_regressors", "gif", "interpolate", "latent_map", "latent_neighbours", "lerp",
    "mean_difference", "order_dims", "path", "path_quality", "pixel_neighbours", "slerp",
    "strip_png", "traversal_grid",
]
