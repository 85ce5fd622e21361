"""Reference-set statistics, cached by the data's content hash and the feature network.

Decoding and embedding thousands of real images costs minutes on a CPU; the second
evaluation against the same data reuses the features (and their mean and covariance).
The reference set may be a memory-mapped store larger than RAM, and its subset a list of row
numbers: both the hash and the features read it a slice of rows at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor

from ganzoo.core.files import atomic_write_bytes
from ganzoo.core.paths import cache_dir

CACHE_VERSION = "1"
HASH_CHUNK_BYTES = 16 << 20  # rows hashed at a time: bounded memory whatever the set's size


def row_chunks(images: Tensor, index: Tensor | None = None) -> Iterator[Tensor]:
    """``images`` (or ``images[index]``) in order, a few MiB of rows at a time: views of a
    contiguous tensor, and only each chunk's rows gathered for a subset."""
    rows = len(images) if index is None else len(index)
    row_bytes = max(1, images[:1].numel() * images.element_size())
    step = max(1, HASH_CHUNK_BYTES // row_bytes)
    for start in range(0, rows, step):
        if index is None:
            yield images[start : start + step]
        else:
            yield images[index[start : start + step]]


def content_key(images: Tensor, weights_id: str, index: Tensor | None = None) -> str:
    """SHA-256 of the images' shape and bytes (of ``images[index]`` with ``index``) and the
    network's id. The bytes go in row by row exactly as ``images[index].numpy().tobytes()``
    would give them, so keys made before chunked hashing still match."""
    rows = len(images) if index is None else len(index)
    digest = hashlib.sha256()
    digest.update(f"ganzoo-reference-v{CACHE_VERSION}|{weights_id}|".encode())
    digest.update(str((rows, *images.shape[1:])).encode())
    for chunk in row_chunks(images, index):
        digest.update(chunk.contiguous().numpy())
    return digest.hexdigest()[:40]


def reference_path(key: str) -> Path:
    return cache_dir("reference") / f"{key}.safetensors"


def reference_features(ctx) -> Tensor:
    images, index = ctx.reference_subset()
    count = len(images) if index is None else len(index)
    net = ctx.inception()
    path = reference_path(content_key(images, net.weights_id, index))
    if path.exists():
        try:
            cached = load_file(path)
            ctx.report(f"using cached reference features ({len(cached['features'])} images)")
            return cached["features"]
        except (SafetensorError, OSError, KeyError):
            pass  # a damaged cache entry is recomputed and rewritten
    features = ctx.extract("reference", images, index)
    wide = features.double()
    mean = wide.mean(0)
    cov = torch.cov(wide.T)
    del wide
    try:
        atomic_write_bytes(
            path,
            save(
                {"features": features.contiguous(), "mu": mean, "sigma": cov},
                metadata={"weights_id": net.weights_id, "count": str(count)},
            ),
        )
    except OSError as exc:
        ctx.report(f"could not cache reference features in {path}: {exc}")
    return features
