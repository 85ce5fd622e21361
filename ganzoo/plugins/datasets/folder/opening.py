"""Opening a folder's files: only regular files, and reads that stop on Ctrl-C.

A FIFO named ``x.png`` would block a plain ``open`` forever, and a device would feed the
decoder without end; the scan leaves them out, and the open descriptor is checked again here.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ganzoo.plugins.datasets.folder.budget import Cancelled
from ganzoo.plugins.datasets.folder.reasons import Skip

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO or a device opens at once instead of blocking
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_FILE_KINDS = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISDIR, "directory"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in the words the skipped list uses."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "unknown type")


@contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading if it is a regular file (or a link to one); Skip if not.

    The scan already left out FIFOs and devices; checking the open descriptor closes the
    race where a file is swapped for one after the scan. O_NONBLOCK makes opening a FIFO
    return at once rather than wait for a writer.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Skip(f"not a regular file ({file_kind(mode)})")
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        yield file


def check_cancelled(cancel: threading.Event | None) -> None:
    """Raise Cancelled once ``cancel`` is set (Ctrl-C); no event means never."""
    if cancel is not None and cancel.is_set():
        raise Cancelled


class CancellableFile:
    """A file whose reads raise Cancelled once ``cancel`` is set: PIL's decoders read in
    blocks of about 64 kB, so even a long decode stops within a block of Ctrl-C."""

    def __init__(self, file: BinaryIO, cancel: threading.Event) -> None:
        self._file = file
        self._cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self._cancel.is_set():
            raise Cancelled
        return self._file.read(size)

    def __getattr__(self, name: str):  # seek, tell, fileno, ...
        return getattr(self._file, name)
