"""The Train page, driven headless: bad input is one message and no job; a job is queued and can
be cancelled; a finished job shows its curves and grid; an interrupted one can be resumed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import blob_folder

from latentlab import jobs
from latentlab.config import TrainConfig
from latentlab.jobs import store

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LATENTLAB_DATA_DIRS", str(tmp_path / "blobs"))
    return tmp_path


def open_train() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ckpt"] = "mnist_pca"
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Train"]
    return at


def finished_job(home, name: str) -> str:
    from latentlab.jobs.worker import run_job

    data = {"name": "folder", "options": {"path": str(blob_folder(home / "blobs")), "size": 16, "channels": 1}}
    cfg = TrainConfig.from_dict({"name": name, "data": data, "model": {"family": "vae", "latent_dim": 2,
                                 "args": {"width": 8}}, "epochs": 10, "batch_size": 8, "lr": 1e-2, "threads": 1})
    job_id = jobs.submit_config(cfg, jobs.checkpoint_root(), queue=False)
    assert run_job(store.jobs_root() / job_id) == "completed"
    return job_id


def test_every_family_argument_has_a_widget_and_bad_input_is_one_message(home):
    at = open_train()
    assert any("No jobs yet" in i.value for i in at.info)
    for family, arguments in jobs.families().items():
        at.selectbox(key="train_family").set_value(family).run()
        keys = {w.key for w in [*at.number_input, *at.selectbox, *at.checkbox, *at.text_input]}
        assert {f"train_arg_{family}_{a.name}" for a in arguments} <= keys, family
    at.text_input(key="train_name").set_value("mnist_vae").run()  # a zoo name: taken
    at.button(key="train_submit").click().run()
    assert [e.value for e in at.error] and "taken" in at.error[0].value
    assert store.all_ids() == []


def test_a_submitted_job_is_listed_and_cancel_stops_it(home):
    at = open_train()
    at.selectbox(key="train_family").set_value("ae").run()
    at.number_input(key="train_amount").set_value(1)
    at.text_input(key="train_name").set_value("from_the_page").run()
    at.button(key="train_submit").click().run()
    assert not at.error, [e.value for e in at.error]
    (job_id,) = store.all_ids()
    assert jobs.get(job_id).name == "from_the_page" and jobs.get(job_id).state in store.ACTIVE
    assert "from_the_page" in list(at.dataframe[0].value["name"])
    at.button(key=f"train_cancel_{job_id}").click().run()
    deadline = time.time() + 120
    while jobs.get(job_id).state in store.ACTIVE and time.time() < deadline:
        time.sleep(0.2)
    assert jobs.get(job_id).state == "cancelled"
    assert not (jobs.checkpoint_root() / "from_the_page").exists()


def test_a_finished_job_shows_curves_and_grid_and_an_interrupted_one_resumes(home):
    done = finished_job(home, "shown")
    at = open_train()
    assert len(at.get("arrow_vega_lite_chart")) == 3 or len(at.get("vega_lite_chart")) == 3
    assert any("reconstructions" in c for img in at.image for c in img.captions)
    store.set_status(store.job_dir(done), state="interrupted")
    at.run()
    at.button(key=f"train_resume_{done}").click().run()
    assert jobs.get(done).state in ("queued", "running", "completed")
