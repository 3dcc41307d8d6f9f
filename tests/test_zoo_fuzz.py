"""A zoo that survives its worst folder: many malformed entries beside a copy of the zoo.

Each malformed entry is a copy of a real checkpoint (mnist_pca) with one thing broken: JSON
types, nesting 100,000 deep, sizes (image_shape [3, 1e5, 1e5], latent_dim 1e9), encodings,
data sources, safetensors headers. `zoo_table` and `latentlab list` must stay up, keep every good
row, name each bad entry with a reason, never put a bad one first, and `load` must refuse each
with a CheckpointError (never another exception).
"""

import json
import shutil
import struct

import pytest

import latentlab
from latentlab import checkpoint
from latentlab.cli import main
from latentlab.errors import LatentlabError
from latentlab.zoo import dataset_of, zoo_table

SOURCE = "mnist_pca"
DEEP = "[" * 100_000 + "]" * 100_000


DELETE = object()


def cfg(**changes):
    """Mutate config.json: set keys (DELETE removes one)."""
    def apply(folder):
        config = json.loads((folder / "config.json").read_text())
        for key, value in changes.items():
            config.pop(key, None) if value is DELETE else config.__setitem__(key, value)
        (folder / "config.json").write_text(json.dumps(config))
    return apply


def margs(**changes):
    def apply(folder):
        config = json.loads((folder / "config.json").read_text())
        config["model_args"].update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return apply


def raw(name, data: bytes):
    def apply(folder):
        (folder / name).write_bytes(data)
    return apply


def text(name, body: str):
    def apply(folder):
        (folder / name).write_text(body)
    return apply


def training(**changes):
    def apply(folder):
        record = json.loads((folder / "training.json").read_text())
        record.update(changes)
        (folder / "training.json").write_text(json.dumps(record))
    return apply


def metrics(**changes):
    def apply(folder):
        record = json.loads((folder / "training.json").read_text())
        record["test_metrics"].update(changes)
        (folder / "training.json").write_text(json.dumps(record))
    return apply


def header(obj, pad_to: int | None = None, length: int | None = None):
    """Replace model.safetensors by a hand-made header (+ zero data bytes)."""
    def apply(folder):
        blob = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        n = len(blob) if length is None else length
        (folder / "model.safetensors").write_bytes(struct.pack("<Q", n) + blob + b"\0" * (pad_to or 0))
    return apply


def deep_config(folder):
    config = json.loads((folder / "config.json").read_text())
    text = json.dumps(config)
    (folder / "config.json").write_text(text[:-1] + ', "deep": ' + DEEP + "}")


def link_out(folder):
    shutil.rmtree(folder)
    folder.symlink_to(folder.parent.parent / "elsewhere", target_is_directory=True)


MALFORMED = {
    "config_deep": deep_config, "config_list": text("config.json", "[1, 2]"),
    "config_str": text("config.json", '"a string"'), "config_empty": raw("config.json", b""),
    "config_latin1": raw("config.json", '{"label": "caf\xe9"}'.encode("latin-1")),
    "config_utf16": raw("config.json", '{"format_version": 1}'.encode("utf-16")),
    "config_binary": raw("config.json", bytes(range(256)) * 4),
    "config_huge": raw("config.json", b" " * (2 << 20) + b"{}"),
    "config_nan": text("config.json", '{"format_version": NaN}'),
    "label_int": cfg(label=5), "label_list": cfg(label=["AE"]), "label_long": cfg(label="x" * 10_000),
    "label_markdown": cfg(label="![x](http://example.invalid/x.png)"), "label_null": cfg(label=None),
    "family_unknown": cfg(architecture="os.system"), "family_list": cfg(architecture=["pca"]),
    "family_missing": cfg(architecture=DELETE), "format_99": cfg(format_version=99),
    "format_str": cfg(format_version="1"), "format_missing": cfg(format_version=DELETE),
    "dataset_list": cfg(dataset=["mnist"]), "dataset_name_list": cfg(dataset={"name": ["mnist"]}),
    "dataset_name_int": cfg(dataset={"name": 5}), "dataset_missing": cfg(dataset=DELETE),
    "dataset_unknown": cfg(dataset={"name": "nope"}),
    "dataset_folder_etc": cfg(dataset={"name": "folder", "options": {"path": "/etc"}}),
    "dataset_download": cfg(dataset={"name": "torchvision",
                                     "options": {"name": "MNIST", "root": "/tmp", "download": True}}),
    "dataset_options_list": cfg(dataset={"name": "mnist", "options": [1]}),
    "shape_1e5_float": margs(image_shape=[3, 1e5, 1e5]), "shape_1e5_int": margs(image_shape=[3, 100000, 100000]),
    "shape_channels_2": margs(image_shape=[2, 28, 28]), "shape_str": margs(image_shape="28x28"),
    "shape_negative": margs(image_shape=[1, -28, 28]), "shape_short": margs(image_shape=[28, 28]),
    "shape_nested": margs(image_shape=[[1], [28], [28]]),
    "latent_1e9_float": margs(latent_dim=1e9), "latent_1e9_int": margs(latent_dim=10**9),
    "latent_negative": margs(latent_dim=-1), "latent_str": margs(latent_dim="16"),
    "latent_bool": margs(latent_dim=True), "latent_wrong": margs(latent_dim=15),
    "args_list": cfg(model_args=[1]), "args_missing": cfg(model_args=DELETE), "args_extra": margs(extra={"a": 1}),
    "args_unknown_kw": margs(width=4),
    "training_deep": text("training.json", '{"history": ' + DEEP + "}"),
    "training_list": text("training.json", "[]"), "training_not_json": text("training.json", "{nope"),
    "training_huge": raw("training.json", b" " * (9 << 20) + b"{}"),
    "metrics_list": training(test_metrics=[1]), "metric_str": metrics(mse="low"),
    "metric_nan": text("training.json", '{"test_metrics": {"mse": NaN}}'),
    "metric_dict": metrics(psnr={"a": 1}), "seconds_str": training(seconds="fast"),
    "training_config_list": training(config=[1]),
    "weights_missing": lambda f: (f / "model.safetensors").unlink(),
    "weights_empty": raw("model.safetensors", b""), "weights_pickle": raw("model.safetensors", b"\x80\x04\x95" + b"x" * 64),
    "weights_zip": raw("model.safetensors", b"PK\x03\x04" + b"\0" * 64),
    "header_2e60": header(b"{}", length=2**60), "header_deep": header(DEEP.encode()[:200_000]),
    "header_deep_dict": header(b'{"a":' * 5000 + b"1" + b"}" * 5000),
    "header_list": header([1, 2, 3]), "header_not_json": header(b"\xff" * 32),
    "header_bad_dtype": header({"mean": {"dtype": ["F32"], "shape": [784], "data_offsets": [0, 3136]}}, 3136),
    "header_str_offsets": header({"mean": {"dtype": "F32", "shape": [784], "data_offsets": ["0", "3136"]}}, 3136),
    "header_huge_shape": header({"mean": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4]}}, 4),
    "header_wrong_tensors": header({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 4),
    "header_padded": lambda f: (f / "model.safetensors").open("ab").write(b"\0" * 100),
    "header_truncated": lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:-100]),
    "link_out": link_out,
    "bad name!": lambda f: None, "x" * 200: lambda f: None,
}


@pytest.fixture(scope="module")
def fuzzed_zoo(tmp_path_factory):
    """A copy of the real zoo plus every malformed entry, as the shipped root."""
    base = tmp_path_factory.mktemp("fuzz")
    zoo = base / "zoo"
    shutil.copytree(checkpoint.ZOO_DIR, zoo, ignore=shutil.ignore_patterns("cache"))
    good = sorted(p.name for p in zoo.iterdir() if p.is_dir())
    (base / "elsewhere").mkdir()
    shutil.copytree(zoo / SOURCE, base / "elsewhere", dirs_exist_ok=True)
    for name, mutate in MALFORMED.items():
        shutil.copytree(zoo / SOURCE, zoo / name)
        mutate(zoo / name)
    return zoo, good


@pytest.fixture
def zoo(fuzzed_zoo, monkeypatch, tmp_path):
    folder, good = fuzzed_zoo
    monkeypatch.setattr(checkpoint, "ZOO_DIR", folder)
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LATENTLAB_DATA_DIRS", raising=False)
    return good


def test_zoo_table_keeps_every_good_row_and_names_each_bad_entry(zoo):
    rows, problems = zoo_table()
    assert [r["name"] for r in rows] == zoo  # every good entry, in order, the default first
    assert all(r["loadable"] for r in rows)
    named = {p.name: p.reason for p in problems}
    assert set(named) == set(MALFORMED), set(MALFORMED) ^ set(named)
    assert all(reason and "\n" not in reason for reason in named.values())
    assert "nested 100001 deep" in named["config_deep"]  # the object, then the 100,000 lists
    assert "image_shape" in named["shape_1e5_int"] and "latent_dim" in named["latent_1e9_int"]
    assert "not inside a folder listed" in named["dataset_folder_etc"]
    assert "download is refused" in named["dataset_download"]
    assert "nested" in named["header_deep_dict"] or "header" in named["header_deep_dict"]


SOURCES = {"dataset_unknown", "dataset_folder_etc", "dataset_download"}  # weights fine, data refused


def test_load_refuses_each_bad_entry_with_a_checkpoint_error(zoo):
    for name in sorted(set(MALFORMED) - SOURCES):
        with pytest.raises(LatentlabError):
            latentlab.load(name)
    for name in SOURCES:  # loading weights reads no data; asking for the dataset is refused
        with pytest.raises(LatentlabError, match="download is refused|not inside|neither built in"):
            dataset_of(latentlab.load(name))
    assert latentlab.load(zoo[0]).info.name == zoo[0]


def test_list_stays_up_and_names_each_bad_entry(zoo, capsys):
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 1 + len(zoo)
    skipped = err.strip().splitlines()
    assert len(skipped) == len(MALFORMED) and all(line.startswith("latentlab: skipped ") for line in skipped)
    assert main(["list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == zoo


def test_the_fuzz_covers_many_kinds():
    assert len(MALFORMED) >= 60


def test_the_app_opens_on_a_good_default_and_names_each_bad_entry(zoo, monkeypatch, tmp_path):
    """Home in a fresh session, beside all the malformed entries: no exception, a good
    checkpoint chosen by default, each bad folder named (as text) in the sidebar."""
    from pathlib import Path

    AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["model_name"] in zoo
    shown = " ".join(t.value for t in at.text)
    assert all(name in shown for name in MALFORMED)
