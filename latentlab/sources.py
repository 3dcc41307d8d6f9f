"""Where latentlab may read training images from: built-in datasets or operator-listed folders.

A checkpoint's `config.json` names the dataset it was trained on, and the app loads that dataset
when the checkpoint is selected. So a checkpoint (or a training config submitted from the app)
could otherwise point the server at any folder it can read (`folder:/any/dir`) or at a
torchvision dataset with `download: true`. The rule:

- the built-in datasets (`shapes`, `faces`, `mnist`) are always allowed;
- a `folder` dataset's `path`, or a `torchvision` dataset's `root`, must lie inside one of the
  folders the operator listed in the environment variable LATENTLAB_DATA_DIRS (absolute paths
  separated by `:`), set where the server or command is started, out of a browser's reach;
- nothing ever downloads: `download: true` is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from latentlab.errors import DatasetError

ENV = "LATENTLAB_DATA_DIRS"
BUILT_IN = ("shapes", "faces", "mnist")
USER_SOURCES = {"folder": "path", "torchvision": "root"}  # dataset -> option naming its folder


def allowed_dirs() -> list[Path]:
    """The operator's data folders from LATENTLAB_DATA_DIRS (absolute paths only, resolved), plus
    where training jobs keep uploaded images (latentlab.jobs: written by latentlab itself, every
    image already through the image gate)."""
    from latentlab.jobs.store import uploads_root

    raw = os.environ.get(ENV, "")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p and os.path.isabs(p)] + [uploads_root().resolve()]


def check_source(name, options: dict, strict: bool = True) -> None:
    """DatasetError unless dataset `name` with `options` may be read. strict=False lets names
    this module does not know pass (the dataset registry names them), for training configs."""
    if name in BUILT_IN:
        return
    if name not in USER_SOURCES:
        if strict:
            raise DatasetError(f"dataset {name!r} is neither built in ({', '.join(BUILT_IN)}) nor "
                               "a folder the operator listed")
        return
    if options.get("download", False) is not False:
        raise DatasetError("download is refused: latentlab never downloads data")
    key = USER_SOURCES[name]
    folder = options.get(key)
    if not isinstance(folder, str) or not folder or "\x00" in folder:
        raise DatasetError(f"dataset {name!r} needs option {key!r}: a folder path")
    if not is_allowed(folder):
        raise DatasetError(f"data folder {folder!r} ({name} dataset) is not inside a folder listed in ${ENV} "
                           f"(the operator lists data folders there; now: {os.environ.get(ENV) or 'none'})")


def is_allowed(folder: str | os.PathLike) -> bool:
    """Whether `folder` (symlinks resolved) lies inside one of the operator's data folders."""
    try:
        path = Path(folder).resolve()
    except (OSError, ValueError, RuntimeError):
        return False
    return any(path == root or root in path.parents for root in allowed_dirs())


def dataset_of(model):
    """The dataset (same options, same split) a loaded checkpoint was trained on, if allowed."""
    from latentlab.datasets import load_dataset

    ds = model.info.dataset
    options = ds.get("options", {})
    check_source(ds.get("name"), options)
    return load_dataset(ds["name"], **options)
