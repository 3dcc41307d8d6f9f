"""The job API the Train page and the CLI call: submit, list, status, curves, cancel, resume,
continue. Every call returns plain values; none holds a model or blocks on training.
"""

from __future__ import annotations

import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from latentlab import checkpoint
from latentlab.atomic import clean_leftovers, temp_dir
from latentlab.config import TrainConfig
from latentlab.datasets import EMBEDDED
from latentlab.errors import LatentlabError
from latentlab.jobs import runner, spec, store, uploads
from latentlab.jobs.store import JobError


def checkpoint_root() -> Path:
    """Where finished jobs publish: the user's checkpoint root (latentlab.checkpoint.user_root)."""
    return checkpoint.user_root()


def operator_folders() -> dict[str, Path]:
    """Server folders the operator allowed as training data (latentlab.sources: LATENTLAB_DATA_DIRS):
    key -> folder. A browser only ever sends a key from this list, never a path."""
    from latentlab.sources import allowed_dirs

    uploads = store.uploads_root().resolve()
    return {p.name: p for p in allowed_dirs() if p != uploads and p.is_dir()}


@dataclass
class JobView:
    """One job as the page shows it. seconds_left is None until the pace is known."""

    id: str
    name: str
    state: str
    phase: str = ""
    message: str = ""
    data: str = ""
    family: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total: int = 0
    seconds_left: float | None = None
    queued_at: float = 0.0
    checkpoint: str | None = None
    position: int | None = None  # place in the queue (0 = next), queued jobs only

    @property
    def resumable(self) -> bool:
        return self.state in store.RESUMABLE


def submit(request: spec.Request, images: list[tuple[str, bytes]] | None = None, *, size: int = 64,
           channels: int = 3, fit: str = "crop") -> str:
    """Validate a request, store it as a queued job and make sure the queue runs; returns the id.

    `images` (file name, bytes) are the uploads when request.data == "upload"; one .zip item is
    unpacked. Raises one LatentlabError with a clear message; then nothing is left behind."""
    root = store.jobs_root()
    root.mkdir(parents=True, exist_ok=True)
    spec.check_name(request.name, checkpoint_root())
    spec.check_request(request)
    job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    staging = temp_dir(root, job_id)
    try:
        cfg, summary = _data_config(request, images, staging, root / job_id, size, channels, fit)
        job = {"train": cfg.to_dict(), "minutes": request.minutes, "data_summary": summary,
               "publish_to": str(checkpoint_root()), "replace": False, "created": time.time()}
        return _enqueue(staging, job_id, job, request.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _data_config(request, images, staging: Path, final: Path, size, channels, fit):
    """(TrainConfig, a sentence about the data) for the request's data choice."""
    data = request.data
    if data in EMBEDDED:
        from latentlab.datasets import load_dataset

        options = spec.defaults(data, request.family)["data_options"]
        ds = load_dataset(data, **options)
        return _checked(request, data, options, ds.shape, len(ds.x_train)), ds.description or data
    if data == "upload":
        if not images:
            raise JobError("no images uploaded: add image files or one zip of images")
        found = uploads.store_images(images, staging / "data", size=size, channels=channels, fit=fit)
    elif data.startswith("folder:"):
        folder = operator_folders().get(data.split(":", 1)[1])
        if folder is None:
            raise JobError(f"{data!r} is not one of the folders the operator allowed")
        found = uploads.store_images(uploads.folder_items(folder), staging / "data", size=size,
                                     channels=channels, fit=fit)
    else:
        raise JobError(f"unknown data {data!r}: a built-in dataset ({', '.join(EMBEDDED)}), "
                       "'upload' or an allowed folder")
    options = {"path": str(store.uploads_root() / final.name), "size": size, "channels": channels}
    n_train = found.count - int(round(found.count * 0.2))
    return _checked(request, "folder", options, (channels, size, size), n_train), found.summary()


def _checked(request, data_name, options, shape, n_train) -> TrainConfig:
    cfg = spec.train_config(request, data_name, options, n_train)
    spec.check_model(cfg, shape)
    return cfg


def _enqueue(staging: Path, job_id: str, job: dict, name: str | None) -> str:
    store.write_json(staging / "config.json", job)
    store.write_json(staging / "status.json", {"state": store.QUEUED, "queued_at": time.time()})
    with store.locked():
        if name is not None:
            spec.check_name(name, checkpoint_root())  # again, now that no other submit can race us
        if (staging / "data").is_dir():  # uploaded images go where latentlab.sources allows them
            store.uploads_root().mkdir(parents=True, exist_ok=True)
            os.rename(staging / "data", store.uploads_root() / job_id)
        os.rename(staging, store.jobs_root() / job_id)
    store.log(store.jobs_root() / job_id, f"queued: {job['train']['name']}")
    runner.ensure_runner()
    return job_id


def submit_config(cfg: TrainConfig, publish_to: Path, *, replace: bool = False, start: dict | None = None,
                  queue: bool = True, minutes: float | None = None) -> str:
    """A job from a ready TrainConfig (the CLI, Continue). queue=False leaves it for the caller
    to run in the foreground (state 'running' is set by the worker code)."""
    root = store.jobs_root()
    root.mkdir(parents=True, exist_ok=True)
    job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    staging = temp_dir(root, job_id)
    job = {"train": cfg.to_dict(), "minutes": minutes, "start": start, "data_summary": cfg.data.name,
           "publish_to": str(Path(publish_to).resolve()), "replace": replace, "created": time.time()}
    try:
        if not queue:
            store.write_json(staging / "config.json", job)
            store.write_json(staging / "status.json", {"state": store.RUNNING, "queued_at": time.time(),
                                                       "pid": os.getpid(),
                                                       "pid_start": store.process_start(os.getpid())})
            os.rename(staging, root / job_id)
            return job_id
        return _enqueue(staging, job_id, job, None if replace else cfg.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def continue_training(ref, epochs: int, name: str) -> str:
    """Queue N more epochs of an existing checkpoint (zoo name or folder) as a new checkpoint
    `name`; the source is never modified."""
    model = checkpoint.load(ref)
    record = model.info.training
    if "config" not in record:
        raise JobError(f"{model.info.name} has no training config in training.json, so it cannot be continued")
    if model.closed_form:
        raise JobError(f"{model.info.name} is a {model.label}, fitted in closed form: more epochs change nothing")
    spec.budget(spec.Request(name, "", "", 1, epochs=epochs))
    spec.check_name(name, checkpoint_root())
    raw = {**record["config"], "name": name, "epochs": epochs}
    cfg = TrainConfig.from_dict(raw)
    done = len(record.get("history", []))
    n_train = len(_dataset_of(model).x_train)
    step = done * math.ceil(n_train / record["config"]["batch_size"])
    return submit_config(cfg, checkpoint_root(), start={"checkpoint": str(model.info.path), "step": step})


def _dataset_of(model):
    from latentlab.zoo import dataset_of

    return dataset_of(model)


def list_jobs() -> list[JobView]:
    """Every job, newest first; running jobs whose process is gone are marked interrupted, and
    the queue runner is restarted if jobs wait (a new server finds the queue where it was)."""
    with store.locked():
        runner.recover()
        clean_leftovers(store.jobs_root())  # staging folders of submits that were killed
    runner.ensure_runner()
    views = [get(j) for j in store.all_ids()]
    queued = sorted((v for v in views if v.state == store.QUEUED), key=lambda v: v.queued_at)
    for i, v in enumerate(queued):
        v.position = i
    return sorted(views, key=lambda v: v.id, reverse=True)


def get(job_id: str) -> JobView:
    folder = store.job_dir(job_id)
    job = store.read_json(folder / "config.json")
    st = store.status(folder)
    cfg = job["train"]
    return JobView(job_id, cfg["name"], st.get("state", "unknown"), st.get("phase", ""), st.get("message", ""),
                   job.get("data_summary", ""), cfg["model"]["family"], st.get("epoch", 0),
                   st.get("epochs", cfg["epochs"]), st.get("step", 0), st.get("total", 0),
                   st.get("seconds_left"), st.get("queued_at", 0.0), st.get("checkpoint"))


def curves(job_id: str) -> list[dict]:
    """One row per finished epoch: epoch, seconds, train_loss and train_<term> for each loss
    term, and the test metrics (mse, bce, psnr; VAEs also neg_elbo, kl, active_units)."""
    return store.read_json(store.job_dir(job_id) / "curves.json", []) or []


def grid(job_id: str) -> bytes | None:
    """PNG bytes of the latest reconstruction grid (test images over reconstructions)."""
    path = store.job_dir(job_id) / "grid.png"
    return path.read_bytes() if path.exists() else None


def log_tail(job_id: str, lines: int = 20) -> list[str]:
    path = store.job_dir(job_id) / "log.txt"
    return path.read_text().splitlines()[-lines:] if path.exists() else []


def cancel(job_id: str) -> str:
    """Cancel a queued job at once, or ask a running one to stop at its next step (SIGTERM);
    returns the state it had. Finished jobs cannot be cancelled."""
    import signal

    folder = store.job_dir(job_id)
    with store.locked():
        st = store.status(folder)
        state = st.get("state")
        if state == store.QUEUED:
            store.set_status(folder, state=store.CANCELLED, phase="done", message="cancelled before it started")
        elif state == store.RUNNING:
            store.set_status(folder, cancel_requested=True, message="cancelling…")
            if store.is_alive(st.get("pid"), st.get("pid_start")):
                os.kill(st["pid"], signal.SIGTERM)
        else:
            raise JobError(f"job {job_id} is {state}; only queued or running jobs can be cancelled")
    store.log(folder, "cancel requested")
    return state


def resume(job_id: str) -> None:
    """Queue a cancelled or interrupted job again; it continues from its last complete epoch."""
    folder = store.job_dir(job_id)
    with store.locked():
        runner.recover()
        state = store.status(folder).get("state")
        if state not in store.RESUMABLE:
            raise JobError(f"job {job_id} is {state}; only cancelled or interrupted jobs can be resumed")
        store.set_status(folder, state=store.QUEUED, phase="", queued_at=time.time(), cancel_requested=False,
                         message="resumed: continues from its last complete epoch", pid=None, pid_start=None)
    store.log(folder, "resume requested")
    runner.ensure_runner()


__all__ = ["JobView", "LatentlabError", "cancel", "checkpoint_root", "continue_training", "curves", "get",
           "grid", "list_jobs", "log_tail", "operator_folders", "resume", "submit", "submit_config"]
