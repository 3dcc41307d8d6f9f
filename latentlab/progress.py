"""Progress and cancel for long library work (encoding a split, fitting directions, naming dims).

A slow function takes `progress(fraction, message)` (fraction in [0, 1], called from the thread
doing the work) and `should_stop() -> bool`, both optional. It calls `tick` between units of work:
`tick` reports, then raises `Cancelled` if the caller asked to stop, before anything is written.
The app runs such work off the script thread and polls; nothing here knows about Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable

from latentlab.errors import Cancelled

Progress = Callable[[float, str], None] | None
ShouldStop = Callable[[], bool] | None


def tick(progress: Progress, should_stop: ShouldStop, fraction: float, message: str) -> None:
    """Report `fraction` done (clipped to [0, 1]); raise Cancelled if `should_stop()` says so."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)
    if should_stop is not None and should_stop():
        raise Cancelled(f"cancelled at {fraction:.0%}: {message}")


def span(progress: Progress, lo: float, hi: float) -> Progress:
    """A progress callback for a sub-task that fills [lo, hi] of its parent's bar."""
    if progress is None:
        return None
    return lambda f, m: progress(lo + (hi - lo) * min(1.0, max(0.0, f)), m)
