"""The command-line side of jobs: `python -m latentlab train` runs one job in the foreground
(the page's code path, with a tqdm bar) and `python -m latentlab jobs` lists, cancels, resumes."""

from __future__ import annotations

import time
from pathlib import Path


def run_train_job(cfg, out, resume: bool, detach: bool, listener,
                  overwrite: bool = False) -> tuple[str, str, Path | None]:
    """(final state, message, checkpoint path or None) of a CLI training run.

    The data and model are checked first (a bad config writes nothing); --resume picks up the
    newest cancelled or interrupted job of the same config and destination."""
    from latentlab import checkpoint
    from latentlab.datasets import load_dataset
    from latentlab.errors import ConfigError
    from latentlab.jobs import api, spec, store
    from latentlab.jobs.worker import run_job

    data = load_dataset(cfg.data.name, **cfg.data.options)
    spec.check_model(cfg, data.shape)
    publish_to = Path(out) if out is not None else checkpoint.user_root()
    checkpoint.check_writable(publish_to / cfg.name, overwrite)  # refused before any training
    folder = _resumable(cfg, publish_to) if resume else None
    if resume and folder is None:
        raise ConfigError(f"cannot resume {cfg.name}: no cancelled or interrupted job of this config "
                          f"for {publish_to}; start without --resume")
    if detach:
        job_id = api.submit_config(cfg, publish_to, replace=overwrite)
        return "completed", f"queued job {job_id} (python -m latentlab jobs)", None
    if folder is None:
        folder = store.jobs_root() / api.submit_config(cfg, publish_to, replace=overwrite, queue=False)
    state = run_job(folder, listener=listener)
    st = store.status(folder)
    return state, st.get("message", ""), Path(st["checkpoint"]) if st.get("checkpoint") else None


def _resumable(cfg, publish_to: Path) -> Path | None:
    from latentlab.jobs import runner, store

    with store.locked():
        runner.recover()
        for job_id in reversed(store.all_ids()):
            folder = store.jobs_root() / job_id
            job = store.read_json(folder / "config.json", {})
            if (job.get("train") == cfg.to_dict() and job.get("publish_to") == str(publish_to.resolve())
                    and store.status(folder).get("state") in store.RESUMABLE):
                store.log(folder, "resumed from the command line")
                return folder
    return None


def add_jobs_command(sub) -> None:
    j = sub.add_parser("jobs", help="training jobs: list, cancel ID, resume ID")
    j.add_argument("action", nargs="?", default="list", choices=("list", "cancel", "resume"))
    j.add_argument("job", nargs="?", help="job id (cancel, resume)")
    j.set_defaults(run=_jobs)


def _jobs(args) -> int:
    from latentlab import jobs
    from latentlab.errors import ConfigError

    if args.action != "list":
        if not args.job:
            raise ConfigError(f"jobs {args.action} needs a job id (see `python -m latentlab jobs`)")
        getattr(jobs, args.action)(args.job)
        print(f"{args.action}: {args.job}")
        return 0
    for v in jobs.list_jobs():
        left = f"{v.seconds_left:.0f}s left" if v.seconds_left else ""
        when = time.strftime("%m-%d %H:%M", time.localtime(v.queued_at)) if v.queued_at else ""
        print(f"{v.id}  {v.name:<20} {v.state:<11} epoch {v.epoch}/{v.epochs} {left:<10} {when}  {v.message}")
    return 0
