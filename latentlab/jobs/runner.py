"""The queue: one job at a time, first queued first run, in a process of its own.

`ensure_runner()` starts `python -m latentlab.jobs.runner` in a new session (so it outlives the
Streamlit server that started it and the browser tab) unless one is already running. The runner
holds an flock on `.runner.lock` for its whole life, which is how others know it is alive (the
kernel drops the lock when it dies, even by kill -9). It claims the oldest queued job, runs it in
a worker process (`latentlab.jobs.worker`), marks it interrupted if the worker died without a
final status, and exits when the queue is empty. A job still running from an earlier runner
(an orphaned worker) is waited for, never run beside.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from latentlab.jobs import store

POLL_SECONDS = 0.5


def _runner_lock():
    root = store.jobs_root()
    root.mkdir(parents=True, exist_ok=True)
    return open(root / ".runner.lock", "a")


def runner_alive() -> bool:
    with _runner_lock() as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def ensure_runner() -> None:
    """Start the queue runner if queued jobs wait and none is running (two racing starters are
    harmless: the second runner finds the lock taken and exits)."""
    if not any(store.status(store.jobs_root() / j).get("state") == store.QUEUED for j in store.all_ids()):
        return
    if runner_alive():
        return
    log = open(store.jobs_root() / "runner.log", "a")
    subprocess.Popen([sys.executable, "-m", "latentlab.jobs.runner"], stdin=subprocess.DEVNULL,
                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=_package_parent(),
                     env={**os.environ, "LATENTLAB_HOME": str(store.home())})
    log.close()


def _package_parent() -> str:
    return str(Path(__file__).resolve().parents[2])


def recover() -> None:
    """Mark running jobs whose process is gone as interrupted (call under store.locked())."""
    for job_id in store.all_ids():
        folder = store.jobs_root() / job_id
        st = store.status(folder)
        if st.get("state") != store.RUNNING:
            continue
        owner_alive = store.is_alive(st.get("pid"), st.get("pid_start")) or (
            not st.get("pid") and store.is_alive(st.get("runner_pid"), st.get("runner_start")))
        if not owner_alive:
            store.set_status(folder, state=store.INTERRUPTED, phase="done",
                             message="the training process stopped unexpectedly; Resume continues "
                                     "from the last complete epoch")
            store.log(folder, "interrupted: its process is gone")


def _claim() -> tuple[Path | None, bool]:
    """(the oldest queued job, now marked running; or None) and whether another job still runs."""
    with store.locked():
        recover()
        jobs = [(store.status(store.jobs_root() / j), j) for j in store.all_ids()]
        if any(st.get("state") == store.RUNNING for st, _ in jobs):
            return None, True
        queued = sorted((st.get("queued_at", 0), j) for st, j in jobs if st.get("state") == store.QUEUED)
        if not queued:
            return None, False
        folder = store.jobs_root() / queued[0][1]
        store.set_status(folder, state=store.RUNNING, phase="starting", pid=None, pid_start=None,
                         runner_pid=os.getpid(), runner_start=store.process_start(os.getpid()))
        return folder, False


def run_one(folder: Path) -> int:
    with open(folder / "worker.log", "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "latentlab.jobs.worker", str(folder)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=_package_parent())
        code = proc.wait()
    with store.locked():
        if store.status(folder).get("state") == store.RUNNING:
            store.set_status(folder, state=store.INTERRUPTED, phase="done",
                             message=f"the training process ended without a result (exit code {code}); "
                                     "Resume continues from the last complete epoch")
            store.log(folder, f"interrupted: worker exit code {code}")
    return code


def main() -> int:
    with _runner_lock() as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another runner has the queue
        while True:
            folder, busy = _claim()
            if folder is not None:
                run_one(folder)
            elif busy:
                time.sleep(POLL_SECONDS)
            else:
                return 0


if __name__ == "__main__":
    sys.exit(main())
