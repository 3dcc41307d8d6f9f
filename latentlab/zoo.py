"""The shipped model zoo: listing, the data a checkpoint was trained on, and image grids.

Grids are tensors `[3, H, W]` in [0, 1]; `save_png` writes them atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from latentlab import checkpoint
from latentlab.datasets import Dataset, load_dataset
from latentlab.errors import LatentlabError
from latentlab.models import LatentModel


def dataset_of(model: LatentModel) -> Dataset:
    """The dataset (same options, same split) a loaded checkpoint was trained on."""
    ds = model.info.dataset
    return load_dataset(ds["name"], **ds.get("options", {}))


def zoo_table() -> list[dict]:
    """One row per shipped checkpoint, read from its JSON files (no weights are loaded)."""
    rows = []
    for name in checkpoint.zoo_names():
        path = checkpoint.ZOO_DIR / name
        config = checkpoint._read_json(path / "config.json")
        training = checkpoint._read_json(path / "training.json")
        metrics = training.get("test_metrics", {})
        rows.append({
            "name": name, "dataset": config["dataset"]["name"], "family": config.get("label", config["architecture"]),
            "architecture": config["architecture"], "latent_dim": config["model_args"]["latent_dim"],
            "test_mse": metrics.get("mse", float("nan")), "test_psnr": metrics.get("psnr", float("nan")),
            "neg_elbo": metrics.get("neg_elbo"), "active_units": metrics.get("active_units"),
            "train_seconds": training.get("seconds"),
            "size_mb": round((path / "model.safetensors").stat().st_size / 1e6, 2),
        })
    return rows


def evaluate_checkpoint(ref) -> dict:
    """Re-measure a checkpoint's test metrics on its own dataset's test split."""
    model = checkpoint.load(ref)
    metrics = model.evaluate(dataset_of(model).x_test)
    return {"name": model.info.name, "family": model.label, "latent_dim": model.latent_dim, **metrics}


@torch.inference_mode()
def reconstruction_grid(ref, n: int = 32, seed: int = 0, nrow: int = 16) -> torch.Tensor:
    """Rows of test images, each row followed by its reconstructions; `[3, H, W]`."""
    _check_n(n)
    model = ref if isinstance(ref, LatentModel) else checkpoint.load(ref)
    x = dataset_of(model).x_test
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    originals, recons = x[idx], model.reconstruct(x[idx])
    nrow = min(nrow, len(idx))
    rows = []
    for start in range(0, len(idx), nrow):
        rows += [originals[start:start + nrow], recons[start:start + nrow]]
    return _grid(torch.cat(rows), nrow)


@torch.inference_mode()
def sample_grid(ref, n: int = 32, seed: int = 0, nrow: int = 16) -> torch.Tensor:
    _check_n(n)
    model = ref if isinstance(ref, LatentModel) else checkpoint.load(ref)
    if not model.has_prior:
        raise LatentlabError(f"{model.info.name} is a {model.label}, which has no prior to sample "
                             "from; use a VAE or PCA checkpoint")
    images = model.sample(n, generator=torch.Generator().manual_seed(seed))
    return _grid(images, nrow)


def _grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    from torchvision.utils import make_grid  # imported here: ~1.5 s that the app's first map skips

    return make_grid(images, nrow=nrow, padding=2, pad_value=0.5)


def _check_n(n: int) -> None:
    if not 1 <= n <= 1024:
        raise LatentlabError(f"-n must be between 1 and 1024, got {n}")


def save_png(grid: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write a `[C, H, W]` image in [0, 1] as PNG, atomically (temp file, then os.replace)."""
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise LatentlabError(f"output must be a .png file, got {path}")
    if not path.parent.is_dir():
        raise LatentlabError(f"output folder does not exist: {path.parent}")
    array = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(fh, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
