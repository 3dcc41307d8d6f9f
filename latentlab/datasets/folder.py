"""The user's own data: a folder of images, and torchvision datasets already on disk.

Folder: every PNG/JPEG/GIF/BMP/WebP/TIFF file directly inside `path`, each passed through
`latentlab.images` (the one gate for user files); an optional `attributes.csv` with a `file`
column and numeric columns gives per-image labels. torchvision: MNIST, FashionMNIST and CelebA
are read from `root`; they are downloaded only when the caller passes download=True.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from latentlab.datasets.base import Dataset, seeded_split
from latentlab.errors import DatasetError, LatentlabError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


def build_folder(path: str, size: int = 64, channels: int = 3, test_fraction: float = 0.2,
                 seed: int = 0, max_images: int = 20000) -> Dataset:
    from latentlab.images import load_image

    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:max_images]
    if len(files) < 2:
        raise DatasetError(f"{root} holds {len(files)} image(s); a dataset needs at least 2")
    images = []
    for f in files:
        try:
            images.append(load_image(f, channels=channels, size=size))
        except LatentlabError as exc:
            raise DatasetError(f"{f.name}: {exc}") from None
    x = torch.cat(images)
    labels = _read_attributes(root / "attributes.csv", [f.name for f in files])
    train, test = seeded_split(len(x), test_fraction, seed)
    return Dataset(
        name=f"folder:{root.name}", x_train=x[train], x_test=x[test],
        labels_train={k: v[train] for k, v in labels.items()},
        labels_test={k: v[test] for k, v in labels.items()},
        description=f"{len(x)} images from {root}",
    )


def _read_attributes(csv_path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """Numeric columns of attributes.csv aligned to `names` (NaN where a file has no row)."""
    if not csv_path.exists():
        return {}
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "file" not in rows[0]:
        raise DatasetError(f"{csv_path} needs a header row with a 'file' column")
    by_name = {r["file"]: r for r in rows}
    columns = [c for c in rows[0] if c != "file"]
    out = {}
    for col in columns:
        values = np.full(len(names), np.nan, dtype=np.float32)
        for i, name in enumerate(names):
            if name in by_name and by_name[name][col] not in ("", None):
                try:
                    values[i] = float(by_name[name][col])
                except ValueError:
                    raise DatasetError(f"{csv_path}: column {col!r} of {name} is not a number: "
                                       f"{by_name[name][col]!r}") from None
        out[col] = values
    return out


TORCHVISION = ("MNIST", "FashionMNIST", "CelebA")


def build_torchvision(name: str, root: str, download: bool = False, size: int | None = None,
                      limit: int = 20000, seed: int = 0) -> Dataset:
    """A torchvision dataset from `root`; CelebA is centre-cropped to 148 and resized to `size`."""
    import torchvision
    from torchvision import transforms as T

    if name not in TORCHVISION:
        raise DatasetError(f"unknown torchvision dataset {name!r}; supported: {', '.join(TORCHVISION)}")
    tf = [T.ToTensor()]
    if name == "CelebA":
        tf = [T.CenterCrop(148), T.Resize(size or 64), T.ToTensor()]
    elif size:
        tf = [T.Resize(size), T.ToTensor()]
    cls = getattr(torchvision.datasets, name)
    try:
        if name == "CelebA":
            train = cls(root, split="train", target_type="attr", transform=T.Compose(tf), download=download)
            test = cls(root, split="test", target_type="attr", transform=T.Compose(tf), download=download)
        else:
            train = cls(root, train=True, transform=T.Compose(tf), download=download)
            test = cls(root, train=False, transform=T.Compose(tf), download=download)
    except (RuntimeError, FileNotFoundError) as exc:
        hint = "" if download else " (pass download=True to fetch it explicitly)"
        raise DatasetError(f"{name} not found under {root}: {exc}{hint}") from None
    xs, ys = [], []
    for part in (train, test):
        idx = np.random.default_rng(seed).permutation(len(part))[:limit]
        items = [part[i] for i in idx]  # each part[i] decodes (and transforms) the image: once
        xs.append(torch.stack([image for image, _ in items]))
        ys.append(np.stack([np.asarray(target) for _, target in items]))
    labels = _torchvision_labels(name, train, ys)
    return Dataset(name=name.lower(), x_train=xs[0], x_test=xs[1],
                   labels_train=labels[0], labels_test=labels[1],
                   description=f"torchvision {name} from {root}")


def _torchvision_labels(name, train, ys) -> list[dict[str, np.ndarray]]:
    if name == "CelebA":
        names = list(train.attr_names)[:40]
        return [{n: y[:, i].astype(np.int64) for i, n in enumerate(names)} for y in ys]
    return [{"label": y.astype(np.int64)} for y in ys]
