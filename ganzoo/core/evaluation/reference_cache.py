"""Reference-set statistics, cached by the data's content hash and the feature network.

Decoding and embedding thousands of real images costs minutes on a CPU; the second
evaluation against the same data reuses the features (and their mean and covariance).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor

from ganzoo.core.files import atomic_write_bytes
from ganzoo.core.paths import cache_dir

CACHE_VERSION = "1"


def content_key(images: Tensor, weights_id: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"ganzoo-reference-v{CACHE_VERSION}|{weights_id}|".encode())
    digest.update(str(tuple(images.shape)).encode())
    digest.update(images.contiguous().numpy().tobytes())
    return digest.hexdigest()[:40]


def reference_path(key: str) -> Path:
    return cache_dir("reference") / f"{key}.safetensors"


def reference_features(ctx) -> Tensor:
    images = ctx.reference_images()
    net = ctx.inception()
    path = reference_path(content_key(images, net.weights_id))
    if path.exists():
        try:
            cached = load_file(path)
            ctx.report(f"using cached reference features ({len(cached['features'])} images)")
            return cached["features"]
        except (SafetensorError, OSError, KeyError):
            pass  # a damaged cache entry is recomputed and rewritten
    features = ctx.extract("reference", images)
    mean = features.double().mean(0)
    cov = torch.cov(features.double().T)
    try:
        atomic_write_bytes(
            path,
            save(
                {"features": features.contiguous(), "mu": mean, "sigma": cov},
                metadata={"weights_id": net.weights_id, "count": str(len(images))},
            ),
        )
    except OSError as exc:
        ctx.report(f"could not cache reference features in {path}: {exc}")
    return features
