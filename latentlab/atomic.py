"""Writing files and folders so that a reader never sees half of one.

Everything latentlab writes (checkpoints, latent caches, maps, PNGs, resume state) is built
under a temporary name beside its destination and moved into place with `os.replace`.
tempfile makes private files (0600) and folders (0700); what we write is meant to be shared,
so both helpers hand back the usual permissions (0644 / 0755).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; write it; on success it replaces `path`, on any
    error it is removed and `path` is untouched."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def temp_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """A new, empty, shareable (0755) folder in `parent`, to fill and then move into place."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    tmp.chmod(0o755)
    return tmp
