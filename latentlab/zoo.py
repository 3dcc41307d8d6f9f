"""The model zoo: listing (with a reason per unusable entry), metric names, and image grids.

Grids are tensors `[C, H, W]` in [0, 1] tiled by latentlab.render (which also writes them).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from latentlab import checkpoint, render
from latentlab.errors import LatentlabError
from latentlab.keys import METRICS, Metric  # noqa: F401 - the table's public home is here too
from latentlab.models import LatentModel
from latentlab.sources import ENV, dataset_of  # dataset_of's old home; latentlab.sources owns it


@dataclass(frozen=True)
class ZooProblem:
    """A checkpoint folder that cannot be used, and why. str() gives one line for display."""

    name: str
    root: str  # "shipped" or "user"
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.root} checkpoint {self.name}: {self.reason}"


def zoo_table() -> tuple[list[dict], list[ZooProblem]]:
    """(one row per usable checkpoint, shipped first then the user's, each by name; one
    ZooProblem per folder that cannot be used). Rows come from the JSON files and the weight
    header, all checked (latentlab.validate), so every row loads; nothing is allocated for a bad
    entry and no entry, however malformed, raises here.

    Row keys: name, root ("shipped" | "user"), path, dataset, family (registry name, e.g. "vae"),
    label (display name, e.g. "β-VAE (β=4)"), latent_dim, metrics ({METRICS key: value} for the
    ones recorded), train_seconds, size_mb, loadable (always True here)."""
    rows, problems, taken = [], [], set()
    for name, root, path in checkpoint.zoo_entries():
        if name in taken:
            problems.append(ZooProblem(name, root, path, "name already used by a shipped checkpoint; "
                                                         "rename this folder to use it"))
            continue
        taken.add(name)
        problem = checkpoint.entry_problem(name, path, root)
        if problem:
            problems.append(ZooProblem(name, root, path, problem))
            continue
        try:
            rows.append(dict(_row(path, checkpoint.stamp(path), name, root, os.environ.get(ENV))))
        except LatentlabError as exc:
            problems.append(ZooProblem(name, root, path, str(exc)))
        except Exception as exc:  # noqa: BLE001 - the lister must survive any folder; say what broke
            problems.append(ZooProblem(name, root, path, f"unreadable ({type(exc).__name__}: {exc})"[:300]))
    return rows, problems


def whole_dataset(ds: dict) -> dict:
    """A config's `dataset` entry {"name", "options"} without `keep`: the whole data a one-class
    checkpoint's part is drawn from (anomaly scores, probes and restorations use all of it)."""
    return {"name": ds["name"], "options": {k: v for k, v in ds.get("options", {}).items() if k != "keep"}}


def datasets_by_name() -> dict[str, dict]:
    """Each usable zoo checkpoint's config `dataset` entry ({"name", "options"}), by name, in
    zoo_table's order."""
    return {r["name"]: checkpoint.read_json(Path(r["path"]) / "config.json")["dataset"] for r in zoo_table()[0]}


@functools.lru_cache(maxsize=512)
def _row(path: Path, stamp: tuple, name: str, root: str, data_dirs: str | None) -> dict:
    """A checked row; cached per file stamp (and data-folder setting), so the app's every rerun
    costs a few stat calls."""
    checked = checkpoint.inspect(path)
    config, metrics = checked.config, checked.training.get("test_metrics", {})
    return {
        "name": name, "root": root, "path": str(path), "dataset": config["dataset"]["name"],
        "family": checked.family, "label": config.get("label", checked.family),
        "latent_dim": config["model_args"]["latent_dim"],
        "metrics": {k: metrics[k] for k in METRICS if metrics.get(k) is not None},
        "train_seconds": checked.training.get("seconds"),
        "size_mb": round((path / "model.safetensors").stat().st_size / 1e6, 2),
        "loadable": True,
    }


def evaluate_checkpoint(ref) -> dict:
    """Re-measure a checkpoint's test metrics on its own dataset's test split."""
    model = checkpoint.load(ref)
    metrics = model.evaluate(dataset_of(model).x_test)
    return {"name": model.info.name, "family": model.family, "label": model.label,
            "latent_dim": model.latent_dim, **metrics}


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


def check_png_path(path: str | os.PathLike) -> Path:
    """An output path for a PNG: a new or existing *file* ending .png in an existing folder."""
    if "\x00" in os.fspath(path):
        raise LatentlabError("output path cannot contain a NUL character")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise LatentlabError(f"output must be a .png file, got {path}")
    if path.is_dir():
        raise LatentlabError(f"output {path} is a folder; name a .png file")
    if not path.parent.is_dir():
        raise LatentlabError(f"output folder does not exist: {path.parent}")
    return path
