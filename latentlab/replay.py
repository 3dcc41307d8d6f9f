"""Exported views: a small JSON that says which checkpoint (name + content hash), which sample,
which code and which edits produced an image, and `replay` that turns it back into that image.

    {"latentlab_state": 1, "view": "edit", "checkpoint": {"name": "faces_vae", "hash": "…"},
     "sample": "test:12", "code": [...], "edits": {...}, "result": [[...]], "px": 512}

`result` holds the code(s) the image decodes, `[1, d]` for one image or `[T, d]` for a path;
`code` and `edits` record how the view got there (for a person reading the file). Decoding uses
one torch thread, as the app does, and the same renderer, so the replayed PNG is pixel-identical
to the one the app offered for download.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab import render
from latentlab.errors import ConfigError

FORMAT = 1
MAX_BYTES = 4 * 1024 * 1024
MAX_FRAMES = 256


class ReplayError(ConfigError):
    """A state file that cannot be replayed (malformed, another checkpoint, another hash)."""


@dataclass
class ViewState:
    view: str
    checkpoint: str
    hash: str
    sample: str
    code: list[float]
    result: list[list[float]]
    edits: dict = field(default_factory=dict)
    px: int = 512

    def to_json(self) -> str:
        return json.dumps({"latentlab_state": FORMAT, "view": self.view,
                           "checkpoint": {"name": self.checkpoint, "hash": self.hash},
                           "sample": self.sample, "code": self.code, "edits": self.edits,
                           "result": self.result, "px": self.px}, indent=1, allow_nan=False)

    @classmethod
    def of(cls, view: str, model, sample: str, code, result, edits: dict | None = None, px: int = 512) -> ViewState:
        """A state for `model` (a loaded checkpoint): codes are stored as exact float32 values."""
        rows = np.asarray(result, dtype=np.float32).reshape(-1, model.latent_dim)
        return cls(view, model.info.name, model.info.hash, sample, _exact(code), [_exact(r) for r in rows],
                   dict(edits or {}), int(px))

    @classmethod
    def parse(cls, text: str | bytes) -> ViewState:
        if len(text) > MAX_BYTES:
            raise ReplayError(f"a state file is at most {MAX_BYTES // 1024} KB")
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ReplayError(f"not a latentlab state file (not JSON: {exc})") from None
        if not isinstance(raw, dict) or raw.get("latentlab_state") != FORMAT:
            raise ReplayError(f"not a latentlab state file (expected \"latentlab_state\": {FORMAT})")
        ckpt = raw.get("checkpoint")
        if not (isinstance(ckpt, dict) and isinstance(ckpt.get("name"), str) and isinstance(ckpt.get("hash"), str)):
            raise ReplayError("the state file must name its checkpoint: {\"name\": …, \"hash\": …}")
        result = raw.get("result")
        if not (isinstance(result, list) and 0 < len(result) <= MAX_FRAMES and all(_is_code(r) for r in result)
                and len({len(r) for r in result}) == 1):
            raise ReplayError(f"\"result\" must be 1-{MAX_FRAMES} codes of equal length, each a list of finite numbers")
        px = raw.get("px", 512)
        if not isinstance(px, int) or isinstance(px, bool) or not 16 <= px <= 2048:
            raise ReplayError("\"px\" must be an integer between 16 and 2048")
        code = raw.get("code", [])
        return cls(str(raw.get("view", "")), ckpt["name"], ckpt["hash"], str(raw.get("sample", "")),
                   code if _is_code(code) else [], result,
                   raw.get("edits") if isinstance(raw.get("edits"), dict) else {}, px)


def _exact(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def _is_code(values) -> bool:
    return (isinstance(values, list) and 0 < len(values) <= 4096
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values))


def render_state(state: ViewState, model) -> bytes:
    """Decode the state's result codes with `model` -> PNG bytes (one image, or a strip of frames)."""
    if model.info.hash != state.hash:
        raise ReplayError(f"checkpoint {state.checkpoint!r} has changed since this state was exported "
                          f"(hash {model.info.hash}, the file expects {state.hash}); its image would differ")
    z = torch.tensor(state.result, dtype=torch.float32)
    if z.shape[1] != model.latent_dim:
        raise ReplayError(f"the state's codes have {z.shape[1]} numbers; {state.checkpoint} needs {model.latent_dim}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the app decodes: the same arithmetic, so the same pixels
    try:
        with torch.inference_mode():
            images = model.decode(z)
    finally:
        torch.set_num_threads(threads)
    return render.png(images, px=state.px)


def replay(path: str | Path, out: str | Path, checkpoint=None) -> Path:
    """Read a state file, load its checkpoint (or `checkpoint`, a name or folder), write the PNG."""
    import latentlab

    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"state file not found: {path}")
    state = ViewState.parse(path.read_bytes())
    model = latentlab.load(checkpoint if checkpoint is not None else state.checkpoint)
    return render.save_png(render_state(state, model), out)
