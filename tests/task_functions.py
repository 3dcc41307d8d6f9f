"""Module-level functions that tests/test_tasks.py runs as background tasks (a spawned child
process imports them by name)."""

import time
from pathlib import Path


def count(progress, seconds: float, out: str) -> None:
    steps = 20
    for i in range(steps):
        time.sleep(seconds / steps)
        progress((i + 1) / steps, f"step {i + 1}")
    Path(out).write_text("finished")


def boom(progress) -> None:
    progress(0.5, "half way")
    raise ValueError("the data was not what it claimed")
