"""A corpus of bad command lines and configs: each is one line on stderr, exit 2, nothing written.

Includes the 22 inputs that once ended in tracebacks (eval_batch_size 0, threads -1, seed 2**70,
a name with NUL or 300 characters, test_fraction 0, --config a directory, --out a file,
latent_dim 1e6-1e9, width 1e6, size 1e5, ...) and every other size, count and type a config
or the command line can get wrong. Every case fails before any data is generated or trained.
"""

import json

import pytest

from latentlab.cli import main

BASE = {"name": "corpus", "data": {"name": "shapes", "options": {"size": 16, "n_train": 64, "n_test": 16}},
        "model": {"family": "ae", "latent_dim": 4, "args": {"width": 4}},
        "epochs": 1, "batch_size": 16, "seed": 0}
DEEP = "[" * 100_000 + "]" * 100_000


def top(**kw):
    return {**BASE, **kw}


def model(**kw):
    return {**BASE, "model": {**BASE["model"], **kw}}


def args(**kw):
    return model(args={**BASE["model"]["args"], **kw})


def data(dataset="shapes", **options):
    return {**BASE, "data": {"name": dataset, "options": options}}


def options(**kw):
    return data(**{**BASE["data"]["options"], **kw})


def without(key):
    return {k: v for k, v in BASE.items() if k != key}


CONFIGS = [  # (config written as JSON, a fragment of the one-line error)
    (top(name=""), "name must be 1-64"), (top(name="a\x00b"), "name must be 1-64"),
    (top(name="x" * 300), "name must be 1-64"), (top(name="../evil"), "name must be 1-64"),
    (top(name=".hidden"), "name must be 1-64"), (top(name="a/b"), "name must be 1-64"),
    (top(name="-x"), "name must be 1-64"), (top(name=5), "name must be str"),
    (top(name=["x"]), "name must be str"), (top(name=None), "name must be str"),
    (top(epochs=0), "epochs must be an integer"), (top(epochs=-1), "epochs must be an integer"),
    (top(epochs=10**9), "epochs must be an integer"), (top(epochs="3"), "epochs must be int"),
    (top(epochs=2.5), "epochs must be int"), (top(epochs=True), "epochs must be int"),
    (top(batch_size=0), "batch_size must be an integer"), (top(batch_size=10**7), "batch_size"),
    (top(batch_size=-5), "batch_size"), (top(eval_batch_size=0), "eval_batch_size must be an integer"),
    (top(eval_batch_size=-1), "eval_batch_size"), (top(eval_batch_size=10**9), "eval_batch_size"),
    (top(lr=0), "lr must be a finite number > 0"), (top(lr=-1), "lr must be a finite number > 0"),
    (top(lr="fast"), "lr must be float"), (top(lr=float("inf")), "lr must be a finite number"),
    (top(lr=float("nan")), "lr must be a finite number"), (top(weight_decay=-1), "weight_decay"),
    (top(weight_decay=float("nan")), "weight_decay"), (top(grad_clip=0), "grad_clip must be a finite number > 0"),
    (top(grad_clip=-1), "grad_clip must be a finite number > 0"), (top(grad_clip="x"), "grad_clip must be"),
    (top(grad_clip=float("-inf")), "grad_clip"), (top(lr_schedule="warp"), "lr_schedule must be"),
    (top(seed=-1), "seed must be an integer"), (top(seed=2**70), "seed must be an integer"),
    (top(seed=2**32), "seed must be an integer"), (top(seed=1.5), "seed must be int"),
    (top(threads=0), "threads must be an integer"), (top(threads=-1), "threads must be an integer"),
    (top(threads=10**6), "threads must be an integer"), (top(epoch=3), "unknown key(s) in config: epoch"),
    ([BASE], "must be a JSON object"), (7, "must be a JSON object"), ("config", "must be a JSON object"),
    (model(latent_dim=0), "latent_dim must be an integer"), (model(latent_dim=10**6), "latent_dim must be"),
    (model(latent_dim=10**9), "latent_dim must be"), (model(latent_dim=1e9), "latent_dim must be int"),
    (model(latent_dim=1e6), "latent_dim must be int"), (model(latent_dim="16"), "latent_dim must be int"),
    (model(latent_dim=-3), "latent_dim must be"), (model(family="zz"), "unknown model family"),
    (model(family=5), "family must be str"), (without("model"), "model must be a JSON object"),
    (top(model=[1]), "model must be a JSON object"), (model(args=[1]), "args must be dict"),
    (args(width=10**6), "width must be an integer"), (args(width=1e6), "width must be a finite number"),
    (args(width=60000), "parameters, over the limit"),
    (args(width=-1), "width must be an integer"), (args(width=10**9), "width must be an integer"),
    (args(image_shape=[3, 100000, 100000]), "may not set image_shape"), (args(latent_dim=8), "may not set"),
    (args(extra={"a": {"b": 1}}), "must be a number, string, boolean or a list"),
    (args(steps=[[1.0]]), "steps[0] must be a number"), (args(steps=[0.5] * 1000), "at most 256 values"), (args(arch="zz"), "arch must be one of"),
    (args(noise_level=5.0), "noise_level must be in"), (args(recon_loss="x" * 100), "short string"),
    (args(noise_level=float("nan")), "noise_level must be a finite number"), (args(bogus=1), "bad arguments"),
    (data("nope"), "unknown dataset"), (top(data={"name": 5}), "name must be str"),
    (data("a\x00b"), "data.name must be a dataset name"), (without("data"), "data must be a JSON object"),
    (top(data=[1]), "data must be a JSON object"), (options(size=100000), "size must be an integer"),
    (options(size=0), "size must be an integer"), (options(size=3), "size must be an integer"),
    (options(size=1e5), "size must be an integer"), (options(n_train=0), "n_train must be an integer"),
    (options(n_train=10**9), "n_train must be an integer"), (options(n_test=-1), "n_test must be"),
    (options(seed=-1), "options.seed must be"), (options(n_train=200000, size=256), "GB as float32, over the limit"),
    (options(extra=[[1, 2]]), "extra[0] must be a number"), (options(size=[16]), "size must be an integer"),
    (options(keep={"digit": {"a": 1}}), "keep.digit must be a number"), (options(keep={"x" * 100: [1]}), "short names"),
    (data("mnist", test_fraction=0), "test_fraction must be a finite number > 0"),
    (data("mnist", test_fraction=1), "test_fraction must be"), (data("mnist", test_fraction=-0.5), "test_fraction"),
    (data("folder"), "needs option 'path'"), (data("folder", path="/etc"), "not inside a folder listed"),
    (data("folder", path="/tmp/a\x00b"), "needs option 'path'"), (data("folder", path="/tmp", channels=2), "must be 1 or 3"),
    (data("torchvision", name="MNIST", root="/tmp", download=True), "download is refused"),
    (data("torchvision", name="MNIST", root="/root"), "not inside a folder listed"),
]


def _write_config(folder, config, raw: bytes | None = None):
    path = folder / "c.json"
    path.write_bytes(raw if raw is not None else json.dumps(config).encode())
    return str(path)


FILES = [  # (bytes of the --config file, fragment)
    (b"", "not valid JSON"), (b"{nope", "not valid JSON"), (DEEP.encode(), "nested 100000 deep"),
    (b"\xff\xfe{\x00}", "not UTF-8"), (b" " * (1 << 20) + b"{}", "over 1,048,576 bytes"),
    (("[" * 40 + "1" + "]" * 40).encode(), "nested 40 deep"),
]

COMMANDS = [  # (argv, fragment); {cfg} is a valid config, {dir} a folder, {file} a file
    (["train", "--config", "{dir}"], "is a directory"), (["train", "--config", "missing.json"], "not found"),
    (["train", "--config", "a\x00b.json"], "cannot read config"), (["train", "--config", "{cfg}", "--out", "{file}"], "is a file"),
    (["train", "--config", "{cfg}", "--out", "x\x00y"], "NUL"), (["train", "--config", "{cfg}", "--threads", "-1"], "--threads"),
    (["train", "--config", "{cfg}", "--threads", "0"], "--threads"), (["train", "--config", "{cfg}", "--threads", "1e3"], "invalid int"),
    (["train", "--config", "{cfg}", "--threads", "100000"], "--threads"), (["train"], "required: --config"),
    (["train", "--config"], "expected one argument"), (["fly"], "invalid choice"), ([], "required"),
    (["eval", "no_such_model"], "not found"), (["eval", "../checkpoints/mnist_pca"], "not a zoo checkpoint name"),
    (["eval", "a\x00b"], "NUL"), (["eval", "x" * 300], "not a zoo checkpoint name"), (["eval", "mnist_pca", "--bogus"], "unrecognized"),
    (["list", "--bogus"], "unrecognized"), (["reconstruct", "mnist_pca", "--out", "{tmp}/x.png", "-n", "0"], "between 1 and 1024"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.png", "-n", "5000"], "between 1 and 1024"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.png", "-n", "abc"], "invalid int"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.png", "--seed", str(2**70)], "--seed must be"),
    (["sample", "mnist_pca", "--out", "{tmp}/x.png", "--seed", "-1"], "--seed must be"),
    (["reconstruct", "mnist_pca", "--out", "nodir/x.png"], "output folder does not exist"),
    (["reconstruct", "mnist_pca", "--out", "{tmp}/x.jpg"], "must be a .png"), (["sample", "mnist_pca", "--out", "{dir}.png"], "is a folder"),
    (["sample", "mnist_ae", "--out", "{tmp}/s.png"], "has no prior"), (["sample", "mnist_pca", "--out", "x\x00.png"], "NUL"),
    (["reconstruct", "mnist_pca"], "required: --out"), (["eval"], "required: checkpoint"),
]


def _one_line_exit_2(argv, fragment, capsys):
    assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip()
    assert err.startswith("latentlab: error:") and len(err.splitlines()) == 1, err
    assert fragment in err, err


@pytest.fixture
def work(tmp_path, monkeypatch):
    """Configs live in tmp/in; the command runs in tmp/cwd, which must stay empty."""
    (tmp_path / "in").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("LATENTLAB_DATA_DIRS", raising=False)
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "cwd" / "home"))
    return tmp_path


@pytest.mark.parametrize("config,fragment", CONFIGS, ids=range(len(CONFIGS)))
def test_bad_config(config, fragment, work, capsys):
    _one_line_exit_2(["train", "--config", _write_config(work / "in", config)], fragment, capsys)
    assert list((work / "cwd").iterdir()) == []


@pytest.mark.parametrize("raw,fragment", FILES, ids=range(len(FILES)))
def test_bad_config_file(raw, fragment, work, capsys):
    _one_line_exit_2(["train", "--config", _write_config(work / "in", None, raw)], fragment, capsys)
    assert list((work / "cwd").iterdir()) == []


@pytest.mark.parametrize("argv,fragment", COMMANDS, ids=range(len(COMMANDS)))
def test_bad_command(argv, fragment, work, capsys):
    (work / "in" / "d.png").mkdir()
    (work / "in" / "f").write_text("a file")
    cfg = _write_config(work / "in", BASE)
    fill = {"{cfg}": cfg, "{dir}": str(work / "in" / "d"), "{file}": str(work / "in" / "f"),
            "{tmp}": str(work / "in")}
    for key, value in fill.items():
        argv = [a.replace(key, value) for a in argv]
    (work / "in" / "d").mkdir(exist_ok=True)
    _one_line_exit_2(argv, fragment, capsys)
    assert list((work / "cwd").iterdir()) == []
    assert sorted(p.name for p in (work / "in").iterdir()) == ["c.json", "d", "d.png", "f"]


def test_the_corpus_is_at_least_the_issue_size():
    assert len(CONFIGS) + len(FILES) + len(COMMANDS) >= 89
