"""One training loop for every model family.

The loop knows nothing about which model it trains: it asks the model for its optimisers, calls
`model.train_step` per batch and `model.evaluate` per epoch. Closed-form models (PCA) are fitted
in one call instead. Runs are seeded and deterministic on the CPU (same seed, same threads, same
weights), stop with status "diverged" on a non-finite loss or gradient (writing no checkpoint),
and can resume from the state saved after each epoch.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file

import latentlab
from latentlab import checkpoint
from latentlab.atomic import temp_dir
from latentlab.config import TrainConfig
from latentlab.datasets import Dataset, load_dataset
from latentlab.errors import ConfigError, DivergedError
from latentlab.models import Batch, LatentModel, build_model

Progress = Callable[[dict], None]


@dataclass
class TrainResult:
    status: str  # "completed" or "diverged"
    model: LatentModel
    history: list[dict] = field(default_factory=list)
    test_metrics: dict = field(default_factory=dict)
    path: Path | None = None
    message: str = ""


def build_for(cfg: TrainConfig, data: Dataset) -> LatentModel:
    """The model a config describes, shaped for the dataset's images."""
    return build_model(cfg.model.family, image_shape=list(data.shape),
                       latent_dim=cfg.model.latent_dim, **cfg.model.args)


def train(cfg: TrainConfig, out_dir: str | Path | None = None, progress: Progress | None = None,
          resume: bool = False, data: Dataset | None = None, save: bool = True) -> TrainResult:
    """Train `cfg` and (if `save`) write the checkpoint to `out_dir/cfg.name`."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = data or load_dataset(cfg.data.name, **cfg.data.options)
    torch.manual_seed(cfg.seed)
    model = build_for(cfg, data)
    out = Path(out_dir) if out_dir is not None else checkpoint.ZOO_DIR
    started = time.perf_counter()
    if model.closed_form:
        model.fit(data.x_train, seed=cfg.seed)
        history = []
    else:
        try:
            state_dir = out / f".{cfg.name}.resume" if save else None  # a run that saves nothing writes nothing
            history = _fit(model, cfg, data, state_dir, progress, resume)
        except DivergedError as exc:
            return TrainResult("diverged", model, message=str(exc))
    model.eval()
    if history:  # the last epoch already measured this model on the test split
        metrics = {k: v for k, v in history[-1].items() if k not in ("epoch", "train_loss", "seconds")}
    else:
        metrics = model.evaluate(data.x_test, cfg.eval_batch_size)
    result = TrainResult("completed", model, history, metrics)
    if save:
        seconds = time.perf_counter() - started
        result.path = checkpoint.save(model, out / cfg.name, {"name": cfg.data.name, "options": cfg.data.options},
                                      _training_record(cfg, history, metrics, seconds, data.epoch_size))
        shutil.rmtree(out / f".{cfg.name}.resume", ignore_errors=True)
    return result


def _fit(model, cfg: TrainConfig, data: Dataset, state_dir: Path | None, progress, resume) -> list[dict]:
    x = data.x_train
    steps_per_epoch = math.ceil(data.epoch_size / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    model.prepare_training(x, cfg.seed)  # e.g. GLO's per-image codes; resume then overwrites them
    optimizers = model.make_optimizers(cfg.lr, cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    history, start_epoch = [], 0
    if resume and state_dir is not None and (state_dir / "state.json").exists():
        history, start_epoch = _load_state(state_dir, cfg, model, optimizers, gen)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0, running = time.perf_counter(), 0.0
        order = torch.randperm(data.epoch_size, generator=gen)
        for i, idx in enumerate(order.split(cfg.batch_size)):
            step = epoch * steps_per_epoch + i
            _set_lr(optimizers, cfg, step, total)
            # A streamed dataset renders fresh factor rows for every batch (issue 10).
            batch = Batch(*data.stream.batch(len(idx), gen)) if data.stream else Batch(x[idx], idx)
            terms = model.train_step(batch, step, optimizers, gen, cfg.grad_clip)
            running += terms["loss"]
            if progress:
                progress({"kind": "step", "epoch": epoch, "step": step + 1, "total": total, **terms})
        model.eval()
        record = {"epoch": epoch + 1, "train_loss": running / steps_per_epoch,
                  "seconds": round(time.perf_counter() - t0, 2), **model.evaluate(data.x_test, cfg.eval_batch_size)}
        history.append(record)
        if state_dir is not None:
            _save_state(state_dir, cfg, model, optimizers, gen, history)  # before the callback, which may stop us
        if progress:
            progress({"kind": "epoch", **record})
    return history


def _set_lr(optimizers, cfg: TrainConfig, step: int, total: int) -> None:
    scale = 1.0
    if cfg.lr_schedule == "cosine":  # cosine decay to 5% of the base rate
        scale = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = cfg.lr * scale


def _training_record(cfg, history, metrics, seconds, n_train) -> dict:
    images = n_train * len(history)
    return {
        "status": "completed", "seed": cfg.seed, "config": cfg.to_dict(), "history": history,
        "test_metrics": metrics, "seconds": round(seconds, 1), "images_seen": images,
        "images_per_second": round(images / seconds, 1) if history else None,
        "threads": torch.get_num_threads(), "latentlab_version": latentlab.__version__,
        "torch_version": torch.__version__.split("+")[0],
    }


# -- resumable state: safetensors for tensors, JSON for the rest (never pickle) ----------------
def _save_state(state_dir: Path, cfg, model, optimizers, gen, history) -> None:
    tensors = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    groups = []
    for j, opt in enumerate(optimizers):
        sd = opt.state_dict()
        groups.append(sd["param_groups"])
        for pid, state in sd["state"].items():
            for key, value in state.items():
                tensors[f"opt{j}.{pid}.{key}"] = torch.as_tensor(value).detach().clone()
    tensors["rng"] = gen.get_state()
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(state_dir.parent, f".{state_dir.name}.")
    try:
        save_file(tensors, str(tmp / "state.safetensors"))
        meta = {"config": cfg.to_dict(), "epoch": len(history), "history": history, "groups": groups}
        (tmp / "state.json").write_text(json.dumps(meta))
        checkpoint._swap_in(tmp, state_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load_state(state_dir: Path, cfg, model, optimizers, gen) -> tuple[list[dict], int]:
    try:
        meta = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError) as exc:
        meta = {"error": str(exc)}
    if not isinstance(meta, dict) or not {"config", "groups", "history", "epoch"} <= set(meta):
        raise ConfigError(f"cannot resume from {state_dir}: state.json is unreadable or incomplete; "
                          "delete that folder to start over")
    if meta["config"] != cfg.to_dict():
        raise ConfigError(f"cannot resume: the saved state in {state_dir} was made with another config")
    tensors = checkpoint.read_tensors(state_dir / "state.safetensors")  # checked: a clear error if broken
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for j, opt in enumerate(optimizers):
        state: dict = {}
        for key, value in tensors.items():
            if key.startswith(f"opt{j}."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = value
        opt.load_state_dict({"state": state, "param_groups": meta["groups"][j]})
    gen.set_state(tensors["rng"])
    return meta["history"], meta["epoch"]
