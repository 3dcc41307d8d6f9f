"""Writing files and folders so that a reader never sees half of one, and nothing is lost.

Everything latentlab writes (checkpoints, resume state, latent caches, maps, PNGs) is built under
a temporary name beside its destination and then moved into place:

- a file with `os.replace` (rename(2) over a file is atomic);
- a folder with Linux `renameat2(RENAME_EXCHANGE)`: the new folder and the old one trade names in
  one step, so at every instant the visible name is a complete folder, old or new; the old one
  (now under the temporary name) is removed afterwards. A folder that does not exist yet is
  moved in with `RENAME_NOREPLACE`. Why not the usual "rename the old one aside, rename the new
  one in": a kill between those two renames leaves no folder under the name at all.
  Where renameat2 is missing (not Linux, or a file system without it) the two-rename fallback is
  used, and `recover` (called by every reader of these folders) moves the aside copy back.

Temporary names are `.<name>.tmp-<pid>-<random>` (being built, or an old copy being removed) and
`.<name>.old-<pid>-<random>` (the fallback's aside copy). `clean_leftovers` removes those whose
writer is gone (its pid is dead, or the entry is older than STALE_SECONDS), so a kill mid-write
leaves at most one leftover, cleaned by the next writer or reader of that folder.

tempfile makes private files (0600) and folders (0700); what we write is meant to be shared, so
both helpers hand back the usual permissions (0644 / 0755).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STALE_SECONDS = 6 * 3600  # a leftover this old is removed even if its pid is alive (pid reuse)
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-")
_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2


def _libc_renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


_renameat2 = _libc_renameat2()


class _Unsupported(Exception):
    """renameat2 or its flag is not available here: use the fallback."""


def rename2(src: Path, dst: Path, flags: int) -> None:
    """renameat2(src, dst, flags); OSError on failure, _Unsupported if not available."""
    if _renameat2 is None:
        raise _Unsupported
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        raise _Unsupported
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _prefix(name: str, kind: str = "tmp") -> str:
    return f".{name}.{kind}-{os.getpid()}-"


@contextmanager
def atomic_file(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; write it; on success it replaces `path`, on any
    error it is removed and `path` is untouched."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=_prefix(path.name), suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def temp_dir(parent: str | os.PathLike, name: str) -> Path:
    """A new, empty, shareable (0755) folder in `parent` with a temporary name for `name`."""
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(name), dir=parent))
    tmp.chmod(0o755)
    return tmp


@contextmanager
def atomic_dir(target: str | os.PathLike, exists: str = "replace") -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; fill it; on success it becomes `target`.

    What happens to a `target` that exists at the final rename: "replace" exchanges it for the
    new folder, then removes it; "keep" keeps it and discards the new folder (first writer wins:
    for caches whose content is determined by their name); "error" keeps it and raises
    FileExistsError. On any error the temporary folder is removed and `target` is untouched.
    Stale leftovers of earlier runs are cleaned first.
    """
    if exists not in ("replace", "keep", "error"):
        raise ValueError(f"exists must be 'replace', 'keep' or 'error', got {exists!r}")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target.parent, target.name)
    tmp = temp_dir(target.parent, target.name)
    try:
        yield tmp
        _fsync_tree(tmp)
        if not swap_in(tmp, target, replace=exists == "replace") and exists == "error":
            raise FileExistsError(errno.EEXIST, "already exists", str(target))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing, the old folder, or our unused copy


def remove_dir(target: str | os.PathLike) -> None:
    """Delete a folder as one step for readers: renamed to a temporary name, then removed (a
    kill mid-delete leaves a hidden leftover for `clean_leftovers`, never half a folder)."""
    target = Path(target)
    clean_leftovers(target.parent, target.name)  # first: a stale old copy must not come back
    if not target.is_dir():
        return
    aside = Path(tempfile.mkdtemp(prefix=_prefix(target.name), dir=target.parent))
    try:
        os.replace(target, aside)
    except FileNotFoundError:  # another process removed it first
        pass
    shutil.rmtree(aside, ignore_errors=True)


def swap_in(tmp: Path, target: Path, replace: bool = True) -> bool:
    """Move the complete folder `tmp` to `target`; False if `target` existed and was kept
    (replace=False). Afterwards `tmp` holds the old folder, our unused copy, or nothing: the
    caller removes it."""
    placed = True
    try:
        try:
            rename2(tmp, target, _RENAME_NOREPLACE)
        except FileExistsError:
            placed = replace
            if replace:
                rename2(tmp, target, _RENAME_EXCHANGE)
    except _Unsupported:
        placed = _swap_two_renames(tmp, target, replace)
    _fsync_dir(target.parent)
    return placed


def _swap_two_renames(tmp: Path, target: Path, replace: bool) -> bool:
    """Fallback without renameat2: old aside, new in. A kill between the two renames leaves
    the old folder as `.<name>.old-*`, which `recover` moves back."""
    if target.exists() and not replace:
        return False
    aside = None
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=_prefix(target.name, "old"), dir=target.parent))
        os.replace(target, aside)  # an empty folder is replaced by rename(2)
    os.replace(tmp, target)
    if aside is not None:
        os.replace(aside, tmp)  # the caller removes tmp; no .old left behind
    return True


def recover(target: str | os.PathLike) -> bool:
    """If `target` is missing but an old copy set aside by an interrupted fallback swap exists,
    move it back. True if something was restored."""
    target = Path(target)
    if target.exists() or not target.parent.is_dir():
        return False
    for entry in _leftovers(target.parent, target.name):
        old = target.parent / entry.string
        # an empty one is the placeholder made before the old folder was moved onto it
        if entry.group("kind") == "old" and _is_stale(old) and old.is_dir() and any(old.iterdir()):
            try:
                os.rename(old, target)
                return True
            except OSError:
                continue
    return False


def clean_leftovers(parent: str | os.PathLike, name: str | None = None) -> list[str]:
    """Remove stale temporary entries in `parent` (of `name` only, if given), after restoring
    any old copy whose folder is missing. Best effort (a read-only folder is left as it is);
    returns the names removed."""
    parent, removed = Path(parent), []
    names = {name} if name else {m.group("name") for m in _leftovers(parent, None)}
    for n in names:
        recover(parent / n)
        for entry in _leftovers(parent, n):
            path = parent / entry.string
            if _is_stale(path):
                _remove(path)
                removed.append(entry.string)
    return removed


def _leftovers(parent: Path, name: str | None) -> list[re.Match]:
    try:
        entries = os.listdir(parent)
    except OSError:
        return []
    found = (_LEFTOVER.match(e) for e in entries if e.startswith("."))
    return [m for m in found if m and (name is None or m.group("name") == name)]


def _is_stale(path: Path) -> bool:
    pid = int(_LEFTOVER.match(path.name).group("pid"))
    try:
        if time.time() - path.lstat().st_mtime > STALE_SECONDS:
            return True
    except OSError:
        return False
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


def _fsync_tree(folder: Path) -> None:
    """Flush every file of `folder` (and the folder) to disk before it becomes visible."""
    for f in folder.iterdir():
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
