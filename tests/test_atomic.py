"""Atomic folder swaps: a kill at any file-system step of a training run loses nothing.

The kill loop itself lives in tests/kill_driver.py (see there), run in a fresh process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_cfg

from latentlab import atomic
from latentlab.errors import ConfigError
from latentlab.train import train

DRIVER = Path(__file__).resolve().parent / "kill_driver.py"


@pytest.mark.parametrize("fallback", [False, True], ids=["renameat2", "two-renames+recover"])
def test_a_kill_at_every_file_system_call_loses_nothing(tmp_path, fallback):
    cmd = [sys.executable, str(DRIVER), str(tmp_path)] + (["--fallback"] if fallback else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failures"] == []
    assert report["finished"]  # the loop ran past the last call of an uninterrupted run
    assert report["kills"] >= 20  # every rename, delete and write of a 2-epoch run was a kill point
    print(f"{'fallback' if fallback else 'renameat2'}: {report['kills']} kills, 0 failures")


def test_resume_without_saved_state_says_so(tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="no saved state"):
        train(make_cfg("ae"), data=tiny_data, out_dir=tmp_path, resume=True)
    assert not (tmp_path / "tiny_ae").exists()


def test_atomic_dir_replaces_keeps_or_discards(tmp_path):
    target = tmp_path / "t"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a").write_text("2")
    assert (target / "a").read_text() == "2"
    with atomic.atomic_dir(target, exists="keep") as tmp:  # first writer wins
        (tmp / "a").write_text("3")
    assert (target / "a").read_text() == "2"
    with pytest.raises(FileExistsError), atomic.atomic_dir(target, exists="error") as tmp:
        (tmp / "a").write_text("4")
    assert (target / "a").read_text() == "2"
    with pytest.raises(RuntimeError), atomic.atomic_dir(target) as tmp:
        (tmp / "a").write_text("half")
        raise RuntimeError
    assert (target / "a").read_text() == "2" and os.listdir(tmp_path) == ["t"]
    assert target.stat().st_mode & 0o777 == 0o755


def test_stale_leftovers_are_cleaned_and_live_ones_kept(tmp_path):
    dead = _dead_pid()
    (tmp_path / "ck").mkdir()
    (tmp_path / f".ck.tmp-{dead}-x").mkdir()  # an empty folder from an interrupted write
    (tmp_path / f".ck.tmp-{os.getpid()}-y").mkdir()  # being written right now, by us
    (tmp_path / f".gone.old-{dead}-z").mkdir()  # fallback swap killed between its renames
    (tmp_path / f".gone.old-{dead}-z" / "config.json").write_text("{}")
    removed = atomic.clean_leftovers(tmp_path)
    assert removed == [f".ck.tmp-{dead}-x"]
    assert sorted(os.listdir(tmp_path)) == sorted(["ck", "gone", f".ck.tmp-{os.getpid()}-y"])
    assert (tmp_path / "gone" / "config.json").exists()  # the old copy is back under its name


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
