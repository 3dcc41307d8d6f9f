"""`python -m latentlab`: train, eval, list, reconstruct, sample, replay.

Errors a user can cause (unknown dataset or checkpoint, bad config values, missing files) print
one line to stderr and exit with status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from latentlab.errors import LatentlabError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except LatentlabError as exc:
        print(f"latentlab: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m latentlab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(required=True, metavar="command")
    t = sub.add_parser("train", help="train a model from a JSON config")
    t.add_argument("--config", required=True, help="path to a training config (JSON)")
    t.add_argument("--out", default=None, help="folder to write the checkpoint in (default: checkpoints/)")
    t.add_argument("--resume", action="store_true", help="continue from the last finished epoch")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: config or all)")
    t.set_defaults(run=_train)
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
    return Path(text) if os.sep in text and Path(text).is_dir() else text


def _train(args) -> int:
    import torch

    from latentlab.config import TrainConfig
    from latentlab.train import train

    cfg = TrainConfig.from_json(args.config)
    if args.threads:
        cfg.threads = args.threads
    bar = _ProgressBar(cfg.name)
    result = train(cfg, out_dir=args.out, progress=bar, resume=args.resume)
    bar.close()
    if result.status != "completed":
        print(f"latentlab: training {result.status}: {result.message}; no checkpoint written",
              file=sys.stderr)
        return 1
    m = result.test_metrics
    print(f"{cfg.name}: test mse {m['mse']:.4f}  psnr {m['psnr']:.2f} dB -> {result.path}"
          f" (threads={torch.get_num_threads()})")
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
    from latentlab.zoo import evaluate_checkpoint

    metrics = evaluate_checkpoint(checkpoint_ref(args.checkpoint))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"{key:>14}  {shown}")
    return 0


def _list(args) -> int:
    from latentlab.zoo import zoo_table

    rows, problems = zoo_table()
    for problem in problems:
        print(f"latentlab: skipped {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'name':<16} {'dataset':<8} {'family':<16} {'latent':>6} {'test mse':>9} {'MB':>5}"
    print(header)
    for r in rows:
        print(f"{r['name']:<16} {r['dataset']:<8} {r['family']:<16} {r['latent_dim']:>6} "
              f"{r['metrics'].get('mse', float('nan')):>9.4f} {r['size_mb']:>5.2f}")
    return 0


def _reconstruct(args) -> int:
    from latentlab.render import save_png
    from latentlab.zoo import reconstruction_grid

    grid = reconstruction_grid(checkpoint_ref(args.checkpoint), n=args.n, seed=args.seed)
    save_png(grid, args.out)
    print(f"wrote {args.out}")
    return 0


def _sample(args) -> int:
    from latentlab.render import save_png
    from latentlab.zoo import sample_grid

    grid = sample_grid(checkpoint_ref(args.checkpoint), n=args.n, seed=args.seed)
    save_png(grid, args.out)
    print(f"wrote {args.out}")
    return 0


def _replay(args) -> int:
    from latentlab.replay import replay

    ref = checkpoint_ref(args.checkpoint) if args.checkpoint else None
    print(f"wrote {replay(args.state, args.out, ref)}")
    return 0
