"""What a running job tells the outside: status with time left, curves, a reconstruction grid.

`Recorder` is the progress callback `train()` calls. After every step it may write status.json
(at most once a second: step, total, seconds left) and raises `Cancelled` once a cancel was
asked for, so training stops at a step boundary. After every epoch it rewrites curves.json and
grid.png and returns "stop" when a time budget would be overrun by another epoch.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from latentlab.errors import LatentlabError
from latentlab.jobs import store

GRID_IMAGES = 8


class Cancelled(LatentlabError):
    """The job was cancelled; raised from the progress callback at a step boundary."""


class Recorder:
    """Progress callback for one attempt at a job (a run, or a resume after an interruption)."""

    def __init__(self, folder: Path, x_test: torch.Tensor, deadline: float | None = None,
                 should_stop=lambda: False, listener=None, interval: float = 1.0):
        self.folder, self.deadline, self.should_stop = folder, deadline, should_stop
        self.listener, self.interval = listener, interval
        idx = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(0))[:GRID_IMAGES]
        self.x_grid = x_test[idx]
        self.curves = store.read_json(folder / "curves.json", []) or []
        self.t0, self.first_step, self.last_write = time.monotonic(), None, 0.0

    def __call__(self, event: dict):
        if self.listener:
            self.listener(event)
        if event["kind"] == "step":
            return self._step(event)
        return self._epoch(event)

    def _step(self, event: dict) -> None:
        if self.should_stop():
            raise Cancelled("cancelled")
        now = time.monotonic()
        if self.first_step is None:
            self.first_step = (event["step"] - 1, now)
        if now - self.last_write >= self.interval:
            self.last_write = now
            store.set_status(self.folder, phase="training", epoch=event["epoch"] + 1,
                             step=event["step"], total=event["total"],
                             seconds_left=self.seconds_left(event["step"], event["total"]))

    def seconds_left(self, step: int, total: int) -> float | None:
        """Remaining steps at this attempt's pace so far (evaluation time included once an epoch
        has passed), capped by the time budget."""
        if self.first_step is None or step <= self.first_step[0]:
            return None
        done, since = step - self.first_step[0], time.monotonic() - self.first_step[1]
        left = (total - step) * since / done
        if self.deadline is not None:
            left = min(left, max(0.0, self.deadline - time.time()))
        return round(left, 1)

    def _epoch(self, event: dict):
        record = {k: v for k, v in event.items() if k not in ("kind", "model", "kl_per_dim")}
        self.curves = [c for c in self.curves if c["epoch"] < record["epoch"]] + [record]
        store.write_json(self.folder / "curves.json", self.curves)
        self._draw(event["model"])
        store.log(self.folder, "epoch {epoch}: train loss {train_loss:.4g}, test mse {mse:.4g}".format(**record))
        if self.should_stop():
            raise Cancelled("cancelled")
        store.set_status(self.folder, phase="training", epochs_done=record["epoch"])
        if self.deadline is not None and self.curves:
            per_epoch = max(c["seconds"] for c in self.curves[-3:])
            if time.time() + per_epoch > self.deadline + 0.25 * per_epoch:
                store.log(self.folder, f"time budget reached after epoch {record['epoch']}")
                return "stop"
        return None

    @torch.inference_mode()
    def _draw(self, model) -> None:
        """grid.png: the fixed test images (top row) over their reconstructions."""
        from latentlab.render import png, save_png

        device = next(iter(model.parameters()), torch.zeros(())).device
        recon = model.reconstruct(self.x_grid.to(device)).cpu()
        save_png(png(torch.cat([self.x_grid, recon]), ncol=len(self.x_grid), px=64), self.folder / "grid.png")
