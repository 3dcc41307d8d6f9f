"""Run one job to its end: `python -m latentlab.jobs.worker <job folder>` (a process of its own,
started by the queue runner), or `run_job(folder)` in the foreground (the CLI).

The same code path either way: read config.json, plan a time budget, `train()` into the job's
`out/` with a Recorder, then precompute the test latents and PCA map into the checkpoint's
`cache/` and publish the folder into the checkpoint root with one rename. Every stage can be
killed: train() keeps resume state after each epoch and writes its checkpoint atomically, and a
rerun of the job skips whatever is already complete (a staged checkpoint is not trained again).
SIGTERM asks for a cancel: training stops at the next step boundary and nothing is published.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

import torch

from latentlab import atomic, checkpoint
from latentlab.config import TrainConfig
from latentlab.errors import LatentlabError
from latentlab.jobs import store
from latentlab.jobs.recorder import Cancelled, Recorder


class _CancelFlag:
    """Set by SIGTERM (or found in status.json); read at every step boundary."""

    def __init__(self, folder: Path):
        self.folder, self.set = folder, False

    def __call__(self) -> bool:
        return self.set

    def on_signal(self, signum, frame) -> None:
        self.set = True

    def check_file(self) -> bool:
        self.set = self.set or bool(store.status(self.folder).get("cancel_requested"))
        return self.set


def run_job(folder: Path, listener=None) -> str:
    """Run (or continue) the job in `folder`; returns its final state."""
    flag = _CancelFlag(folder)
    if threading_main():
        signal.signal(signal.SIGTERM, flag.on_signal)
    with store.locked():
        store.set_status(folder, state=store.RUNNING, phase="starting", pid=os.getpid(),
                         pid_start=store.process_start(os.getpid()), started=time.time(), message="")
    store.log(folder, f"worker {os.getpid()} started")
    try:
        state, message = _run(folder, flag, listener)
    except Cancelled:
        state, message = store.CANCELLED, "cancelled; no checkpoint written"
    except LatentlabError as exc:
        state, message = store.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - a job must end with a status, whatever went wrong
        store.log(folder, traceback.format_exc())
        state, message = store.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    with store.locked():
        store.set_status(folder, state=state, phase="done", message=message, finished=time.time(),
                         seconds_left=0.0 if state == store.COMPLETED else None)
    store.log(folder, f"{state}: {message}")
    return state


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _run(folder: Path, flag: _CancelFlag, listener) -> tuple[str, str]:
    job = store.read_json(folder / "config.json")
    cfg = TrainConfig.from_dict(job["train"])
    staged = folder / "out" / cfg.name
    published = store.status(folder).get("publishing")
    if published and not staged.exists() and (Path(published) / "model.safetensors").exists():
        # killed after the rename that published it, before the status said so: it is done
        store.set_status(folder, checkpoint=published)
        return store.COMPLETED, f"checkpoint {Path(published).name} written to {Path(published).parent}"
    if not (staged / "model.safetensors").exists():  # not trained yet (or killed before saving)
        status, message = _train(folder, job, cfg, flag, listener)
        if status != store.COMPLETED:
            return status, message
    if flag.check_file():
        raise Cancelled("cancelled")
    store.set_status(folder, phase="precomputing")
    precompute(staged)
    if flag.check_file():
        raise Cancelled("cancelled")
    store.set_status(folder, publishing=str(Path(job["publish_to"]) / staged.name))
    target = publish(staged, Path(job["publish_to"]), replace=job.get("replace", False))
    store.set_status(folder, checkpoint=str(target))
    return store.COMPLETED, f"checkpoint {target.name} written to {target.parent}"


def _train(folder: Path, job: dict, cfg: TrainConfig, flag: _CancelFlag, listener) -> tuple[str, str]:
    from latentlab.datasets import load_dataset
    from latentlab.train import train

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = load_dataset(cfg.data.name, **cfg.data.options)
    if flag.check_file():
        raise Cancelled("cancelled")
    cfg.epochs, deadline = plan_budget(folder, job, cfg, data)
    store.set_status(folder, phase="training", epochs=cfg.epochs)
    rec = Recorder(folder, data.x_test, deadline, flag, listener)
    state = folder / "out" / f".{cfg.name}.resume"
    resume = (state / "state.json").exists() or atomic.recover(state)  # a rerun continues its epochs
    result = train(cfg, out_dir=folder / "out", progress=rec, resume=resume, data=data, start=_start(job))
    if result.status != "completed":
        return (store.DIVERGED if result.status == "diverged" else store.FAILED), \
            f"{result.message}; no checkpoint written"
    return store.COMPLETED, ""


def _start(job: dict):
    """Where a continued model starts: the source checkpoint's weights and its last step."""
    from latentlab.train import Start

    src = job.get("start")
    if not src:
        return None
    model = checkpoint.load(Path(src["checkpoint"]))
    return Start({k: v.clone() for k, v in model.state_dict().items()}, int(src.get("step", 0)))


def plan_budget(folder: Path, job: dict, cfg: TrainConfig, data) -> tuple[int, float | None]:
    """(epochs, deadline as a time.time() or None). A minutes budget is planned once, from a
    timing of a few steps, and kept in plan.json so a resumed job follows the same schedule."""
    minutes = job.get("minutes")
    if not minutes:
        return cfg.epochs, None
    plan = store.read_json(folder / "plan.json")
    if plan is None:
        per_epoch = epoch_seconds(cfg, data)
        epochs = max(1, min(cfg.epochs, int(0.9 * minutes * 60 // per_epoch)))
        plan = {"epochs": epochs, "epoch_seconds": round(per_epoch, 2), "deadline": time.time() + minutes * 60}
        store.write_json(folder / "plan.json", plan)
        store.log(folder, f"{minutes:g} min budget: {epochs} epochs at ~{per_epoch:.1f} s each")
    return plan["epochs"], plan["deadline"]


def epoch_seconds(cfg: TrainConfig, data, steps: int = 12) -> float:
    """Estimated seconds per epoch (training and test evaluation) from a throwaway model."""
    import math

    from latentlab.models import Batch
    from latentlab.train import build_for

    model = build_for(cfg, data)
    opts = model.make_optimizers(cfg.lr, cfg.weight_decay)
    batch = Batch(data.x_train[:cfg.batch_size], torch.arange(min(cfg.batch_size, len(data.x_train))))
    model.train_step(batch, 0, opts)
    t0 = time.perf_counter()
    for step in range(steps):
        model.train_step(batch, step, opts)
    per_step = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    model.eval().evaluate(data.x_test, cfg.eval_batch_size)
    return math.ceil(data.epoch_size / cfg.batch_size) * per_step + time.perf_counter() - t0


def precompute(path: Path) -> None:
    """The test latents and PCA map into `path/cache`, keyed by the checkpoint's hash."""
    from latentlab.latent.cache import encode_split, latent_map

    model = checkpoint.load(Path(path))
    encode_split(model, "test", write_to=path / "cache")
    latent_map(model, "pca", "test", write_to=path / "cache")


def publish(staged: Path, root: Path, replace: bool = False) -> Path:
    """Move a complete checkpoint folder into `root` in one rename (latentlab.atomic.swap_in),
    so the app lists it whole or not at all. An existing name is kept unless `replace`."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / staged.name
    checkpoint.check_writable(target, replace)
    if not _same_device(staged, root):  # a rename cannot cross file systems: copy beside it first
        tmp = atomic.temp_dir(root, staged.name)
        shutil.copytree(staged, tmp, dirs_exist_ok=True)
        shutil.rmtree(staged)
        staged = tmp
    if not atomic.swap_in(staged, target, replace=replace):
        raise LatentlabError(f"a checkpoint named {target.name!r} appeared in {root} while this job "
                             f"ran; it was kept, and the new one stays in {staged}")
    shutil.rmtree(staged, ignore_errors=True)  # the replaced old folder, if any
    return target


def _same_device(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


if __name__ == "__main__":
    from latentlab.jobs.runner import ensure_runner

    final = run_job(Path(sys.argv[1]).resolve())
    ensure_runner()  # if the runner that started us died meanwhile, the queue goes on anyway
    sys.exit(0 if final == store.COMPLETED else 1)
