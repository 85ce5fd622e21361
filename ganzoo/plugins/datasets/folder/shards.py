"""Writing a decode cache as it is decoded: a shard of images at a time, so that decoding a
folder never holds more than one shard (``SHARD_BYTES``) besides the images in flight.

The images go into a temporary file in the cache folder, after a header region reserved up
front; when the last shard is in, the header (sizes, checksums, the skipped list) is written
into that region, the file is flushed to disk and renamed into place. A cache file is thus
complete or absent: a run killed mid-decode leaves only a temporary file, which a later run
deletes (``remove_stale``; a live writer holds a lock on its own).

The result is one safetensors file whose tensor is the whole data set, so a cache hit maps
one file and the trainer indexes one tensor (see ``cache``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import xxhash
from torch import Tensor

from ganzoo.plugins.datasets.folder import cache

try:
    import fcntl
except ImportError:  # no POSIX locks (Windows): temporary files are never taken for stale
    fcntl = None

SHARD_BYTES = 64 << 20  # decoded images held before they are written (and checksummed) together
SKIPPED_ROOM = 1 << 20  # at most this much header kept for the skipped list; beyond, a tensor
_ALIGN = 4096  # the images start on a page boundary
_STALE_AFTER_S = 60  # a temporary file this old, and unlocked, belongs to no live run
_TEMPORARY = re.compile(r"\.[0-9a-f]{40}\..+\.tmp")


class NoRoom(Exception):
    """The cache would not fit the free space of its disk."""

    def __init__(self, needed: int, free: int) -> None:
        super().__init__(f"needs {needed} bytes, {free} free")
        self.needed, self.free = needed, free


class Writer:
    """A cache file being written: ``add`` each image (``row_shape``) in order, then
    ``finish``; leaving the ``with`` block without finishing deletes the temporary file.

    Raises NoRoom before creating anything if ``max_rows`` images would not fit the disk,
    and OSError if the cache folder cannot be written.
    """

    def __init__(self, path: Path, row_shape: tuple[int, ...], max_rows: int, source: Path):
        self.path, self.row_shape = path, tuple(row_shape)
        self.row_bytes = math.prod(self.row_shape)
        self.shard_rows = max(1, SHARD_BYTES // self.row_bytes)
        self.rows = 0
        self._metadata = {
            "format_version": str(cache.FORMAT_VERSION),
            # Undecodable bytes of a path as \xNN: safetensors metadata must be valid UTF-8.
            "source": os.fsencode(source).decode("utf-8", "backslashreplace"),
            "shard_rows": str(self.shard_rows),
        }
        # The header grows only by the skipped list and the numbers it ends up with: reserve
        # room for the largest numbers with the skipped list kept outside, and some for it.
        widest = "x" * len(cache.digest_text(xxhash.xxh3_128()))
        shards = [widest] * -(-max_rows // self.shard_rows)
        largest = self._header(10**20, widest, shards, 10**20, None, 10**20, widest)
        room = len(largest) + min(SKIPPED_ROOM, 4096 + 100 * max_rows)
        self.data_start = -(-(8 + room) // _ALIGN) * _ALIGN

        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path.parent)
        needed = self.data_start + max_rows * self.row_bytes
        free = shutil.disk_usage(path.parent).free
        if needed > free:
            raise NoRoom(needed, free)
        fd, self._temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp"
        )
        self._file = os.fdopen(fd, "r+b", buffering=0)
        self._done = False
        try:
            if fcntl is not None:  # mine while I live: see remove_stale
                with contextlib.suppress(OSError):  # no locks here: then never taken as stale
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file.seek(self.data_start)
            held = max(1, min(self.shard_rows, max_rows))
            self._buffer = torch.empty((held, *self.row_shape), dtype=torch.uint8)
        except BaseException:
            self.__exit__()
            raise
        self._filled = 0
        self._whole = xxhash.xxh3_128()
        self._shards: list[str] = []

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self._file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)

    def add(self, image: Tensor) -> None:
        self._buffer[self._filled] = image
        self._filled += 1
        self.rows += 1
        if self._filled == len(self._buffer):
            self._flush()

    def _flush(self) -> None:
        if not self._filled:
            return
        data = memoryview(self._buffer[: self._filled].numpy().reshape(-1))
        digest = xxhash.xxh3_128(data)
        self._whole.update(data)
        self._shards.append(cache.digest_text(digest))
        _write(self._file, data)
        self._filled = 0

    def finish(self, skipped: list[tuple[str, str]]) -> Tensor:
        """Write the header, flush to disk, rename into place; the images, ``(rows,
        *row_shape)``: the shard still in memory when there was only one (a small folder
        loads as it always did), else mapped from the file just written."""
        self._flush()
        single = len(self._shards) == 1  # the buffer still holds it
        # Recorded and set as the file's mtime: a later change to the file changes its
        # mtime, and cache.verify then hashes it in full. A second in the past, on a whole
        # second, so that a write in the same clock tick, or on a disk that keeps coarse
        # times, cannot leave the mtime unchanged.
        stamp = (time.time_ns() // 10**9 - 1) * 10**9
        listed = json.dumps([list(item) for item in skipped])
        checksum = cache.digest_text(self._whole)
        header = self._header(self.rows, checksum, self._shards, stamp, listed)
        if len(header) > self.data_start - 8:
            raw = listed.encode("ascii")  # json.dumps escaped everything else
            _write(self._file, memoryview(raw))
            listed_checksum = cache.digest_text(xxhash.xxh3_128(raw))
            header = self._header(
                self.rows, checksum, self._shards, stamp, None, len(raw), listed_checksum
            )
        self._file.seek(0)
        length = self.data_start - 8
        _write(self._file, memoryview(struct.pack("<Q", length) + header.ljust(length)))
        cache.set_mtime(self._file.fileno(), stamp)
        os.fsync(self._file.fileno())
        if single:
            images = self._buffer[: self.rows]
        else:
            shape = (self.rows, *self.row_shape)
            array = np.memmap(self._file, np.uint8, "c", offset=self.data_start, shape=shape)
            images = torch.from_numpy(array)
        os.replace(self._temporary, self.path)
        self._done = True
        self._file.close()
        return images

    def _header(
        self,
        rows: int,
        checksum: str,
        shards: list[str],
        stamp: int,
        skipped: str | None,
        skipped_bytes: int = 0,
        skipped_checksum: str = "",
    ) -> bytes:
        """The safetensors header, the skipped list in its metadata or, with ``skipped``
        None, in a tensor of ``skipped_bytes`` after the images. It is written padded with
        spaces to ``data_start - 8`` bytes, the length given in the 8 bytes before it."""
        nbytes = rows * self.row_bytes
        metadata = dict(self._metadata, checksum=checksum, shards=json.dumps(shards))
        metadata["verified"] = str(stamp)
        entries: dict[str, object] = {
            cache.TENSOR: {
                "dtype": "U8",
                "shape": [rows, *self.row_shape],
                "data_offsets": [0, nbytes],
            }
        }
        if skipped is not None:
            metadata[cache.SKIPPED] = skipped
        else:
            metadata["skipped_checksum"] = skipped_checksum
            entries[cache.SKIPPED] = {
                "dtype": "U8",
                "shape": [skipped_bytes],
                "data_offsets": [nbytes, nbytes + skipped_bytes],
            }
        return json.dumps({"__metadata__": metadata, **entries}).encode("ascii")


def _write(file, data: memoryview) -> None:
    while data:
        written = file.write(data)
        data = data[written:]


def remove_stale(directory: Path) -> None:
    """Delete the temporary cache files of runs that died mid-write (killed, out of memory,
    a power cut): a large data set's would otherwise fill the disk. A live writer holds a
    lock on its file, and a file is left alone for a minute after its last write, which
    covers the moment between its creation and its lock."""
    if fcntl is None:
        return
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not _TEMPORARY.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False) or (
                time.time() - info.st_mtime < _STALE_AFTER_S
            ):
                continue
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(entry.path, flags)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: alive
                os.unlink(entry.path)
            finally:
                os.close(fd)
        except OSError:
            continue


def gather(images: Tensor, index: Tensor, directory: Path) -> Tensor:
    """``images[index]`` without holding it in memory when it is larger than a shard: the rows
    go, a shard at a time, into a temporary file in ``directory`` (deleted at once, so it
    lives as long as the mapping and no longer) and come back mapped from it. A folder of
    pairs with an unreadable partner keeps the rest of its pairs this way, however large.

    In memory when the rows fit a shard, or when ``directory`` cannot take them."""
    row_shape = tuple(images.shape[1:])
    row_bytes = math.prod(row_shape)
    rows = len(index)
    if rows * row_bytes <= SHARD_BYTES:
        return images.index_select(0, index)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if rows * row_bytes > shutil.disk_usage(directory).free:
            return images.index_select(0, index)
        file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by the with below)
    except OSError:
        return images.index_select(0, index)
    with file:
        step = max(1, SHARD_BYTES // row_bytes)
        for start in range(0, rows, step):
            chunk = images.index_select(0, index[start : start + step]).contiguous()
            _write(file, memoryview(chunk.numpy().reshape(-1)))
        file.flush()
        array = np.memmap(file, np.uint8, "c", shape=(rows, *row_shape))
    return torch.from_numpy(array)
