"""Training jobs: inputs refused before anything is written, the queue runs jobs one at a time in
FIFO order in their own processes, cancel / resume / continue, and a crashed job is found."""

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import blob_folder, blob_pngs
from PIL import Image

from latentlab import checkpoint, jobs
from latentlab.config import TrainConfig
from latentlab.errors import ImageError, LatentlabError
from latentlab.jobs import store, uploads
from latentlab.jobs.spec import Request

# 128 train / 32 test blobs, 16 steps an epoch: learnt in 10 epochs (not collapsed), ~1 s of training
TINY = {"model": {"family": "vae", "latent_dim": 2, "args": {"width": 8}},
        "epochs": 10, "batch_size": 8, "lr": 1e-2, "seed": 0, "threads": 1}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(blob_folder(tmp_path / "blobs")))  # the operator's list
    return tmp_path / "home"


def tiny_cfg(name: str, **changes) -> TrainConfig:
    data = {"name": "folder", "options": {"path": str(Path(os.environ["LATENTLAB_HOME"]).parent / "blobs"),
                                          "size": 16, "channels": 1}}
    return TrainConfig.from_dict({"name": name, "data": data, **TINY, **changes})


def wait(job_id: str, timeout: float = 120.0) -> jobs.JobView:
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = jobs.get(job_id)
        if view.state not in store.ACTIVE:
            return view
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {jobs.get(job_id).state} after {timeout} s")


def png_bytes(w: int, h: int, value: int = 128, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), value if mode == "L" else (value, 255 - value, 40)).save(buf, format="PNG")
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def images(n: int, size=(24, 24)) -> list[tuple[str, bytes]]:
    return [(f"img{i}.png", png_bytes(*size, value=(i * 37) % 256)) for i in range(n)]


def upload_request(name="mine", epochs=1) -> Request:
    return Request(name, "upload", "vae", 2, args={"width": 8}, epochs=epochs,
                   overrides={"batch_size": 8, "lr": 1e-2})


# -- validation: one clear message, nothing left behind ------------------------------------------
@pytest.mark.parametrize("make,fragment", [
    (lambda: images(5), "at least 20"),
    (lambda: [("x.zip", zip_bytes({f"{i}.png": png_bytes(20, 20) for i in range(3)}
                                  | {"inner.zip": zip_bytes({"a.png": png_bytes(8, 8)})}))], "nested"),
    (lambda: [("x.zip", zip_bytes({"a.png": png_bytes(20, 20), "notes.txt": b"hello world\n"}))], "notes.txt"),
    (lambda: [("bomb.zip", zip_bytes({"a.png": b"\0" * 5_000_000}))], "zip bomb"),
    (lambda: images(25) + [("evil.pdf", b"%PDF-1.4 ...")], "PDF"),
    (lambda: [], "no images"),
])
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_written(make, fragment, home):
    with pytest.raises(LatentlabError, match=fragment):
        jobs.submit(upload_request(), make(), size=16)
    assert store.all_ids() == [] and not [p for p in (home / "jobs").iterdir() if p.is_dir()]


def test_a_zip_with_too_many_members_is_refused_before_unpacking(home, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_MEMBERS", 30)
    with pytest.raises(ImageError, match="over the limit of 30"):
        jobs.submit(upload_request(), [("many.zip", zip_bytes({f"{i}.png": b"x" for i in range(31)}))], size=16)


@pytest.mark.parametrize("request_,fragment", [
    (Request("mnist_vae", "mnist", "vae", 16, epochs=1), "taken by an existing checkpoint"),
    (Request("../x", "mnist", "vae", 16, epochs=1), "use 1-64 letters"),
    (Request("ok", "mnist", "vae", 16), "exactly one"),
    (Request("ok", "mnist", "vae", 16, epochs=1, minutes=3), "exactly one"),
    (Request("ok", "mnist", "vae", 16, epochs=0), "epochs must be"),
    (Request("ok", "mnist", "vae", 16, minutes=float("nan")), "minutes must be"),
    (Request("ok", "mnist", "nope", 16, epochs=1), "unknown family"),
    (Request("ok", "mnist", "vae", 0, epochs=1), "latent size"),
    (Request("ok", "mnist", "vae", 16, args={"gamma": 3}, epochs=1), "no argument"),
    (Request("ok", "mnist", "vae", 16, args={"beta": -1.0}, epochs=1), "beta must be non-negative"),
    (Request("ok", "mnist", "ae", 16, args={"noise": "pink"}, epochs=1), "noise must be one of"),
    (Request("ok", "/etc", "vae", 16, epochs=1), "unknown data"),
    (Request("ok", "folder:etc", "vae", 16, epochs=1), "not one of the folders"),
])
def test_bad_requests_are_refused_before_a_job_exists(request_, fragment, home):
    with pytest.raises(LatentlabError, match=fragment):
        jobs.submit(request_)
    assert store.all_ids() == []


def test_families_and_their_arguments_come_from_the_registry():
    from latentlab.models import FAMILIES

    found = jobs.families()
    assert set(found) == set(FAMILIES)
    vae = {a.name: a for a in found["vae"]}
    assert vae["beta"].default == 1.0 and vae["beta"].kind is float
    assert set(vae["noise"].choices) >= {"none", "gaussian"} and "latent_dim" not in vae
    assert jobs.defaults("mnist", "vae")["latent_dim"] == json.load(open("configs/mnist_vae.json"))["model"]["latent_dim"]


def test_mixed_sizes_are_cropped_to_the_training_size_and_said_so(tmp_path):
    items = images(12, (40, 30)) + images(10, (16, 16))
    found = uploads.store_images(items, tmp_path / "data", size=16, channels=3)
    text = found.summary()
    assert found.count == 22 and "sizes differ" in text and "centre-cropped" in text and "16×16" in text
    with Image.open(tmp_path / "data" / "00000.png") as im:
        assert im.size == (16, 16)


# -- the queue ------------------------------------------------------------------------------------
def test_uploaded_images_train_in_a_worker_and_publish_a_listed_checkpoint(home):
    t0 = time.time()
    job_id = jobs.submit(upload_request("from_uploads", epochs=10), [("set.zip", zip_bytes(dict(blob_pngs(100))))],
                         size=16, channels=1)
    assert jobs.get(job_id).state in store.ACTIVE and time.time() - t0 < 20  # submit does not train
    view = wait(job_id)
    assert view.state == "completed", view.message
    model = checkpoint.load(jobs.checkpoint_root() / "from_uploads")
    assert model.info.dataset["name"] == "folder" and model.image_shape == (1, 16, 16)
    from latentlab.latent.cache import find_cached_map

    assert find_cached_map(model, "pca") is not None  # precomputed: the app draws its map at once
    curves = jobs.curves(job_id)
    assert [c["epoch"] for c in curves] == list(range(1, 11)) and {"train_recon", "train_kl", "mse", "neg_elbo"} <= set(curves[0])
    assert curves[-1]["train_loss"] < curves[0]["train_loss"]
    assert jobs.grid(job_id)[:8] == b"\x89PNG\r\n\x1a\n"


def test_jobs_run_one_at_a_time_in_fifo_order_and_cancel_works(home):
    first = jobs.submit_config(tiny_cfg("q1", epochs=30), jobs.checkpoint_root())
    second = jobs.submit_config(tiny_cfg("q2"), jobs.checkpoint_root())
    third = jobs.submit_config(tiny_cfg("q3"), jobs.checkpoint_root())
    assert jobs.cancel(third) == "queued" and jobs.get(third).state == "cancelled"
    deadline = time.time() + 60
    while jobs.get(first).step < 2 and time.time() < deadline:
        time.sleep(0.05)
    listed = {v.id: v for v in jobs.list_jobs()}
    assert listed[second].state == "queued" and listed[second].position == 0
    assert jobs.cancel(first) == "running"
    assert wait(first).state == "cancelled" and not (jobs.checkpoint_root() / "q1").exists()
    assert wait(second).state == "completed"
    s1, s2 = (store.status(store.job_dir(j)) for j in (first, second))
    assert s2["started"] >= s1["finished"] - 0.5  # the second started only after the first stopped
    assert not (store.jobs_root() / third / "out").exists()  # a cancelled queued job never ran
    jobs.resume(first)
    view = wait(first)
    assert view.state == "completed" and checkpoint.load(jobs.checkpoint_root() / "q1").info.training["history"][-1]["epoch"] == 30


def test_a_new_server_finds_a_job_whose_process_died(home):
    job_id = jobs.submit_config(tiny_cfg("orphan"), jobs.checkpoint_root(), queue=False)
    folder = store.job_dir(job_id)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a pid that existed and is gone
    store.set_status(folder, state="running", pid=proc.pid, pid_start=12345.0)
    assert jobs.list_jobs()[0].state == "interrupted" and jobs.get(job_id).resumable
    store.set_status(folder, state="running", pid=os.getpid(), pid_start=store.process_start(os.getpid()) + 1)
    assert jobs.list_jobs()[0].state == "interrupted"  # our pid, another start time: a reused pid
    store.set_status(folder, state="running", pid=os.getpid(), pid_start=store.process_start(os.getpid()))
    assert jobs.list_jobs()[0].state == "running"


def test_a_diverged_job_is_marked_and_publishes_nothing(home):
    job_id = jobs.submit_config(tiny_cfg("boom", lr=1e12), jobs.checkpoint_root())
    view = wait(job_id)
    assert view.state == "diverged" and "no checkpoint" in view.message
    assert not (jobs.checkpoint_root() / "boom").exists()


def test_continue_training_writes_a_new_checkpoint_from_the_old_weights(home):
    from latentlab.jobs.worker import run_job

    src = store.jobs_root() / jobs.submit_config(tiny_cfg("base"), jobs.checkpoint_root(), queue=False)
    assert run_job(src) == "completed"
    before = checkpoint.load(jobs.checkpoint_root() / "base")
    job_id = jobs.continue_training(jobs.checkpoint_root() / "base", epochs=2, name="base_more")
    assert json.loads((store.job_dir(job_id) / "config.json").read_text())["start"]["step"] == 10 * 16
    assert wait(job_id).state == "completed"
    after = checkpoint.load(jobs.checkpoint_root() / "base_more")
    again = checkpoint.load(jobs.checkpoint_root() / "base")
    assert all(torch.equal(before.state_dict()[k], again.state_dict()[k]) for k in before.state_dict())
    assert after.info.training["test_metrics"]["mse"] < before.info.training["test_metrics"]["mse"]


def test_a_minutes_budget_is_planned_once_into_epochs(home):
    from latentlab.datasets import load_dataset
    from latentlab.jobs.worker import plan_budget

    folder = store.jobs_root() / jobs.submit_config(tiny_cfg("timed", epochs=1000), jobs.checkpoint_root(),
                                                    queue=False, minutes=0.5)
    cfg = tiny_cfg("timed", epochs=1000)
    data = load_dataset(cfg.data.name, **cfg.data.options)
    epochs, deadline = plan_budget(folder, store.read_json(folder / "config.json"), cfg, data)
    plan = store.read_json(folder / "plan.json")
    assert 1 <= epochs < 1000 and epochs * plan["epoch_seconds"] <= 30 and deadline > time.time()
    assert plan_budget(folder, store.read_json(folder / "config.json"), cfg, data) == (epochs, deadline)


def test_a_job_killed_just_after_publishing_completes_on_rerun_without_retraining(home):
    """Killed between the rename that published the checkpoint and the status saying so: a rerun
    finds its own checkpoint (the status names the publish target first) instead of retraining
    and failing on 'already exists'."""
    from latentlab.jobs import worker

    job_id = jobs.submit_config(tiny_cfg("published"), jobs.checkpoint_root())
    assert wait(job_id).state == "completed"
    folder, target = store.job_dir(job_id), jobs.checkpoint_root() / "published"
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    store.set_status(folder, state=store.RUNNING, phase="publishing", checkpoint=None)  # as the kill left it
    assert store.status(folder)["publishing"] == str(target)
    assert worker.run_job(folder) == store.COMPLETED
    assert store.status(folder)["checkpoint"] == str(target)
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp  # not retrained, not replaced
