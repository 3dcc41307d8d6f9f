"""The user's own images as a training set: uploaded files, a zip, or an operator's folder.

Every image goes through the one gate, `latentlab.images.load_image` (format allow-list, byte and
pixel caps before decoding), and is stored, already cropped and resized, as a PNG in the job's
`data/` folder, which the `folder` dataset builder reads. Zips are opened member by member with
limits checked before anything is inflated: member count, each member's declared and actual
size, the total, and the compression ratio (a zip bomb); a nested archive or a member that is not
an image refuses the whole upload, naming the member. Images of mixed sizes are accepted: each is
centre-cropped to a square (or padded, fit="pad") and resized to `size`; the summary says so.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from latentlab.errors import ImageError
from latentlab.images import ALLOWED_FORMATS, load_image
from latentlab.jobs.store import JobError

MIN_IMAGES, MAX_IMAGES = 20, 20000
MAX_MEMBERS = 25000
MAX_TOTAL_BYTES = 2 * 2**30  # inflated bytes over a whole zip
MAX_RATIO = 200  # inflated / compressed per member: images barely compress, bombs compress ~1000×
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"\x28\xb5\x2f\xfd")
OS_CLUTTER = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")  # skipped, and said so


@dataclass
class ImageSet:
    """What was stored: count, the original sizes seen, and what was skipped (OS clutter)."""

    count: int = 0
    sizes: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    channels: int = 3
    size: int = 64
    fit: str = "crop"

    def summary(self) -> str:
        sizes = ", ".join(f"{n} at {w}×{h}" for (w, h), n in self.sizes.most_common(4))
        more = f" and {len(self.sizes) - 4} other sizes" if len(self.sizes) > 4 else ""
        how = "centre-cropped to a square" if self.fit == "crop" else "padded to a square"
        text = f"{self.count} images ({sizes}{more})"
        if len(self.sizes) > 1:
            text += f": sizes differ, so each is {how} and resized to {self.size}×{self.size}"
        else:
            text += f", each {how} and resized to {self.size}×{self.size}"
        if self.skipped:
            text += f"; skipped {len(self.skipped)} system file(s) such as {self.skipped[0]}"
        return text


def store_images(items: list[tuple[str, bytes]], out: Path, *, size: int, channels: int,
                 fit: str = "crop") -> ImageSet:
    """Uploaded files (name, bytes) -> PNGs in `out`; a single .zip item is unpacked (checked).

    Raises JobError (too few / too many) or ImageError naming the refused file or member."""
    if len(items) == 1 and _is_zip(*items[0]):
        items = list(_zip_members(items[0][1], items[0][0]))
    result = ImageSet(channels=channels, size=size, fit=fit)
    images = [(n, b) for n, b in items if not _clutter(n, result)]
    if len(images) > MAX_IMAGES:
        raise JobError(f"{len(images)} images: the limit is {MAX_IMAGES:,}")
    out.mkdir(parents=True, exist_ok=True)
    for i, (name, data) in enumerate(images):
        _refuse_archive(name, data)
        try:
            x = load_image(data, channels=channels, size=size, fit=fit)
            result.sizes[_header_size(data)] += 1
        except ImageError as exc:
            raise ImageError(f"{name}: {exc}") from None
        _save_png(x[0], out / f"{i:05d}.png")
        result.count += 1
    if result.count < MIN_IMAGES:
        raise JobError(f"{result.count} image(s): a training set needs at least {MIN_IMAGES} "
                       f"({MIN_IMAGES * 4 // 5} to train on and {MIN_IMAGES // 5} to test)")
    return result


def folder_items(folder: Path) -> list[tuple[str, bytes]]:
    """An operator-listed folder's files as (name, bytes), to pass through `store_images`."""
    from latentlab.datasets.folder import IMAGE_SUFFIXES

    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) > MAX_IMAGES:
        raise JobError(f"{folder} holds {len(files)} images: the limit is {MAX_IMAGES:,}")
    return [(p.name, p.read_bytes()) for p in files]


def _is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def _zip_members(data: bytes, zip_name: str):
    """(member name, bytes) of a zip, each limit checked before the member is inflated."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImageError(f"{zip_name}: not a readable zip ({exc})") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_MEMBERS:
        raise ImageError(f"{zip_name}: {len(members)} members is over the limit of {MAX_MEMBERS:,}")
    total = 0
    for m in members:
        _check_member(m, zip_name)
        total += m.file_size
        if total > MAX_TOTAL_BYTES:
            raise ImageError(f"{zip_name}: unpacks to over {MAX_TOTAL_BYTES / 2**30:.0f} GB; refused")
        if m.filename.startswith(OS_CLUTTER[0]) or os.path.basename(m.filename) in OS_CLUTTER:
            yield m.filename, b""
            continue
        yield m.filename, _read_member(archive, m, zip_name)


def _check_member(m: zipfile.ZipInfo, zip_name: str) -> None:
    from latentlab.images import MAX_BYTES

    where = f"{zip_name}: {m.filename}"
    if m.filename.lower().endswith(ARCHIVE_SUFFIXES):
        raise ImageError(f"{where} is an archive inside the archive; nested archives are refused")
    if m.file_size > MAX_BYTES:
        raise ImageError(f"{where} unpacks to {m.file_size:,} bytes, over the {MAX_BYTES:,}-byte limit")
    if m.compress_size and m.file_size / m.compress_size > MAX_RATIO:
        raise ImageError(f"{where} compresses {m.file_size / m.compress_size:.0f}:1, which images "
                         "do not; refused as a possible zip bomb")
    if m.flag_bits & 0x1:
        raise ImageError(f"{where} is encrypted; refused")


def _read_member(archive: zipfile.ZipFile, m: zipfile.ZipInfo, zip_name: str) -> bytes:
    """At most the declared size (+1 to catch a header that lies) of one member."""
    try:
        with archive.open(m) as fh:
            data = fh.read(m.file_size + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise ImageError(f"{zip_name}: {m.filename}: unreadable ({exc})") from None
    if len(data) > m.file_size:
        raise ImageError(f"{zip_name}: {m.filename} is larger than its header says; refused")
    return data


def _clutter(name: str, result: ImageSet) -> bool:
    if name.startswith(OS_CLUTTER[0]) or os.path.basename(name) in OS_CLUTTER:
        result.skipped.append(name)
        return True
    return False


def _refuse_archive(name: str, data: bytes) -> None:
    if name.lower().endswith(ARCHIVE_SUFFIXES) or data[:6].startswith(ARCHIVE_MAGIC):
        raise ImageError(f"{name} is an archive; upload images, or one zip of images (not nested)")


def _header_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header of bytes the gate has already accepted."""
    with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as im:
        return im.size


def _save_png(image, path: Path) -> None:
    from latentlab.render import to_pil

    to_pil(image).save(path, format="PNG")
