"""On-disk cache of decoded image folders, as safetensors files (never pickle).

A cache file is named by a hash of everything that decides its contents: the format
version, the resolution, the channels, the pixel budget, the folder's absolute path, the
(path, size, mtime) of every candidate image file, and the layout (whole pictures, or A|B
halves side by side, cached as ``(2, N, C, R, R)``). Editing, adding or removing a file
changes the key.

The file stores an XXH3-128 hash of its tensor bytes, checked on every load: a cache damaged
on disk (a flipped bit, a torn or truncated write) is rebuilt rather than trained on. The checksum
catches accidents, not tampering: whoever can write the cache folder can write a matching
checksum too, and the file is safetensors, so the worst a forged one can hold is wrong pixels.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
import xxhash
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

FORMAT_VERSION = 2  # 2: a checksum in the metadata; the pixel budget in the key
_TENSOR = "images"
_CHECKSUM = "xxh3_128"
_PIECE = 64 << 20

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


def checksum(images: Tensor) -> str:
    """``"xxh3_128:<hex>"`` of the tensor's bytes. XXH3 runs at tens of GB/s where zlib's
    CRC-32 (the fastest in the standard library) managed 4 GB/s here, which would have made
    the verified cache load 2.6-3.3x an unverified one (benchmarks/folder_cache.py).

    It runs in 64 MiB pieces, so that Ctrl-C is not held up by a large cache."""
    data = memoryview(images.contiguous().view(-1).numpy())
    digest = xxhash.xxh3_128()
    for start in range(0, len(data), _PIECE):
        digest.update(data[start : start + _PIECE])
    return f"{_CHECKSUM}:{digest.hexdigest()}"


def read(
    path: Path, resolution: int, channels: int, parts: int = 1
) -> tuple[Tensor, list[tuple[str, str]]] | None:
    """The cached images and skipped list; None if there is no cache file. The images are
    ``(N, C, R, R)``, or ``(parts, N, C, R, R)`` when each file gave ``parts`` pictures.

    Raises CacheCorrupt when the file is there but torn, damaged (its checksum does not
    match), without a checksum, or not what its name promises; the caller rebuilds it.
    """
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            images = f.get_tensor(_TENSOR) if names == [_TENSOR] else None
    except Exception as exc:
        raise CacheCorrupt(f"unreadable: {type(exc).__name__}") from None
    if images is None:
        raise CacheCorrupt(f"holds {names!r}, not {_TENSOR!r}")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise CacheCorrupt(f"format {metadata.get('format_version')!r}, not {FORMAT_VERSION}")
    stored = metadata.get("checksum")
    if stored is None:
        raise CacheCorrupt("no checksum")
    expected = (channels, resolution, resolution)
    shape = tuple(images.shape)
    if parts == 1:
        fits = images.ndim == 4 and shape[1:] == expected
    else:
        fits = images.ndim == 5 and shape[0] == parts and shape[2:] == expected
    if images.dtype != torch.uint8 or not fits:
        raise CacheCorrupt(f"a {images.dtype} tensor of shape {shape}")
    if images.numel() == 0:
        raise CacheCorrupt("no images")
    # The same mapped bytes are checked and then trained on: the file is read once.
    if checksum(images) != stored:
        raise CacheCorrupt("checksum mismatch")
    try:
        items = json.loads(metadata["skipped"])
        skipped = [(str(name), str(reason)) for name, reason in items]
    except (KeyError, TypeError, ValueError):
        raise CacheCorrupt("no valid skipped list") from None
    return images, skipped


def write(path: Path, images: Tensor, skipped: list[tuple[str, str]], source: Path) -> None:
    """Write atomically: readers see either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    images = images.contiguous()
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "checksum": checksum(images),
        # Undecodable bytes of a path as \xNN: safetensors metadata must be valid UTF-8.
        "source": os.fsencode(source).decode("utf-8", "backslashreplace"),
        "skipped": json.dumps([list(item) for item in skipped]),
    }
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        # save_file streams to disk, so a large dataset is not duplicated in memory first.
        save_file({_TENSOR: images}, tmp_name, metadata=metadata)
        with open(tmp_name, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
