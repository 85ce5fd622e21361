"""On-disk cache of decoded image folders, as safetensors files (never pickle).

A cache file is named by a hash of everything that decides its contents: the format
version, the resolution, the channels, the folder's absolute path and the (path, size,
mtime) of every candidate image file. Editing, adding or removing a file changes the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

FORMAT_VERSION = 1
_TENSOR = "images"

FileStamp = tuple[str, int, int]  # (relative path, size in bytes, mtime in ns)


def cache_key(root: Path, resolution: int, channels: int, files: list[FileStamp]) -> str:
    payload = json.dumps(
        [FORMAT_VERSION, resolution, channels, str(root), sorted(files)],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def cache_file(directory: Path, key: str) -> Path:
    return directory / f"{key}.safetensors"


def read(path: Path, resolution: int, channels: int) -> tuple[Tensor, list[tuple[str, str]]] | None:
    """The cached images and skipped list, or None if the file is absent or unusable."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            images = f.get_tensor(_TENSOR)
        if metadata.get("format_version") != str(FORMAT_VERSION):
            return None
        skipped = [(str(name), str(reason)) for name, reason in json.loads(metadata["skipped"])]
    except Exception:
        # A torn or foreign file is just a cache miss; the caller rebuilds and overwrites it.
        return None
    expected = (channels, resolution, resolution)
    if images.dtype != torch.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != expected:
        return None
    if len(images) == 0:
        return None
    return images, skipped


def write(path: Path, images: Tensor, skipped: list[tuple[str, str]], source: Path) -> None:
    """Write atomically: readers see either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "source": str(source),
        "skipped": json.dumps([list(item) for item in skipped]),
    }
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        # save_file streams to disk, so a large dataset is not duplicated in memory first.
        save_file({_TENSOR: images.contiguous()}, tmp_name, metadata=metadata)
        with open(tmp_name, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
