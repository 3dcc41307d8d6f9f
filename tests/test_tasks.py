"""Background tasks: a child process per task, progress read back, Cancel really stops it."""

import time

import pytest

from latentlab.ui import tasks


def _until(key: str, states: set[str], timeout: float = 60.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        state = tasks.state(key)
        if state in states:
            return state
        time.sleep(0.05)
    raise AssertionError(f"task {key} still {tasks.state(key)} after {timeout} s")


def test_a_task_reports_progress_and_finishes(tmp_path):
    out = tmp_path / "out.txt"
    key = f"count-{tmp_path.name}"
    task = tasks.start(key, "task_functions:count", {"seconds": 1.0, "out": str(out)}, "counting")
    assert tasks.start(key, "task_functions:count", {"seconds": 1.0, "out": str(out)}, "counting") is task
    fractions = set()
    while tasks.state(key) == "running":
        fractions.add(task.status().get("fraction"))
        time.sleep(0.05)
    assert tasks.state(key) == "done" and out.read_text() == "finished"
    assert any(0 < f < 1 for f in fractions if f is not None), fractions
    tasks.forget(key)


def test_cancel_stops_the_child_before_it_finishes(tmp_path):
    out = tmp_path / "out.txt"
    key = f"slow-{tmp_path.name}"
    task = tasks.start(key, "task_functions:count", {"seconds": 30.0, "out": str(out)}, "counting")
    _until(key, {"running"})
    time.sleep(1.0)
    tasks.cancel(key)
    assert tasks.state(key) == "cancelled" and not task.process.is_alive()
    assert not out.exists()
    tasks.forget(key)
    assert tasks.state(key) is None


@pytest.mark.parametrize("target,message", [("task_functions:boom", "was not what it claimed"),
                                            ("task_functions:missing", "AttributeError")])
def test_a_failing_task_says_why(tmp_path, target, message):
    key = f"fail-{tmp_path.name}"
    tasks.start(key, target, {}, "failing")
    assert _until(key, {"failed"}) == "failed"
    assert message in tasks._TASKS[key].status()["error"]
    tasks.forget(key)
