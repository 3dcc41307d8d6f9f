"""What every benchmark section shares: run sizes, where models come from, what a section returns.

A section is a function `run(ctx) -> Section` in its own module. It loads zoo checkpoints through
`ctx.load(name)` (None when the checkpoint is missing, so a half-trained zoo gives a partial report
instead of a crash), writes images only under `ctx.docs_dir`, and returns markdown plus the raw
numbers, which `__main__` assembles into BENCHMARKS.md and a JSON file.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from latentlab import checkpoint
from latentlab.errors import LatentlabError


@dataclass(frozen=True)
class Settings:
    """Sample sizes and run lengths. `FULL` makes the committed report; `QUICK` is a smoke run."""

    name: str = "full"
    seed: int = 0
    threads: int = 2
    metric_samples: int = 10000  # MIG / DCI / SAP training sample (test sample: half)
    vote_samples: int = 2000  # FactorVAE / BetaVAE votes or points (eval: half)
    group_size: int = 64
    traversal_steps: int = 9
    anomaly_digits: tuple[int, ...] = tuple(range(10))
    anomaly_epochs: int | None = None  # None: the committed one-class config's epochs
    anomaly_baseline_epochs: int = 12  # the earlier protocol's AE, for comparison
    probe_labels: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 1000)  # per class
    probe_seeds: tuple[int, ...] = (0, 1, 2)
    conditional_samples: int = 100  # decoded samples per requested class
    restore_images: int = 200
    restore_steps: int = 200
    iwae_k: int = 500
    iwae_ks: tuple[int, ...] = (1, 10, 100, 500)
    peer_epochs: int = 30
    peer_k: int = 500
    ours_timing_epochs: int = 2
    interp_pairs: int = 500  # hybrids: test pairs per dataset for interpolation realism
    bench_train_steps: int = 10  # 0 skips scripts/bench_train.py (its PCA fits take a minute)
    codec_images: int = 100  # test images per dataset in the compression section (a seeded subset)


FULL = Settings()
QUICK = Settings(name="quick", threads=1, metric_samples=300, vote_samples=40, group_size=8,
                 traversal_steps=5, anomaly_digits=(1, 8), anomaly_epochs=1, anomaly_baseline_epochs=1,
                 probe_labels=(1, 10), probe_seeds=(0,), conditional_samples=8, restore_images=8, restore_steps=5,
                 iwae_k=8, iwae_ks=(1, 8), peer_epochs=1, peer_k=8, ours_timing_epochs=1,
                 bench_train_steps=0, codec_images=3, interp_pairs=8)


@dataclass
class Context:
    """Run settings, the checkpoint folder (None: the shipped zoo) and the image output folder."""

    settings: Settings
    docs_dir: Path
    zoo_dir: Path | None = None
    docs_link: str = "docs"  # how BENCHMARKS.md refers to docs_dir
    memo: dict = field(default_factory=dict)  # results one section shares with a later one

    def load(self, name: str):
        """A zoo model in eval mode, or None if that checkpoint does not exist (yet)."""
        folder = (self.zoo_dir or checkpoint.ZOO_DIR) / name
        if not (folder / "model.safetensors").exists():
            return None
        return checkpoint.load(folder if self.zoo_dir else name)

    def models(self, names) -> tuple[list, list[str]]:
        """([(name, model)] for the checkpoints that exist, [names that do not])."""
        found, absent = [], []
        for name in names:
            model = self.load(name)
            if model is None:
                absent.append(name)
            else:
                found.append((name, model))
        return found, absent

    def image(self, filename: str) -> tuple[Path, str]:
        """(path to write, markdown link) of an image in the docs folder."""
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        return self.docs_dir / filename, f"{self.docs_link}/{filename}"

    def save_grid(self, images, nrow: int, filename: str, scale: int = 2) -> str:
        """Tile images `[N, C, H, W]` in [0, 1] into rows of `nrow`, enlarge by `scale` (nearest
        neighbour: pixels stay sharp), write docs/<filename>; returns the markdown link."""
        from latentlab import render

        if images.shape[-1] >= 64:  # already legible; enlarging noisy colour images bloats the PNG
            scale = 1
        grid = render.tile(images.clamp(0, 1), ncol=nrow, gap=2, fill=0.5)
        path, link = self.image(filename)
        render.save_png(render.png(grid, px=grid.shape[-1] * scale), path)
        return link


@dataclass
class Section:
    key: str
    title: str
    body: str
    data: dict = field(default_factory=dict)
    seconds: float = 0.0
    load: tuple[float, float] | None = None  # 1-minute load average at start and end


def load_average() -> float | None:
    """The machine's 1-minute load average (other users' jobs slow every timing here)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run_section(key: str, title: str, fn, ctx: Context) -> Section:
    """Run one section, timing it; an exception becomes a section that reports the error, so one
    broken part never hides the others' numbers."""
    started, load_before = time.perf_counter(), load_average()
    try:
        section = fn(ctx)
    except (LatentlabError, ImportError, RuntimeError, ValueError) as exc:
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        section = Section(key, title, f"**Not run: this section failed.**\n\n```\n{detail}\n```\n",
                          {"error": detail})
    section.seconds = time.perf_counter() - started
    section.load = (load_before, load_average())
    return section


def missing(names) -> str:
    """A markdown note listing checkpoints the section had to skip."""
    names = list(names)
    if not names:
        return ""
    return (f"\n_Skipped (checkpoint not found): {', '.join(f'`{n}`' for n in names)}. "
            "Train them with `scripts/train_zoo.sh` and rerun._\n")
