"""Long work off the script thread, with progress and a Cancel button that really stops it.

A task runs a library function in a child process (spawned: no Streamlit, no shared torch
state), which writes its result into latentlab's on-disk caches (latents, maps, scores, keyed by
checkpoint hash). The page draws a progress bar and Cancel in a fragment that polls twice a
second, so the rest of the page never greys out; when the task is done the page reruns and its
cached loader finds the result. Cancel terminates the child: nothing half-written survives,
because every cache file is written atomically. Tasks are shared by every session of the server
(two visitors asking for the same UMAP fit wait on one process).

A task function lives at module level (importable by the child) and takes keyword arguments
plus `progress(fraction, message)`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from latentlab.child import run_child

_LOCK = threading.Lock()
_TASKS: dict[str, _Task] = {}


@dataclass
class _Task:
    label: str
    process: multiprocessing.Process
    status_file: Path
    started: float = field(default_factory=time.monotonic)
    cancelled: bool = False

    def status(self) -> dict:
        """{"state": running|done|failed|cancelled, "fraction", "message", "error"}."""
        try:
            report = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            report = {}
        if self.cancelled:
            return {**report, "state": "cancelled"}
        if self.process.is_alive():
            return {"fraction": 0.0, "message": "starting…", **report, "state": "running"}
        if self.process.exitcode == 0 and report.get("state") == "done":
            return report
        return {"state": "failed", "error": report.get("error") or f"stopped (exit code {self.process.exitcode})"}


def start(key: str, target: str, kwargs: dict, label: str) -> _Task:
    """The task `key`, started now unless it is already running or has succeeded."""
    with _LOCK:
        task = _TASKS.get(key)
        if task is not None and task.status()["state"] in ("running", "done"):
            return task
        fd, path = tempfile.mkstemp(prefix="latentlab-task-", suffix=".json")
        os.close(fd)
        ctx = multiprocessing.get_context("spawn")
        process = ctx.Process(target=run_child, args=(target, kwargs, path), daemon=True, name=f"latentlab {label}")
        process.start()
        _TASKS[key] = task = _Task(label, process, Path(path))
        return task


def cancel(key: str) -> None:
    with _LOCK:
        task = _TASKS.get(key)
    if task is not None and task.process.is_alive():
        task.cancelled = True
        task.process.terminate()
        task.process.join(timeout=5)


def forget(key: str) -> None:
    """Drop a finished, failed or cancelled task so that it can be started again."""
    with _LOCK:
        task = _TASKS.pop(key, None)
    if task is not None:
        task.status_file.unlink(missing_ok=True)


def state(key: str) -> str | None:
    with _LOCK:
        task = _TASKS.get(key)
    return None if task is None else task.status()["state"]


def wait_for(key: str, target: str, kwargs: dict, label: str) -> bool:
    """Run the task (once) and show it: True when it is done, else the page should stop here.

    While it runs: a progress bar, the elapsed time and Cancel, refreshed twice a second. A failed
    or cancelled task shows why, with a button to try again.
    """
    task = start(key, target, kwargs, label)
    if task.status()["state"] == "done":
        return True
    _show(key, label)
    return False


def result(read, key: str, target: str, kwargs: dict, label: str, ask: str = ""):
    """What `read()` finds in the on-disk cache, else None while the task that writes it runs
    (started once, shown as by `wait_for`; the caller stops or draws the rest of the page). With
    `ask` (why the work is long), the task starts only when the user presses a button saying
    `label`. A task that finished without leaving its result (the cache moved since) runs again."""
    found = read()
    if found is not None:
        return found
    if ask and state(key) is None:
        st.info(ask, icon=":material/hourglass_top:")
        if not st.button(label, key=f"start_{key}", icon=":material/play_arrow:"):
            return None
    if wait_for(key, target, kwargs, label):
        found = read()
        if found is None:
            forget(key)
            st.rerun()
    return found


@st.fragment(run_every=0.5)
def _show(key: str, label: str) -> None:
    with _LOCK:
        task = _TASKS.get(key)
    if task is None:
        return
    report = task.status()
    if report["state"] == "done":
        st.rerun(scope="app")
    if report["state"] == "running":
        elapsed = time.monotonic() - task.started
        st.progress(report.get("fraction", 0.0), text=f"{label}: {report.get('message', '')} ({elapsed:.0f} s)")
        st.button("Cancel", icon=":material/cancel:", key=f"cancel_{key}", on_click=cancel, args=(key,))
        return
    what = "cancelled" if report["state"] == "cancelled" else f"failed: {report.get('error')}"
    st.warning(f"{label} {what}", icon=":material/block:")
    if st.button("Try again", icon=":material/refresh:", key=f"retry_{key}"):
        forget(key)
        st.rerun(scope="app")
