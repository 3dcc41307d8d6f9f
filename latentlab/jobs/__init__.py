"""Training jobs: a folder per job, run one at a time by a queue in processes of their own.

The Train page and `python -m latentlab train` drive the same code:

    from latentlab import jobs
    job_id = jobs.submit(jobs.Request("my_vae", "mnist", "vae", 16, args={"beta": 2.0}, epochs=5))
    jobs.list_jobs()        # JobView per job: state, epoch/epochs, step/total, seconds_left, ...
    jobs.curves(job_id)     # per-epoch train loss terms and test metrics
    jobs.grid(job_id)       # PNG bytes: test images over their reconstructions, latest epoch
    jobs.cancel(job_id); jobs.resume(job_id)
    jobs.continue_training("mnist_vae", epochs=5, name="mnist_vae_more")

See store.py for the folder layout, runner.py for the queue and worker.py for one job's life.
Names are imported on first use, so the queue runner (which needs only store.py) starts without
importing torch.
"""

import importlib

_API = ("JobView", "cancel", "checkpoint_root", "continue_training", "curves", "get", "grid",
        "list_jobs", "log_tail", "operator_folders", "resume", "submit", "submit_config")
_SPEC = ("Arg", "Request", "datasets", "defaults", "families")


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module("latentlab.jobs.api"), name)
    if name in _SPEC:
        return getattr(importlib.import_module("latentlab.jobs.spec"), name)
    if name == "JobError":
        from latentlab.jobs.store import JobError

        return JobError
    raise AttributeError(f"module 'latentlab.jobs' has no attribute {name!r}")


__all__ = ["JobError", *_API, *_SPEC]
