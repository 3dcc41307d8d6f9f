"""`python -m latentlab`: each command works, and bad input gets one line and a non-zero exit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from latentlab.checkpoint import zoo_names
from latentlab.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_list_json_matches_the_zoo(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == zoo_names()
    assert all(r["size_mb"] <= 5 and r["metrics"]["mse"] > 0 for r in rows)


def test_list_table_has_a_row_per_model(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["name", "dataset", "family"]
    assert len(lines) == 1 + len(zoo_names())


def test_eval_json_reports_metrics(capsys):
    assert main(["eval", "mnist_pca", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["latent_dim"] == 16 and 0 < metrics["mse"] < 0.05 and metrics["psnr"] > 10


def test_reconstruct_and_sample_write_png_grids(tmp_path, capsys):
    out = tmp_path / "r.png"
    assert main(["reconstruct", "mnist_pca", "--out", str(out), "-n", "8"]) == 0
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (8 * 30 - 2, 2 * 30 - 2)  # originals over reconstructions
    out2 = tmp_path / "s.png"
    assert main(["sample", "mnist_pca", "--out", str(out2), "-n", "8"]) == 0
    with Image.open(out2) as im:
        assert im.format == "PNG" and im.size == (8 * 30 - 2, 28)


@pytest.mark.parametrize("argv,fragment", [
    (["eval", "no_such_model"], "not found"),
    (["eval", "../checkpoints/mnist_pca"], "not a zoo checkpoint name"),
    (["train", "--config", "missing.json"], "config file not found"),
    (["reconstruct", "mnist_pca", "--out", "nodir/x.png"], "output folder does not exist"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.jpg"], "must be a .png"),
    (["sample", "mnist_ae", "--out", "{tmp}/s.png"], "has no prior"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.png", "-n", "0"], "between 1 and 1024"),
])
def test_bad_input_gets_one_line_and_exit_2_and_writes_nothing(argv, fragment, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths land here too, so "nothing written" covers them
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("latentlab: error:") and fragment in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("config,fragment", [
    ({"name": "x", "data": {"name": "nope"}, "model": {"family": "ae", "latent_dim": 2}}, "unknown dataset"),
    ({"name": "x", "data": {"name": "mnist"}, "model": {"family": "ae", "latent_dim": 2}, "lr": 0},
     "lr must be a finite number > 0"),
    ({"name": "x", "data": {"name": "mnist"}, "model": {"family": "zz", "latent_dim": 2}}, "unknown model family"),
])
def test_train_with_bad_config_writes_no_checkpoint(config, fragment, tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    out = tmp_path / "out"
    assert main(["train", "--config", str(path), "--out", str(out)]) == 2
    assert fragment in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "latentlab", "list"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "mnist_pca" in proc.stdout
