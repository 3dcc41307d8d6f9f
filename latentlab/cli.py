"""`python -m latentlab`: train, jobs, eval, list, reconstruct, sample, replay.

Errors a user can cause (unknown dataset or checkpoint, bad config values, missing files) print
one line to stderr and exit with status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from latentlab import limits
from latentlab.errors import ConfigError, LatentlabError
from latentlab.limits import check_int


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return args.run(args)
    except _UsageError as exc:
        return _fail(f"{exc} (see --help)")
    except LatentlabError as exc:
        return _fail(str(exc))
    except OSError as exc:  # the file system said no: unreadable, read-only, full, ...
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        print("latentlab: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    """One line on stderr, exit status 2."""
    print(f"latentlab: error: {_printable(message)}", file=sys.stderr)
    return 2


def _printable(text: str) -> str:
    """`text` on one line: control characters (newlines, NUL, escapes) of user input escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class _UsageError(Exception):
    """A command-line mistake argparse found."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line and exit 2 (argparse prints the usage block too)."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m latentlab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(required=True, metavar="command")
    t = sub.add_parser("train", help="train a model from a JSON config")
    t.add_argument("--config", required=True, help="path to a training config (JSON)")
    t.add_argument("--out", default=None, help="folder to write the checkpoint in (default: your own "
                   "checkpoints, $LATENTLAB_HOME/checkpoints; the shipped zoo is built with --out checkpoints)")
    t.add_argument("--resume", action="store_true", help="continue from the last finished epoch")
    t.add_argument("--overwrite", action="store_true",
                   help="replace an existing checkpoint of the same name (default: refuse, keep it)")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: config or all)")
    t.add_argument("--detach", action="store_true", help="queue it as a background job and return "
                   "(see `jobs`); default: run here with a progress bar")
    t.set_defaults(run=_train)
    from latentlab.jobs.cli import add_jobs_command

    add_jobs_command(sub)
    e = sub.add_parser("eval", help="test metrics of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--json", action="store_true")
    e.set_defaults(run=_eval)
    ls = sub.add_parser("list", help="the model zoo")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=_list)
    for name, helptext in (("reconstruct", "PNG grid: test images over their reconstructions"),
                           ("sample", "PNG grid of samples from the prior")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("checkpoint")
        q.add_argument("--out", required=True, help="PNG file to write")
        q.add_argument("-n", type=int, default=32, help="number of images")
        q.add_argument("--seed", type=int, default=0)
        q.set_defaults(run=_reconstruct if name == "reconstruct" else _sample)
    r = sub.add_parser("replay", help="turn a state file exported from the app back into its image")
    r.add_argument("state", help="the .json state file (Download → state)")
    r.add_argument("--out", required=True, help="PNG file to write")
    r.add_argument("--checkpoint", default=None, help="load this checkpoint (name or folder) instead of the one named in the file")
    r.set_defaults(run=_replay)
    return p


def checkpoint_ref(text: str):
    """A CLI argument naming a folder that exists is a path; anything else is a zoo name."""
    if "\x00" in text:
        raise ConfigError(f"checkpoint {text!r}: a name or path cannot contain a NUL character")
    return Path(text) if os.sep in text and Path(text).is_dir() else text


def _out_folder(text: str | None) -> str | None:
    """--out of `train`: a folder (made if missing), never an existing file."""
    if text is not None:
        if "\x00" in text:
            raise ConfigError("--out cannot contain a NUL character")
        if Path(text).exists() and not Path(text).is_dir():
            raise ConfigError(f"--out {text} is a file; it must be a folder for the checkpoint")
    return text


def _train(args) -> int:
    """One job, run here (tqdm bar) or queued (--detach); under torchrun every rank trains and
    rank 0 writes the checkpoint into --out directly (job folders are a single-machine thing)."""
    import torch

    from latentlab.config import TrainConfig

    cfg = TrainConfig.from_json(args.config)
    args.out = _out_folder(args.out)
    if args.threads is not None:
        cfg.threads = check_int(args.threads, "--threads", limits.THREADS)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return _train_distributed(cfg, args)
    from latentlab.jobs.cli import run_train_job

    bar = _ProgressBar(cfg.name)
    try:
        state, message, path = run_train_job(cfg, args.out, args.resume, args.detach, bar, args.overwrite)
    finally:
        bar.close()
    if state != "completed":
        print(f"latentlab: training {state}: {message}", file=sys.stderr)
        return 1
    if path is None:  # --detach
        print(message)
        return 0
    m = json.loads((path / "training.json").read_text())["test_metrics"]
    print(f"{cfg.name}: test mse {m['mse']:.4f}  psnr {m['psnr']:.2f} dB -> {path}"
          f" (threads={torch.get_num_threads()})")
    return 0


def _train_distributed(cfg, args) -> int:
    from latentlab.train import train

    rank0 = os.environ.get("RANK", "0") == "0"
    bar = _ProgressBar(cfg.name) if rank0 else None
    result = train(cfg, out_dir=args.out, progress=bar, resume=args.resume, overwrite=args.overwrite)
    if bar:
        bar.close()
    if result.status != "completed":
        print(f"latentlab: training {result.status}: {result.message}; no checkpoint written", file=sys.stderr)
        return 1
    if rank0:
        print(f"{cfg.name}: test mse {result.test_metrics['mse']:.4f} -> {result.path} "
              f"({os.environ['WORLD_SIZE']} processes)")
    return 0


class _ProgressBar:
    """tqdm over optimisation steps, with the loss and per-epoch test MSE in the postfix."""

    def __init__(self, name: str):
        self.name, self.bar = name, None

    def __call__(self, event: dict) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=event.get("total", 0), desc=self.name, unit="step",
                            mininterval=1.0, file=sys.stderr)
        if event["kind"] == "step":
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event['loss']:.3f}", refresh=False)
        else:
            self.bar.write(f"epoch {event['epoch']}: train loss {event['train_loss']:.3f}, "
                           f"test mse {event['mse']:.4f}, psnr {event['psnr']:.2f} dB")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _eval(args) -> int:
    from latentlab.zoo import METRICS, evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint_ref(args.checkpoint))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            if key in METRICS:
                label, shown = METRICS[key].label, METRICS[key].format(value)
            else:
                label, shown = key, f"{value:.4f}" if isinstance(value, float) else value
            print(f"{label:>14}  {shown}")
    return 0


def _list(args) -> int:
    from latentlab.zoo import METRICS, zoo_table

    rows, problems = zoo_table()
    for problem in problems:
        print(f"latentlab: skipped {_printable(str(problem))}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    mse = METRICS["mse"]
    print(f"{'name':<16} {'dataset':<8} {'family':<14} {'latent':>6} {mse.label:>9} {'MB':>5}  root")
    for r in rows:
        print(f"{r['name']:<16} {r['dataset']:<8} {r['label']:<14} {r['latent_dim']:>6} "
              f"{mse.format(r['metrics'].get('mse')):>9} {r['size_mb']:>5.2f}  {r['root']}")
    return 0


def _reconstruct(args) -> int:
    from latentlab.render import save_png
    from latentlab.zoo import check_png_path, reconstruction_grid

    check_png_path(args.out)
    check_int(args.seed, "--seed", limits.SEED)
    grid = reconstruction_grid(checkpoint_ref(args.checkpoint), n=args.n, seed=args.seed)
    save_png(grid, args.out)
    print(f"wrote {args.out}")
    return 0


def _sample(args) -> int:
    from latentlab.render import save_png
    from latentlab.zoo import check_png_path, sample_grid

    check_png_path(args.out)
    check_int(args.seed, "--seed", limits.SEED)
    grid = sample_grid(checkpoint_ref(args.checkpoint), n=args.n, seed=args.seed)
    save_png(grid, args.out)
    print(f"wrote {args.out}")
    return 0


def _replay(args) -> int:
    from latentlab.replay import replay

    ref = checkpoint_ref(args.checkpoint) if args.checkpoint else None
    print(f"wrote {replay(args.state, args.out, ref)}")
    return 0
