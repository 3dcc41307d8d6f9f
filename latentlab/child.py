"""The body of a background task's child process (see latentlab.ui.tasks). Kept apart from the
UI so that the spawned child imports neither Streamlit nor, unless its task needs it, torch."""

from __future__ import annotations

import importlib
import json
import os

from latentlab.atomic import atomic_file


def run_child(target: str, kwargs: dict, status_file: str) -> None:
    """Run `module:function(**kwargs, progress=…)`; report progress and the outcome as JSON."""
    def report(**fields) -> None:
        with atomic_file(status_file) as tmp:
            tmp.write_text(json.dumps(fields))

    def progress(fraction: float, message: str = "") -> None:
        report(state="running", fraction=max(0.0, min(1.0, float(fraction))), message=message)

    os.environ["OMP_NUM_THREADS"] = "1"  # beside the server on a shared CPU (read when torch loads)
    try:
        module, name = target.split(":")
        getattr(importlib.import_module(module), name)(progress=progress, **kwargs)
        report(state="done", fraction=1.0, message="done")
    except Exception as exc:  # reported to the page as a message, never a traceback
        report(state="failed", error=f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None
