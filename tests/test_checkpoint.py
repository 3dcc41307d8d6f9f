"""Checkpoints: exact round trip, atomic writes, and clear refusals of hostile files."""

import json
import os
import pickle
import shutil
import struct

import pytest
import torch
from conftest import make_cfg

import latentlab
from latentlab import checkpoint
from latentlab.atomic import atomic_file
from latentlab.errors import CheckpointError
from latentlab.train import train
from latentlab.zoo import zoo_table


@pytest.fixture
def saved(tiny_data, tmp_path):
    """A real checkpoint folder of a tiny VAE."""
    result = train(make_cfg("vae"), data=tiny_data, out_dir=tmp_path, allow_collapse=True)  # 1 epoch
    return result.path


def test_save_load_round_trip_is_exact(saved, tiny_data):
    model = latentlab.load(saved)
    again = latentlab.load(saved)
    ref = train(make_cfg("vae"), data=tiny_data, save=False, allow_collapse=True).model
    for k, v in ref.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    x = tiny_data.x_test
    assert torch.equal(model.reconstruct(x), again.reconstruct(x))
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.info.hash == again.info.hash and len(model.info.hash) == 16
    assert model.info.training["test_metrics"]["mse"] == pytest.approx(model.evaluate(x)["mse"], rel=1e-5)


def test_config_records_versions_and_dataset(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == 2 and config["family"] == "vae" and "architecture" not in config
    assert {"latentlab_version", "torch_version", "dataset", "model_args"} <= set(config)
    training = json.loads((saved / "training.json").read_text())
    assert training["seed"] == 0 and training["history"] and training["config"]["name"] == "tiny_vae"


def test_written_files_and_folders_are_shareable_and_a_failed_write_leaves_nothing(saved, tmp_path):
    assert saved.stat().st_mode & 0o777 == 0o755  # not tempfile's private 0700
    assert all(f.stat().st_mode & 0o777 == 0o644 for f in saved.iterdir())
    target = tmp_path / "out.bin"
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done" and target.stat().st_mode & 0o777 == 0o644
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"done"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.bin", saved.name])


def test_crash_mid_save_keeps_the_previous_checkpoint(saved, monkeypatch):
    model = latentlab.load(saved)
    before = {p.name: p.read_bytes() for p in saved.iterdir()}

    def boom(path, obj):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "_write_json", boom)
    with pytest.raises(OSError):
        checkpoint.save(model, saved, {"name": "tiny"}, {})
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    assert [p.name for p in saved.parent.iterdir() if p.name.startswith(".")] == []


def _corrupt(folder, name, mutate):
    path = folder / name
    mutate(path)
    return path


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_safetensors(path):
    path.write_bytes(b"this is plainly not a tensor file at all" * 4)


def _tensor_edit(edit):
    def mutate(path):
        from safetensors.torch import load_file, save_file

        tensors = load_file(str(path))
        edit(tensors)
        save_file(tensors, str(path))
    return mutate


def _first_weight(t):
    return next(k for k in t if k.endswith("weight"))


HOSTILE = {
    "truncated": ("model.safetensors", _truncate, "truncated"),
    "not_safetensors": ("model.safetensors", _not_safetensors, "not a safetensors file"),
    "empty": ("model.safetensors", lambda p: p.write_bytes(b""), "truncated"),
    "missing_tensor": ("model.safetensors", _tensor_edit(lambda t: t.pop(_first_weight(t))), "missing"),
    "extra_tensor": ("model.safetensors", _tensor_edit(lambda t: t.update(extra=torch.zeros(2))), "unexpected"),
    "misshaped": ("model.safetensors",
                  _tensor_edit(lambda t: t.update({_first_weight(t): torch.zeros(3, 3)})), "expected"),
    "nan": ("model.safetensors",
            _tensor_edit(lambda t: t[_first_weight(t)].view(-1).__setitem__(0, float("nan"))), "NaN or Inf"),
    "inf": ("model.safetensors",
            _tensor_edit(lambda t: t[_first_weight(t)].view(-1).__setitem__(0, float("inf"))), "NaN or Inf"),
    "unknown_arch": ("config.json", lambda p: p.write_text(json.dumps(
        {**json.loads(p.read_text()), "family": "os.system"})), "unknown model family"),
    "config_not_json": ("config.json", lambda p: p.write_text("{nope"), "not valid JSON"),
    "config_missing": ("config.json", lambda p: p.unlink(), "missing"),
    "weights_missing": ("model.safetensors", lambda p: p.unlink(), "missing"),
    "bad_format_version": ("config.json", lambda p: p.write_text(json.dumps(
        {**json.loads(p.read_text()), "format_version": 99})), "format_version"),
    "huge_header_len": ("model.safetensors",
                        lambda p: p.write_bytes(struct.pack("<Q", 2**60) + b"{}"), "bad header length"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_checkpoint_is_refused_with_a_clear_error(saved, case):
    name, mutate, fragment = HOSTILE[case]
    _corrupt(saved, name, mutate)
    with pytest.raises(CheckpointError, match=fragment) as info:
        latentlab.load(saved)
    assert str(saved) in str(info.value)  # the message names the file


class _Exploit:
    """Unpickling this would create a file: the proof that nothing was unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_renamed_safetensors_never_runs(saved, tmp_path):
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Exploit(str(probe)))).close()
    assert probe.exists()  # the payload is live: unpickling it creates its file
    marker = tmp_path / "pwned"
    (saved / "model.safetensors").write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        latentlab.load(saved)
    assert not marker.exists()


def test_torch_zip_pickle_named_safetensors_is_refused(saved, tmp_path):
    marker = tmp_path / "pwned2"
    torch.save({"x": _Exploit(str(marker))}, saved / "model.safetensors")
    with pytest.raises(CheckpointError):
        latentlab.load(saved)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../etc", "..", "/etc", "a/b", "", ".hidden", "x\x00y"])
def test_zoo_names_cannot_escape_the_zoo(name):
    with pytest.raises(CheckpointError):
        latentlab.load(name)


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """An empty checkpoints/ folder of our own (the real one is never touched)."""
    folder = tmp_path / "zoo"
    folder.mkdir()
    monkeypatch.setattr(checkpoint, "ZOO_DIR", folder)
    return folder


def test_zoo_symlink_pointing_out_is_refused_and_not_listed(saved, zoo):
    shutil.copytree(saved, zoo / "inside")
    os.symlink(saved, zoo / "zz_escape")
    with pytest.raises(CheckpointError, match="outside"):
        latentlab.load("zz_escape")
    assert checkpoint.zoo_names() == ["inside"]


def _built_in_dataset(folder):
    """Name a built-in dataset (the tiny test data is none, so the zoo would refuse it)."""
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dataset": {"name": "mnist", "options": {}}}))


def test_zoo_table_lists_the_rest_when_an_entry_is_broken(saved, zoo):
    shutil.copytree(saved, zoo / "good")
    _built_in_dataset(zoo / "good")
    shutil.copytree(saved, zoo / "no_weights")
    _built_in_dataset(zoo / "no_weights")
    (zoo / "no_weights" / "model.safetensors").unlink()
    (zoo / "bad_json").mkdir()
    (zoo / "bad_json" / "config.json").write_text("{not json")
    rows, problems = zoo_table()
    assert [r["name"] for r in rows] == ["good"]
    assert len(problems) == 2
    assert any(p.name == "bad_json" and "JSON" in p.reason for p in problems)
    assert any(p.name == "no_weights" and "missing" in str(p) for p in problems)


def test_unknown_zoo_name_says_not_found():
    with pytest.raises(CheckpointError, match="not found"):
        latentlab.load("no_such_model")


def test_copied_checkpoint_loads_from_a_path(saved, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    assert latentlab.load(copy).info.hash == latentlab.load(saved).info.hash
