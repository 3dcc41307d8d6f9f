"""kill -9 of a real training job at >= 20 random moments: every checkpoint folder that is visible
is complete and loads, status files stay readable, and Resume ends with the same weights as an
uninterrupted run (same seed, one thread)."""

import json
import os
import random
import signal
import time

import torch
from conftest import blob_folder

from latentlab import checkpoint, jobs
from latentlab.config import TrainConfig
from latentlab.jobs import store

KILLS = 20
# 128 train / 32 test blob images, 16 steps an epoch, 10 epochs: learnt (not collapsed) in ~1 s
CFG = {"model": {"family": "vae", "latent_dim": 2, "args": {"width": 8, "kl_warmup_steps": 40}},
       "epochs": 10, "batch_size": 8, "lr": 1e-2, "seed": 0, "threads": 1}


def cfg(name: str, data_dir) -> TrainConfig:
    data = {"name": "folder", "options": {"path": str(data_dir), "size": 16, "channels": 1}}
    return TrainConfig.from_dict({"name": name, "data": data, **CFG})


def wait_state(job_id, states, timeout=120.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = store.status(store.job_dir(job_id))
        if st.get("state") in states:
            return st
        time.sleep(0.02)
    raise AssertionError(f"{job_id}: still {store.status(store.job_dir(job_id)).get('state')}")


def worker_pid(job_id, timeout=120.0) -> int:
    """The pid of the job's worker once it has started (written by the worker itself)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = store.status(store.job_dir(job_id))
        if st.get("pid") and st.get("state") == "running":
            return st["pid"]
        if st.get("state") not in ("queued", "running"):
            return 0
        time.sleep(0.01)
    raise AssertionError("the worker never started")


def assert_nothing_half_written(root, job_id) -> None:
    """Every visible checkpoint loads; the job's JSON files parse; resume state is whole or absent."""
    for entry in root.iterdir() if root.exists() else []:
        if not entry.name.startswith("."):
            checkpoint.load(entry)  # raises CheckpointError on anything incomplete
    folder = store.job_dir(job_id)
    for name in ("status.json", "config.json", "curves.json"):
        if (folder / name).exists():
            json.loads((folder / name).read_text())
    for staged in (folder / "out").glob("*"):
        if staged.name.endswith(".resume"):
            json.loads((staged / "state.json").read_text())
            checkpoint.read_tensors(staged / "state.safetensors")
        elif not staged.name.startswith("."):
            checkpoint.load(staged)


def test_kill_minus_9_at_random_moments_then_resume_to_identical_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    data_dir = blob_folder(tmp_path / "blobs")
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(data_dir))  # the operator allows this folder
    root = jobs.checkpoint_root()
    rng = random.Random(0)
    ref_id = jobs.submit_config(cfg("reference", data_dir), root)
    t0 = time.time()
    worker_pid(ref_id)
    t_started = time.time()
    assert wait_state(ref_id, ("completed",))["state"] == "completed"
    span = time.time() - t_started  # the worker's life after start-up: where the kills land
    reference = checkpoint.load(root / "reference").state_dict()
    kills, chains = 0, 0
    while kills < KILLS:
        chains += 1
        name = f"killed{chains}"
        job_id = jobs.submit_config(cfg(name, data_dir), root)
        while True:
            pid = worker_pid(job_id)
            if pid:
                time.sleep(rng.uniform(0, span))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            st = wait_state(job_id, ("completed", "interrupted"))
            kills += st["state"] == "interrupted"  # only a kill that hit a live worker counts
            assert_nothing_half_written(root, job_id)
            checkpoint.load(root / "reference")  # the previous checkpoint is never touched
            if st["state"] == "completed":
                break
            jobs.resume(job_id)
        got = checkpoint.load(root / name)
        assert all(torch.equal(got.state_dict()[k], v) for k, v in reference.items()), name
    history = checkpoint.load(root / "reference").info.training["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    print(f"\n{kills} kills over {chains} runs in {time.time() - t0:.0f} s (worker life {span:.1f} s); "
          f"every resumed run equals the uninterrupted one; train loss {history[0]['train_loss']:.1f} -> "
          f"{history[-1]['train_loss']:.1f}")
