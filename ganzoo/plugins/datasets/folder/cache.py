"""On-disk cache of decoded image folders: one safetensors file each (never pickle), written
shard by shard (see ``shards``) and read memory-mapped, so a folder larger than memory trains.

A cache file is named by a hash of everything that decides its contents: the format
version, the resolution, the channels, the pixel budget, the folder's absolute path, the
(path, size, mtime) of every candidate image file, and the layout (whole pictures, or A|B
halves). Editing, adding or removing a file changes the key.

The file holds one uint8 tensor ``images``: ``(N, C, R, R)``, or ``(N, 2, C, R, R)`` for
halves (both halves of a file side by side, as they are decoded), which ``read`` gives back
as the ``(2, N, C, R, R)`` view the sources expect. A cache hit maps the file copy-on-write
instead of reading it: pages are read when a batch touches them, and the kernel may drop
them again, so memory holds what training touches, not the data set. (A private writable
mapping counts against ``ulimit -v`` and ``ulimit -d``: bound such a run by its resident
memory, a cgroup, not by those.)

Checksums: an XXH3-128 hash of all the image bytes (``checksum``) and one of each shard
(``shards``, ``shard_rows`` images each), written as the shards are. Reading a 20 GB cache
through on every start would cost much of what the cache saves, so the check depends on size:

- every load: the header parses, the tensor's dtype and shape are right, and the sizes add
  up to the file's size exactly (a truncated or extended file is caught);
- a cache of up to ``VERIFY_ALL_BYTES`` (1 GiB) is hashed in full on every load, as before;
- a larger one is hashed in full when the file's mtime is not the one recorded in it
  (``verified``): it was written to, copied without its times, or touched since it was
  written or last verified. Once it passes, its mtime is set back to the recorded one, so
  the next load is fast again. Otherwise ``SPOT_SHARDS`` shards are hashed: the last one
  and one drawn at random.

What this misses: a large cache whose bytes change while its mtime does not (a failing
disk's bit rot, a tool that writes and then restores the times) is caught only in the
shards spot-checked; the rest is trained on. The old scheme, a full hash on every load,
caught that too, at the price of reading the whole file first. Checksums catch accidents,
not tampering: whoever can write the cache folder can write matching checksums too, and
the file is safetensors, so the worst a forged one can hold is wrong pixels.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import xxhash
from torch import Tensor

FORMAT_VERSION = 3  # 3: written in shards, per-shard checksums, halves stored (N, 2, ...)
TENSOR = "images"
SKIPPED = "skipped"  # the skipped list, as a tensor of JSON bytes when too long for the header
CHECKSUM = "xxh3_128"
VERIFY_ALL_BYTES = 1 << 30  # caches up to this size are hashed in full on every load
SPOT_SHARDS = 2  # the shards hashed on a fast load of a larger one
MAX_HEADER_BYTES = 100_000_000  # what safetensors itself reads
_PIECE = 8 << 20  # read and hashed in pieces: bounded memory, Ctrl-C is not held up

FileStamp = tuple[str, int, int]  # (relative path, size in bytes, mtime in ns)


class CacheCorrupt(Exception):
    """A cache file is there but unusable; the message says why, in a few words."""


LAYOUTS = ("whole", "halves")


def cache_key(
    root: Path,
    resolution: int,
    channels: int,
    files: list[FileStamp],
    max_pixels: int,
    layout: str = "whole",
) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown cache layout {layout!r}")
    fields = [FORMAT_VERSION, resolution, channels, max_pixels, str(root), sorted(files)]
    if layout != "whole":  # whole pictures keep the keys they always had
        fields.append(layout)
    payload = json.dumps(fields, separators=(",", ":"))
    # ensure_ascii (the default) escapes the surrogates of undecodable file names
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def cache_file(directory: Path, key: str) -> Path:
    return directory / f"{key}.safetensors"


def digest_text(digest: xxhash.xxh3_128) -> str:
    return f"{CHECKSUM}:{digest.hexdigest()}"


@dataclass
class Layout:
    """A parsed cache header: the tensors' entries, the metadata, where the data starts."""

    entries: dict[str, dict]
    metadata: dict[str, str]
    data_start: int


def read(
    path: Path, resolution: int, channels: int, parts: int = 1
) -> tuple[Tensor, list[tuple[str, str]]] | None:
    """The cached images (mapped, not read) and skipped list; None if there is no cache
    file. The images are ``(N, C, R, R)``, or ``(parts, N, C, R, R)`` when each file gave
    ``parts`` pictures.

    Raises CacheCorrupt when the file is there but torn, damaged (a checksum does not
    match), without a checksum, or not what its name promises; the caller rebuilds it.
    """
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as file:
            return _read_open(file, (channels, resolution, resolution), parts)
    except FileNotFoundError:
        return None  # replaced or removed since is_file(): decode afresh
    except (OSError, ValueError) as exc:  # a read error; a file shrunk under the mapping
        raise CacheCorrupt(f"unreadable: {type(exc).__name__}") from None


def _read_open(
    file: BinaryIO, row: tuple[int, int, int], parts: int
) -> tuple[Tensor, list[tuple[str, str]]]:
    layout = parse_header(file, os.fstat(file.fileno()).st_size)
    metadata = layout.metadata
    if "checksum" not in metadata:
        raise CacheCorrupt("no checksum")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CacheCorrupt(f"format {metadata.get('format_version')!r}, not {FORMAT_VERSION}")
    shape = _images_shape(layout, row if parts == 1 else (parts, *row))
    skipped = _skipped(file, layout)
    verify(file, layout, shape)
    # The same file, by its descriptor: what was checked is what is mapped.
    array = np.memmap(file, np.uint8, "c", offset=layout.data_start, shape=shape)
    images = torch.from_numpy(array)
    return (images if parts == 1 else images.transpose(0, 1)), skipped


def parse_header(file: BinaryIO, size: int) -> Layout:
    """The safetensors header of ``file`` (``size`` bytes), checked: tensors of uint8 that
    tile the data exactly, to the last byte of the file."""
    prefix = file.read(8)
    if len(prefix) < 8:
        raise CacheCorrupt("unreadable: no header")
    (length,) = struct.unpack("<Q", prefix)
    if length > min(MAX_HEADER_BYTES, size - 8):
        raise CacheCorrupt("unreadable: torn header")
    try:
        header = json.loads(file.read(length))
    except (UnicodeDecodeError, ValueError):
        raise CacheCorrupt("unreadable: header is not JSON") from None
    if not isinstance(header, dict):
        raise CacheCorrupt("unreadable: header is not a table")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise CacheCorrupt("unreadable: metadata is not text")
    names = sorted(header, key=lambda name: _offsets(header[name])[0])
    if names not in ([TENSOR], [TENSOR, SKIPPED]):
        raise CacheCorrupt(f"holds {sorted(header)!r}, not {TENSOR!r}")
    end = 0
    for name in names:
        start, stop = _offsets(header[name])
        shape = header[name].get("shape")
        if header[name].get("dtype") != "U8":
            raise CacheCorrupt(f"a {header[name].get('dtype')} tensor {name!r}, not uint8")
        if not isinstance(shape, list) or not all(_count(v) for v in shape):
            raise CacheCorrupt(f"unreadable: {name!r} has no valid shape")
        if start != end or stop - start != math.prod(shape):
            raise CacheCorrupt(f"unreadable: {name!r} does not fit its place in the file")
        end = stop
    if 8 + length + end != size:
        raise CacheCorrupt(f"torn: {size:,} bytes where the header says {8 + length + end:,}")
    return Layout(header, metadata, 8 + length)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _offsets(entry: object) -> tuple[int, int]:
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_count, offsets)):
        raise CacheCorrupt("unreadable: a tensor without valid offsets")
    return offsets[0], offsets[1]


def _images_shape(layout: Layout, row: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(layout.entries[TENSOR]["shape"])
    if len(shape) != 1 + len(row) or shape[1:] != row:
        raise CacheCorrupt(f"a uint8 tensor of shape {shape}")
    if shape[0] == 0:
        raise CacheCorrupt("no images")
    return shape


def _skipped(file: BinaryIO, layout: Layout) -> list[tuple[str, str]]:
    """The skipped list, from the metadata or, when it was too long for the header, from
    the ``skipped`` tensor after the images (checked against its own hash)."""
    text = layout.metadata.get(SKIPPED)
    if text is None and SKIPPED in layout.entries:
        start, stop = layout.entries[SKIPPED]["data_offsets"]
        file.seek(layout.data_start + start)
        raw = file.read(stop - start)
        if digest_text(xxhash.xxh3_128(raw)) != layout.metadata.get("skipped_checksum"):
            raise CacheCorrupt("checksum mismatch")
        text = raw.decode("utf-8", "replace")
    try:
        items = json.loads(text)
        return [(str(name), str(reason)) for name, reason in items]
    except (TypeError, ValueError):
        raise CacheCorrupt("no valid skipped list") from None


def verify(file: BinaryIO, layout: Layout, shape: tuple[int, ...]) -> None:
    """Hash the images as the module docstring says: in full, or a few shards."""
    metadata, rows = layout.metadata, shape[0]
    try:
        shard_rows = int(metadata["shard_rows"])
        shards = json.loads(metadata["shards"])
    except (KeyError, ValueError):
        raise CacheCorrupt("no valid shard checksums") from None
    if shard_rows < 1 or not isinstance(shards, list) or len(shards) != -(-rows // shard_rows):
        raise CacheCorrupt("no valid shard checksums")
    row_bytes = math.prod(shape[1:])
    nbytes, shard_bytes = rows * row_bytes, shard_rows * row_bytes
    info = os.fstat(file.fileno())
    stamp = metadata.get("verified")
    if nbytes > VERIFY_ALL_BYTES and stamp == str(info.st_mtime_ns):
        last = len(shards) - 1
        others = random.Random().sample(range(last), min(SPOT_SHARDS - 1, last))
        for index in (*others, last):
            start = index * shard_bytes
            digest = xxhash.xxh3_128()
            _hash(file, layout.data_start + start, min(shard_bytes, nbytes - start), digest)
            if digest_text(digest) != shards[index]:
                raise CacheCorrupt("checksum mismatch")
        return
    whole = xxhash.xxh3_128()
    for index, expected in enumerate(shards):
        start = index * shard_bytes
        digest = xxhash.xxh3_128()
        _hash(file, layout.data_start + start, min(shard_bytes, nbytes - start), digest, whole)
        if digest_text(digest) != expected:
            raise CacheCorrupt("checksum mismatch")
    if digest_text(whole) != metadata["checksum"]:
        raise CacheCorrupt("checksum mismatch")
    if nbytes > VERIFY_ALL_BYTES and stamp is not None and stamp.isdigit():
        # Verified: the recorded mtime makes the next load a fast one again. Not ours to
        # touch (another user's cache)? Then it is hashed in full each time.
        set_mtime(file.fileno(), int(stamp))


def set_mtime(fd: int, mtime_ns: int) -> None:
    """Set an open file's mtime, where the system and the file's owner allow; a file whose
    mtime cannot be set is only ever hashed in full, which is safe."""
    if os.utime not in os.supports_fd:  # no utime of a descriptor on this system
        return
    with contextlib.suppress(OSError):
        os.utime(fd, ns=(time.time_ns(), mtime_ns))


def _hash(file: BinaryIO, start: int, length: int, *digests: xxhash.xxh3_128) -> None:
    """Feed ``length`` bytes of ``file`` from ``start`` to every digest, a piece at a time,
    through a small buffer: read, not mapped, so the check adds nothing to this process's
    resident memory."""
    buffer = memoryview(bytearray(min(_PIECE, max(length, 1))))
    file.seek(start)
    while length > 0:
        count = file.readinto(buffer[: min(_PIECE, length)])
        if not count:
            raise CacheCorrupt("torn: shorter than its header says")
        for digest in digests:
            digest.update(buffer[:count])
        length -= count
