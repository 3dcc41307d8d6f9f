"""What a sample is, wherever it is named: a test image, one of the user's own images, or a code.

One small typed value that every page, the URL (`?sample=test:12`), a page-to-page hand-over and
an exported state file share; `SampleRef.parse(ref.param)` gives the same ref back. Resolving a
ref needs the checkpoint's test split (for `test`) or the session's own images (for `upload`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError

KINDS = ("test", "upload", "code")
MAX_NAME = 200
MAX_CODE = 4096


class SampleError(ConfigError):
    """A sample reference that is malformed or does not exist for this checkpoint."""


@dataclass(frozen=True)
class SampleRef:
    """kind "test": `index` into the test split; "upload": `name` of a user image; "code": `code`."""

    kind: str
    index: int = -1
    name: str = ""
    code: tuple[float, ...] = ()

    @classmethod
    def test(cls, index: int) -> SampleRef:
        return cls("test", index=int(index))

    @classmethod
    def upload(cls, name: str) -> SampleRef:
        return cls("upload", name=str(name))

    @classmethod
    def of_code(cls, z) -> SampleRef:
        return cls("code", code=tuple(float(v) for v in np.asarray(z, dtype=np.float32).ravel()))

    @property
    def param(self) -> str:
        """The URL / JSON form: `test:12`, `upload:<name>`, `code:<v1>,<v2>,…` (float32, exact)."""
        if self.kind == "test":
            return f"test:{self.index}"
        if self.kind == "upload":
            return f"upload:{self.name}"
        return "code:" + ",".join(repr(v) for v in self.code)

    @property
    def label(self) -> str:
        """A short human name: `test #12`, the file name, or `a code`."""
        return {"test": f"test #{self.index}", "upload": self.name, "code": f"a {len(self.code)}-d code"}[self.kind]

    @classmethod
    def parse(cls, text: str) -> SampleRef:
        """Inverse of `param`; SampleError saying what is wrong for anything else."""
        if not isinstance(text, str) or ":" not in text:
            raise SampleError(f"a sample is written kind:value (test:12, upload:name, code:…), got {text!r}")
        kind, value = text.split(":", 1)
        if kind == "test":
            if not re.fullmatch(r"\d{1,9}", value):
                raise SampleError(f"test sample needs a non-negative index, got {value!r}")
            return cls.test(int(value))
        if kind == "upload":
            if not 0 < len(value) <= MAX_NAME or "\x00" in value:
                raise SampleError(f"an image name must be 1-{MAX_NAME} characters")
            return cls.upload(value)
        if kind == "code":
            return cls.of_code(_floats(value))
        raise SampleError(f"unknown sample kind {kind!r}; expected one of {', '.join(KINDS)}")

    def resolve(self, model, x_test: torch.Tensor, pool: dict) -> tuple[torch.Tensor | None, np.ndarray]:
        """(image `[1, C, H, W]` or None for a bare code, code `[d]` float32) for this checkpoint.

        pool: the session's own images, name -> `[1, C, H, W]`. SampleError if the ref does not
        exist here (index out of range, an image this session does not have, a code of another size).
        """
        if self.kind == "test":
            if not 0 <= self.index < len(x_test):
                raise SampleError(f"test image {self.index} does not exist: the test split has {len(x_test)} "
                                  f"images (0–{len(x_test) - 1})")
            x = x_test[self.index:self.index + 1]
        elif self.kind == "upload":
            if self.name not in pool:
                raise SampleError(f"no image named {self.name!r} in this session (uploads live in one browser session)")
            x = pool[self.name]
        else:
            if len(self.code) != model.latent_dim:
                raise SampleError(f"the code has {len(self.code)} numbers; {model.info.name} needs {model.latent_dim}")
            return None, np.asarray(self.code, dtype=np.float32)
        with torch.inference_mode():
            return x, model.encode(x)[0].numpy().copy()


def _floats(text: str) -> list[float]:
    parts = text.split(",")
    if not 0 < len(parts) <= MAX_CODE:
        raise SampleError(f"a code needs 1-{MAX_CODE} comma-separated numbers")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SampleError("a code must be comma-separated numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise SampleError("a code must hold finite numbers")
    return values
