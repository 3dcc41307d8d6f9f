"""Kill a short training run at every file-system call, in turn, and check what survives.

Run by tests/test_atomic.py as `python tests/kill_driver.py OUT [--fallback]`; prints one JSON
object {"kills", "finished", "failures"}. A fresh, single-threaded process forks one child per
kill point (forking the multi-threaded pytest process can deadlock the child on a lock another
thread held).

Each child trains a tiny 2-epoch model over an existing checkpoint of the same name and SIGKILLs
itself just before its k-th file-system call (rename, renameat2, unlink, rmdir, mkdir, chmod,
fsync, safetensors write). After each kill the driver checks that the checkpoint loads and is the
old one or the new one (whichever the completed calls imply), that no name had to be recovered
(renameat2 mode) or that recovery restored it (fallback mode), that the resume state holds exactly
the epochs whose swap had completed, and that resuming (or starting over, when no epoch had been
saved) ends at the weights of an uninterrupted run and leaves nothing else beside the checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
torch.set_num_threads(1)
torch.set_num_interop_threads(1)

import latentlab  # noqa: E402
from latentlab import atomic, checkpoint  # noqa: E402
from latentlab import train as train_module  # noqa: E402
from latentlab.config import TrainConfig  # noqa: E402
from latentlab.datasets import Dataset  # noqa: E402
from latentlab.train import train  # noqa: E402

OPS = [(os, "rename"), (os, "replace"), (os, "unlink"), (os, "rmdir"), (os, "mkdir"), (os, "chmod"),
       (os, "fsync"), (atomic, "rename2"), (checkpoint, "save_file"), (train_module, "save_file")]
NAME = "tiny_ae"


def tiny_data() -> Dataset:
    from conftest import blob_dataset  # tests/ is this script's folder, so on sys.path

    return blob_dataset()


def config(seed: int, epochs: int) -> TrainConfig:
    """Small (an MLP of width 2), so ~50 runs take seconds."""
    return TrainConfig.from_dict({
        "name": NAME, "data": {"name": "tiny"}, "epochs": epochs, "batch_size": 16, "seed": seed,
        "model": {"family": "ae", "latent_dim": 4, "args": {"arch": "mlp", "width": 2}}})


def run(cfg, out, data, **kw):
    return train(cfg, data=data, out_dir=out, overwrite=True, allow_collapse=True, **kw)


def child(kill_at: int, out: Path, data, log: Path, fallback: bool) -> None:
    """In the forked child: count file-system calls, log each, die just before call `kill_at`.
    fsync is counted but not run: it guards against power loss, which a SIGKILL is not (the page
    cache survives it), so skipping it changes nothing visible here and saves seconds."""
    count = [0]
    for module, name in OPS:
        real = getattr(module, name)

        def wrapped(*args, _real=real, _name=name, **kw):
            count[0] += 1
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            with open(log, "a") as fh:
                fh.write(json.dumps([_name, [str(a) for a in args[:3]]]) + "\n")
            return None if _name == "fsync" else _real(*args, **kw)
        setattr(module, name, wrapped)
    if fallback:  # as on a system without renameat2
        def unsupported(*args):
            raise atomic._Unsupported
        atomic.rename2 = unsupported
    run(config(0, 2), out, data)


def fork_run(kill_at: int, out: Path, data, log: Path, fallback: bool) -> int:
    """The child's fate: -9 if it was killed, else its exit status."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            child(kill_at, out, data, log, fallback)
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def expected(ops: list, out: Path) -> tuple[bool, int]:
    """(new checkpoint visible, epochs in the visible resume state) after the logged calls,
    replayed on a model of the two names (a NOREPLACE rename fails when the name exists)."""
    target, state = str(out / NAME), str(out / f".{NAME}.resume")
    new, epochs, state_exists = False, 0, False
    for name, args in ops:
        moved_in = name in ("rename2", "replace", "rename") and ".tmp-" in args[0]
        if moved_in and name == "rename2" and args[2] == "1" and args[1] in (target, state):
            if args[1] == target or state_exists:
                continue  # RENAME_NOREPLACE onto an existing name: failed, then EXCHANGE follows
        if moved_in and args[1] == target:
            new = True
        if moved_in and args[1] == state:
            epochs, state_exists = epochs + 1, True
        if name == "replace" and args[0] == state and ".tmp-" in args[1]:  # remove_dir
            epochs, state_exists = 0, False
    return new, epochs


def check(k: int, out: Path, log: Path, fallback: bool, old_hash: str, data, reference) -> list[str]:
    """What went wrong after the kill at call k (nothing: [])."""
    ops = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    new_visible, epochs = expected(ops, out)
    problems = []
    restored = [atomic.recover(out / n) for n in (NAME, f".{NAME}.resume")]  # as readers do
    if any(restored) and not fallback:
        problems.append("a name was missing and had to be recovered")
    loaded = latentlab.load(out / NAME)
    if (loaded.info.hash != old_hash) != new_visible:
        problems.append(f"the {'old' if new_visible else 'new'} checkpoint is visible")
    meta = out / f".{NAME}.resume" / "state.json"
    found = json.loads(meta.read_text())["epoch"] if meta.exists() else 0
    if found != epochs:
        problems.append(f"resume state holds {found} epoch(s), expected {epochs}")
    again = run(config(0, 2), out, data, resume=epochs > 0).model.state_dict()
    if not all(torch.equal(again[n], t) for n, t in reference.items()):
        problems.append("the resumed run ended at other weights than an uninterrupted one")
    if sorted(os.listdir(out)) != [NAME]:
        problems.append(f"leftovers: {sorted(os.listdir(out))}")
    return [f"kill at call {k}: {p}" for p in problems]


def main(work: Path, fallback: bool) -> dict:
    data, out, log, pristine = tiny_data(), work / "out", work / "ops.jsonl", work / "pristine"
    old_hash = latentlab.load(run(config(1, 1), pristine, data).path).info.hash
    reference = train(config(0, 2), data=data, save=False, allow_collapse=True).model.state_dict()
    kills, failures, finished = 0, [], False
    for k in range(1, 500):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(pristine, out)
        log.unlink(missing_ok=True)
        fate = fork_run(k, out, data, log, fallback)
        if fate != -signal.SIGKILL:
            finished = fate == 0
            break
        kills += 1
        try:
            failures += check(k, out, log, fallback, old_hash, data, reference)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the loop goes on
            failures.append(f"kill at call {k}: {type(exc).__name__}: {exc}")
    return {"kills": kills, "finished": finished, "failures": failures}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), "--fallback" in sys.argv[2:])))
