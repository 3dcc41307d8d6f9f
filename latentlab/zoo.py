"""The shipped model zoo: listing, the data a checkpoint was trained on, and image grids.

Grids are tensors `[C, H, W]` in [0, 1] tiled by latentlab.render (which also writes them).
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentlab import checkpoint, render
from latentlab.datasets import Dataset, load_dataset
from latentlab.errors import LatentlabError
from latentlab.models import LatentModel


def dataset_of(model: LatentModel) -> Dataset:
    """The dataset (same options, same split) a loaded checkpoint was trained on."""
    ds = model.info.dataset
    return load_dataset(ds["name"], **ds.get("options", {}))


# Test metrics a zoo row carries, under the keys training.json stores them with.
ROW_METRICS = ("mse", "psnr", "neg_elbo", "active_units")


def zoo_table() -> tuple[list[dict], list[str]]:
    """(one row per zoo checkpoint, read from its JSON files without loading weights; one message
    per checkpoint folder that cannot be listed, saying why). A broken entry never hides the rest."""
    rows, problems = [], []
    for name in checkpoint.zoo_names():
        try:
            rows.append(_zoo_row(name, checkpoint.ZOO_DIR / name))
        except (LatentlabError, OSError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"checkpoints/{name}: {exc}")
    return rows, problems


def _zoo_row(name: str, path: Path) -> dict:
    config = checkpoint.read_json(path / "config.json")
    training = checkpoint.read_json(path / "training.json") if (path / "training.json").exists() else {}
    metrics = training.get("test_metrics", {})
    return {
        "name": name, "dataset": config["dataset"]["name"], "family": config.get("label", config["architecture"]),
        "architecture": config["architecture"], "latent_dim": config["model_args"]["latent_dim"],
        "metrics": {k: metrics[k] for k in ROW_METRICS if isinstance(metrics.get(k), (int, float))},
        "train_seconds": training.get("seconds"),
        "size_mb": round((path / "model.safetensors").stat().st_size / 1e6, 2),
    }


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
        o, r = originals[start:start + nrow], recons[start:start + nrow]
        blank = torch.full((nrow - len(o), *o.shape[1:]), 0.5)  # pad a short last row, keep pairs aligned
        rows += [o, blank, r, blank]
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
    return render.tile(images, ncol=nrow, gap=2, fill=0.5)


def _check_n(n: int) -> None:
    if not 1 <= n <= 1024:
        raise LatentlabError(f"-n must be between 1 and 1024, got {n}")
