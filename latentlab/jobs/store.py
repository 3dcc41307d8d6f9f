"""Job folders on disk: where they live, their status, and whether their process is alive.

A job is a folder `<jobs root>/<id>/` holding
  config.json   what to train (a TrainConfig plus the job's own settings), written once
  status.json   state, progress, time left, pid and the pid's start time; rewritten atomically
  curves.json   one row per finished epoch: every train loss term and every test metric
  grid.png      test images over their reconstructions, redrawn after each epoch
  log.txt       human-readable lines, appended
and, when the job trains on uploaded images, `<home>/uploads/<id>/` holds them as PNGs (a
`folder` dataset; kept apart from job folders so only images are an allowed data source).
  out/          train()'s output folder: resume state, then the checkpoint before it is published
Every JSON or PNG write goes through latentlab.atomic, so a reader (the page, a new server) never
sees half of one, whatever kills the writer. Ids sort in submission order (the queue is FIFO).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from latentlab.atomic import atomic_file
from latentlab.errors import LatentlabError

QUEUED, RUNNING = "queued", "running"
COMPLETED, FAILED, DIVERGED, CANCELLED, INTERRUPTED = "completed", "failed", "diverged", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING)
RESUMABLE = (CANCELLED, INTERRUPTED)
FINAL = (COMPLETED, FAILED, DIVERGED, CANCELLED, INTERRUPTED)


class JobError(LatentlabError):
    """A job request or action is refused (bad input, unknown job, wrong state)."""


def home() -> Path:
    """`$LATENTLAB_HOME` (default ~/.latentlab): user checkpoints and jobs live under it."""
    return Path(os.environ.get("LATENTLAB_HOME") or Path.home() / ".latentlab")


def jobs_root() -> Path:
    return home() / "jobs"


def uploads_root() -> Path:
    """Uploaded training images, one folder per job (a data source latentlab.sources allows)."""
    return home() / "uploads"


def job_dir(job_id: str) -> Path:
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise JobError(f"not a job id: {job_id!r}")
    path = jobs_root() / job_id
    if not (path / "config.json").is_file():
        raise JobError(f"no job {job_id!r} under {jobs_root()}")
    return path


def write_json(path: Path, obj) -> None:
    with atomic_file(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=1, allow_nan=False))


def read_json(path: Path, default=None):
    """The JSON in `path`, or `default` when it is missing (atomic writes: never half a file)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def log(folder: Path, line: str) -> None:
    with open(folder / "log.txt", "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


_held = threading.local()


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise status changes across processes (submit, claim, cancel, resume, recover).

    An flock, so a holder killed with -9 releases it with its last file descriptor; re-entrant
    within a thread (a second flock on a new descriptor would wait for ourselves)."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    root = jobs_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            fcntl.flock(fh, fcntl.LOCK_UN)


def status(folder: Path) -> dict:
    return read_json(folder / "status.json", {}) or {}


def set_status(folder: Path, **changes) -> dict:
    """Merge `changes` into status.json (atomically, under the lock, so two writers never lose
    each other's fields) and return the new status."""
    with locked():
        new = {**status(folder), **changes, "updated": time.time()}
        write_json(folder / "status.json", new)
    return new


def all_ids() -> list[str]:
    root = jobs_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if not p.name.startswith(".") and (p / "config.json").is_file())


# -- liveness: a pid is ours only if it also started when we recorded -------------------------
def process_start(pid: int) -> float | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None if there is no
    such process. Pids are reused: comparing this with the recorded value tells our process
    from a stranger that got its number. Without /proc (not Linux) it is 0.0 for any live pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return float(fields[19])  # field 22 of stat(5); the first two end at ")"
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return 0.0


def is_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process recorded as (pid, start time) still runs, and is not a zombie."""
    if not pid or started is None:
        return False
    now = process_start(pid)
    if now is None or now != started:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True
