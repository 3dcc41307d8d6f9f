"""Honest training status: a collapsed model is a failure, and nothing is replaced silently."""

import json

import pytest
import torch
from conftest import make_cfg

from latentlab.cli import main
from latentlab.collapse import compare
from latentlab.errors import CheckpointError
from latentlab.train import train


def _x(n=32, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_compare_names_both_kinds_of_collapse_and_passes_good_or_constant_data():
    x = _x()
    assert compare(x.clone(), x) is None  # perfect reconstructions
    assert compare(x + 0.05 * _x(seed=1), x) is None  # noisy but input-dependent
    same = x.mean(0, keepdim=True).expand_as(x)  # the best constant: the mean image
    assert "nearly identical" in compare(same, x)
    shuffled = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(2))]
    assert "mean image" in compare(shuffled, x)  # varied, but no better than the mean
    flat = torch.full_like(x, 0.3)
    assert compare(flat + 0.01 * _x(seed=3), flat) is None  # constant data: nothing to tell apart


def test_a_collapsed_run_fails_writes_nothing_and_keeps_the_old_checkpoint(tiny_data, tmp_path):
    good = make_cfg("ae")
    good.epochs, good.lr = 15, 3e-3
    first = train(good, data=tiny_data, out_dir=tmp_path)
    assert first.status == "completed", first.message
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    bad = make_cfg("ae")
    bad.epochs, bad.lr = 5, 3.0  # kills the decoder without a single non-finite loss
    result = train(bad, data=tiny_data, out_dir=tmp_path, overwrite=True)
    assert result.status == "failed" and result.message.startswith("collapsed")
    assert result.path is None
    assert {p.name: p.read_bytes() for p in first.path.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_ae"]  # no resume state either


def test_an_existing_checkpoint_is_refused_before_training_without_overwrite(tiny_data, tmp_path):
    cfg = make_cfg("ae")
    train(cfg, data=tiny_data, out_dir=tmp_path, allow_collapse=True)
    before = (tmp_path / "tiny_ae" / "model.safetensors").read_bytes()
    steps = []
    cfg.seed = 5
    with pytest.raises(CheckpointError, match="already exists.*--overwrite"):
        train(cfg, data=tiny_data, out_dir=tmp_path, progress=steps.append, allow_collapse=True)
    assert steps == []  # refused before any training
    assert (tmp_path / "tiny_ae" / "model.safetensors").read_bytes() == before
    train(cfg, data=tiny_data, out_dir=tmp_path, overwrite=True, allow_collapse=True)
    assert (tmp_path / "tiny_ae" / "model.safetensors").read_bytes() != before


def _config(tmp_path, **top) -> str:
    raw = {"name": "cli_ae", "data": {"name": "shapes", "options": {"size": 16, "n_train": 64, "n_test": 32}},
           "model": {"family": "ae", "latent_dim": 4, "args": {"arch": "mlp", "width": 8}},
           "epochs": 1, "batch_size": 16, "threads": 1, **top}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(raw))
    return str(path)


def test_cli_collapsed_training_exits_non_zero_with_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["train", "--config", _config(tmp_path, lr=10.0, epochs=2), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("latentlab: training failed: collapsed") and "no checkpoint" in err[-1]
    assert not (out / "cli_ae").exists()
