"""One training loop for every model family.

The loop knows nothing about which model it trains: it asks the model for its optimisers, calls
`model.train_step` per batch and `model.evaluate` per epoch. Closed-form models (PCA) are fitted
in one call instead. Runs are seeded and deterministic on the CPU (same seed, same threads, same
weights), stop with status "diverged" on a non-finite loss or gradient (writing no checkpoint),
and can resume from the state saved after each epoch. Under torchrun the same loop trains
data-parallel (latentlab.distributed); rank 0 alone writes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file

import latentlab
from latentlab import checkpoint, distributed
from latentlab.atomic import atomic_dir, recover, remove_dir
from latentlab.collapse import collapse_reason
from latentlab.config import TrainConfig
from latentlab.datasets import Dataset, load_dataset
from latentlab.errors import ConfigError, DivergedError
from latentlab.models import Batch, LatentModel, build_model

# Called with {"kind": "step", ...} after every step and {"kind": "epoch", ..., "model": m} after
# every epoch (m in eval mode, to draw, never to train); an epoch call returning "stop" ends the
# run after that epoch as completed (a time budget), an exception raised by it ends the run.
Progress = Callable[[dict], object]


@dataclass
class Start:
    """Continue a trained model: its weights (a state dict) and the step its training reached,
    so step-dependent terms (a KL warm-up) carry on instead of starting over."""

    weights: dict
    step: int = 0


@dataclass
class TrainResult:
    status: str  # "completed", "diverged" (non-finite loss) or "failed" (collapsed, see message)
    model: LatentModel
    history: list[dict] = field(default_factory=list)
    test_metrics: dict = field(default_factory=dict)
    path: Path | None = None
    message: str = ""


def build_for(cfg: TrainConfig, data: Dataset) -> LatentModel:
    """The model a config describes, shaped for the dataset's images."""
    return build_model(cfg.model.family, image_shape=list(data.shape),
                       latent_dim=cfg.model.latent_dim, **cfg.model.args)


@dataclass
class _Run:
    """How `_fit` runs: where resume state lives (None: nowhere), who hears progress, whether to
    resume, a continued model's first step, and this process's place among torchrun's ranks."""

    state_dir: Path | None
    progress: Progress | None
    resume: bool
    start: Start | None
    dist: distributed.Dist


def train(cfg: TrainConfig, out_dir: str | Path | None = None, progress: Progress | None = None,
          resume: bool = False, data: Dataset | None = None, save: bool = True,
          start: Start | None = None, overwrite: bool = False, allow_collapse: bool = False) -> TrainResult:
    """Train `cfg` and (if `save`) write the checkpoint to `out_dir/cfg.name` (default out_dir:
    the user's checkpoint root, latentlab.checkpoint.user_root(); never the shipped zoo).

    An existing checkpoint of that name is replaced only with `overwrite=True` (else
    CheckpointError, before any training); `resume=True` continues from the last saved epoch or
    says why it cannot. A collapsed model (latentlab.collapse) ends with status "failed" and
    writes nothing, unless `allow_collapse` (for smoke tests that only need the files).
    `start` continues a trained model (its weights and step).
    """
    out = Path(out_dir) if out_dir is not None else checkpoint.user_root()
    if save:
        checkpoint.check_writable(out / cfg.name, overwrite)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = distributed.setup()
    try:
        state_dir = out / f".{cfg.name}.resume" if save else None  # a run that saves nothing writes nothing
        run = _Run(state_dir, progress if dist.is_main else None, resume, start, dist)
        return _train(cfg, out, data, run, save, overwrite, allow_collapse)
    finally:
        distributed.teardown(dist)


def _train(cfg, out: Path, data, run: _Run, save: bool, overwrite: bool, allow_collapse: bool) -> TrainResult:
    data = data or load_dataset(cfg.data.name, **cfg.data.options)
    start, dist = run.start, run.dist
    torch.manual_seed(cfg.seed)
    model = build_for(cfg, data)
    if start is not None:
        model.load_state_dict(start.weights)
    started = time.perf_counter()
    if model.closed_form:
        model.fit(data.x_train, seed=cfg.seed)
        history = []
    else:
        try:
            history = _fit(model, cfg, data, run)
        except DivergedError as exc:
            return TrainResult("diverged", model, message=str(exc))
        finally:
            distributed.release(model)
    model.cpu().eval()
    if history:  # the last epoch already measured this model on the test split
        metrics = {k: v for k, v in history[-1].items() if k not in ("epoch", "seconds")
                   and not k.startswith("train_")}
    else:
        metrics = model.evaluate(data.x_test, cfg.eval_batch_size)
    reason = None if allow_collapse else collapse_reason(model, data.x_test, cfg.eval_batch_size)
    if reason:
        if save and dist.is_main:
            remove_dir(out / f".{cfg.name}.resume")  # a collapsed run is not worth resuming
        return TrainResult("failed", model, history, metrics, message=reason)
    result = TrainResult("completed", model, history, metrics)
    if save and dist.is_main:
        seconds = time.perf_counter() - started
        result.path = checkpoint.save(model.cpu(), out / cfg.name, {"name": cfg.data.name, "options": cfg.data.options},
                                      _training_record(cfg, history, metrics, seconds, len(data.x_train), dist),
                                      overwrite=overwrite)
        remove_dir(out / f".{cfg.name}.resume")
    return result


def _fit(model, cfg: TrainConfig, data: Dataset, run: _Run) -> list[dict]:
    x, dist = data.x_train, run.dist
    per_rank = math.ceil(len(x) / dist.world)
    steps_per_epoch = math.ceil(per_rank / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    first = run.start.step if run.start else 0
    model.to(dist.device)
    model.prepare_training(x, cfg.seed)  # e.g. GLO's per-image codes; resume then overwrites them
    optimizers = model.make_optimizers(cfg.lr, cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed + dist.rank)  # own noise per rank; rank 0 = single run
    history, start_epoch = [], 0
    if run.resume:
        history, start_epoch = _load_state(_resumable(run.state_dir, cfg), cfg, model, optimizers, gen)
        if dist.rank:  # the state holds rank 0's generator; the others draw their own noise
            gen.manual_seed(cfg.seed + dist.rank + 7919 * start_epoch)
    distributed.replicate(model, dist)
    x_test = data.x_test.to(dist.device)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0, sums = time.perf_counter(), {}
        order = (distributed.epoch_order(len(x), epoch, cfg.seed, dist) if dist.active
                 else torch.randperm(len(x), generator=gen))
        for i, idx in enumerate(order.split(cfg.batch_size)):
            step = epoch * steps_per_epoch + i
            _set_lr(optimizers, cfg, step, total)
            terms = model.train_step(Batch(x[idx].to(dist.device), idx), first + step, optimizers, gen,
                                     cfg.grad_clip)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
            if run.progress:
                run.progress({"kind": "step", "epoch": epoch, "step": step + 1, "total": total, **terms})
        model.eval()
        record = {"epoch": epoch + 1, "train_loss": distributed.mean(sums.pop("loss") / steps_per_epoch, dist),
                  **{f"train_{k}": distributed.mean(v / steps_per_epoch, dist) for k, v in sums.items()},
                  "seconds": round(time.perf_counter() - t0, 2), **model.evaluate(x_test, cfg.eval_batch_size)}
        history.append(record)
        if run.state_dir is not None and dist.is_main:
            _save_state(run.state_dir, cfg, model, optimizers, gen, history)  # before the callback, which may stop us
        if run.progress and run.progress({"kind": "epoch", **record, "model": model}) == "stop":
            break
    return history


def _set_lr(optimizers, cfg: TrainConfig, step: int, total: int) -> None:
    scale = 1.0
    if cfg.lr_schedule == "cosine":  # cosine decay to 5% of the base rate
        scale = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = cfg.lr * scale


def _training_record(cfg, history, metrics, seconds, n_train, dist) -> dict:
    images = n_train * len(history)
    return {
        "status": "completed", "seed": cfg.seed, "config": cfg.to_dict(), "history": history,
        "test_metrics": metrics, "seconds": round(seconds, 1),
        "images_per_second": round(images / seconds, 1) if history else None,
        "threads": torch.get_num_threads(), "processes": dist.world, "latentlab_version": latentlab.__version__,
        "torch_version": torch.__version__.split("+")[0],
    }


# -- resumable state: safetensors for tensors, JSON for the rest (never pickle) ----------------
def _save_state(state_dir: Path, cfg, model, optimizers, gen, history) -> None:
    tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    groups = []
    for j, opt in enumerate(optimizers):
        sd = opt.state_dict()
        groups.append(sd["param_groups"])
        for pid, state in sd["state"].items():
            for key, value in state.items():
                tensors[f"opt{j}.{pid}.{key}"] = torch.as_tensor(value).detach().cpu().clone()
    tensors["rng"] = gen.get_state()
    with atomic_dir(state_dir) as tmp:  # old state or new under the name at every instant
        save_file(tensors, str(tmp / "state.safetensors"))
        meta = {"config": cfg.to_dict(), "epoch": len(history), "history": history, "groups": groups}
        (tmp / "state.json").write_text(json.dumps(meta))


def _resumable(state_dir: Path | None, cfg: TrainConfig) -> Path:
    """The state folder to resume from, or ConfigError saying why there is none (a resume
    never silently starts again at epoch 1)."""
    if state_dir is None:
        raise ConfigError("cannot resume a run that saves nothing (save=False)")
    if not (state_dir / "state.json").exists() and not recover(state_dir):
        raise ConfigError(f"cannot resume {cfg.name}: no saved state in {state_dir} (no epoch has "
                          "finished yet, or the run already completed); start without --resume")
    return state_dir


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
