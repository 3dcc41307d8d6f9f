"""A checkpoint's decoder as an ONNX graph, so a browser can decode codes while a slider moves.

ONNX (Open Neural Network Exchange, onnx.ai) is the interchange format onnxruntime-web runs in
the browser. The graph is traced through the model's public surface, `decode(z) -> x`, so every
family that implements `decode` exports without a per-family case: `z [N, d]` float32 in,
`x [N, C, H, W]` float32 in [0, 1] out, with a dynamic batch axis.

Exports are cached by the checkpoint's content hash (`model.info.hash`) under the user cache
(`$LATENTLAB_CACHE/onnx/<hash>.onnx`), written atomically: a retrained checkpoint (new hash)
gets a new file and a half-written file is never visible. `start_export` runs the export off
the script thread and records which model a hash belongs to, so the web route that serves the
file can wait for an export in progress instead of failing.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch
from torch import nn

from latentlab.atomic import atomic_file
from latentlab.errors import LatentlabError
from latentlab.latent.cache import user_cache_root
from latentlab.models import LatentModel

INPUT, OUTPUT = "z", "x"
OPSET = 18
_HASH = re.compile(r"^[0-9a-f]{8,128}$")


class ExportError(LatentlabError):
    """The decoder could not be exported (or an unknown hash was asked for)."""


class DecoderGraph(nn.Module):
    """`z [N, d] -> model.decode(z) [N, C, H, W]`: the one method the browser needs."""

    def __init__(self, model: LatentModel):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z)


def cache_path(digest: str) -> Path:
    """Where the export of the checkpoint with content hash `digest` lives (may not exist yet)."""
    if not _HASH.match(digest):
        raise ExportError(f"not a checkpoint content hash: {digest!r}")
    return user_cache_root() / "onnx" / f"{digest}.onnx"


def export_decoder(model: LatentModel, path: str | Path) -> Path:
    """Write `model`'s decoder to `path` as ONNX (atomically) once `verify` accepts it; returns the path.

    torch.onnx's exporter (torch.export + onnxscript) traces `decode` on a batch of 2 with a
    dynamic batch axis. The model must be in eval mode (it is, as loaded)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A private copy: tracing swaps a module's parameters for fake tensors while it runs, and
    # the loaded model is shared with every session decoding on other threads meanwhile.
    graph = DecoderGraph(copy.deepcopy(model)).eval()
    example = torch.zeros(2, model.latent_dim)
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        with atomic_file(path, suffix=".onnx") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(graph, (example,), dynamo=True, input_names=[INPUT],
                                        output_names=[OUTPUT], dynamic_shapes=({0: batch},),
                                        opset_version=OPSET, verbose=False, external_data=False)
            program.save(str(tmp))
            verify(model, tmp)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing and onnxruntime raise many types; all mean "no export"
        raise ExportError(f"cannot export the decoder of {model.info.name if hasattr(model, 'info') else model}: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    return path


def verify(model: LatentModel, path: str | Path, n: int = 8, seed: int = 0, atol: float = 1e-4) -> float:
    """Run the export with onnxruntime on `n` seeded random codes (a batch size it was not traced
    with) and compare with `model.decode`; ExportError beyond `atol`. Returns the max difference.

    Tracing can succeed and still be wrong: a decode that leaves torch (numpy, Python control
    flow on values) is baked into the graph as constants. Such an export is refused here, so
    the browser never shows an image the server would not."""
    import numpy as np
    import onnxruntime

    z = (2.0 * np.random.default_rng(seed).standard_normal((n, model.latent_dim))).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT], {INPUT: z})[0]
    with torch.inference_mode():
        want = model.decode(torch.from_numpy(z)).numpy()
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    if not diff <= atol:
        raise ExportError(f"the exported decoder does not match torch (max |difference| {diff:.3g} > {atol:g})")
    return diff


def decoder_onnx(model: LatentModel) -> Path:
    """The cached ONNX decoder of a loaded checkpoint, exported on first use (seconds)."""
    path = cache_path(model.info.hash)
    if not path.exists():
        export_decoder(model, path)
    return path


# -- exports off the script thread ------------------------------------------------------------------
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="latentlab-onnx")
_JOBS: dict[str, Future] = {}
_LOCK = threading.Lock()


def start_export(model: LatentModel) -> Future:
    """A future for `decoder_onnx(model)`, started at most once per content hash per process (a
    failed export is not retried on every rerun; its future keeps the error to report)."""
    digest = model.info.hash
    with _LOCK:
        if digest not in _JOBS:
            _JOBS[digest] = _POOL.submit(_export_in_child, model)
        return _JOBS[digest]


def _export_in_child(model: LatentModel) -> Path:
    """Export a checkpoint loaded from disk in a child process. torch.onnx's tracing keeps
    process-global state (torch.fx's current node meta) that other threads' torch calls touch:
    run beside a page's script thread it failed with KeyError: 'custom' on a cold cache. A model
    without a folder (built in memory) is exported in this thread."""
    path = cache_path(model.info.hash)
    folder = getattr(model.info, "path", None)
    if path.exists() or folder is None:
        return decoder_onnx(model)
    done = subprocess.run([sys.executable, "-m", "latentlab.export", str(folder), model.info.hash],
                          capture_output=True, text=True, env=dict(os.environ), timeout=900)
    if done.returncode != 0 or not path.exists():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ExportError(f"cannot export the decoder of {model.info.name}: {last}")
    return path


def _main(argv: list[str]) -> int:
    """`python -m latentlab.export <checkpoint folder> <content hash>`: the child of `start_export`."""
    from latentlab import checkpoint

    model = checkpoint.load(Path(argv[0]))
    if model.info.hash != argv[1]:
        print(f"latentlab: the checkpoint changed while exporting (hash {model.info.hash}, not {argv[1]})",
              file=sys.stderr)
        return 2
    try:
        decoder_onnx(model)
    except LatentlabError as exc:
        print(f"latentlab: {exc}", file=sys.stderr)
        return 2
    return 0



def ready(digest: str) -> bool:
    """True when the export of `digest` is on disk (nothing is started)."""
    try:
        return cache_path(digest).exists()
    except ExportError:
        return False


def find_export(digest: str) -> Future | None:
    """The export of `digest` if this process knows the checkpoint (it has been started, or the
    file is already on disk); None for an unknown hash."""
    path = cache_path(digest)
    with _LOCK:
        job = _JOBS.get(digest)
    if job is not None:
        return job
    if path.exists():
        done: Future = Future()
        done.set_result(path)
        return done
    return None


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
