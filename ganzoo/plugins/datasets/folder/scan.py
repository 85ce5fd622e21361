"""Finding a folder's image files, without opening any of them.

The scan runs on every load, a cache hit included (its (path, size, mtime) stamps are the
cache key), so it reads no file: one ``stat`` each, and a name filter by extension.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ganzoo.plugins.datasets.folder.cache import FileStamp
from ganzoo.plugins.datasets.folder.opening import file_kind
from ganzoo.plugins.datasets.folder.reasons import short_reason

EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_SUFFIXES = frozenset(f".{ext}" for ext in EXTENSIONS)


def image_name(name: str) -> bool:
    """Whether a file of this name is a candidate image: not hidden, a known extension."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in _SUFFIXES


def scan(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[FileStamp]:
    """Sorted (relative POSIX path, size, mtime_ns) of the image files; hidden ones left out.

    Only regular files (or links to them) are candidates. A FIFO, socket, device, or a link
    to one, and a broken link, is appended to ``skipped`` with the reason, never opened.
    Linked folders are not followed (no loops, nothing outside the folder by accident).
    """
    found: list[FileStamp] = []
    not_files: list[tuple[str, str]] = []
    folders = [("", str(root))]
    while folders:
        prefix, folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # an unlistable subfolder is left out, as os.walk does
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relative = prefix + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((relative + "/", entry.path))
                    continue
            except OSError:
                continue
            if os.path.splitext(name)[1].lower() not in _SUFFIXES:
                continue
            try:
                info = entry.stat()  # follows a link to what it points at
            except OSError as exc:
                not_files.append((relative, _stat_failure(entry, exc)))
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((relative, info.st_size, info.st_mtime_ns))
            elif not stat.S_ISDIR(info.st_mode):  # a linked folder: not followed, not listed
                not_files.append((relative, f"not a regular file ({file_kind(info.st_mode)})"))
    found.sort()
    if skipped is not None:
        skipped.extend(sorted(not_files))
    return found


def _stat_failure(entry: os.DirEntry, exc: OSError) -> str:
    try:
        link = entry.is_symlink()
    except OSError:
        link = False
    if link and isinstance(exc, FileNotFoundError):
        return "broken link"
    return short_reason(exc)
