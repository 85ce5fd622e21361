"""Data stores: what a dataset source plugin returns, and how the trainer reads it.

A store holds the whole dataset as one tensor: uint8 ``(N, C, H, W)`` images or float32
``(N, D)`` points. Normalisation happens on the training device, batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.core.errors import ConfigError


@dataclass(frozen=True)
class DataRequest:
    """What the trainer asks of a dataset source.

    ``argument`` is the part after ``NAME:`` in a dataset spec (a folder path, say).
    ``resolution`` and ``channels`` apply to image sources; point sources ignore them.
    ``report`` prints a progress or status line for the user.
    """

    argument: str | None
    resolution: int
    channels: int
    seed: int = 0
    size: int | None = None
    cache_dir: Path | None = None
    # The largest image (in pixels, as decoded) an image source decodes; None: the default
    # ganzoo.core.limits.DEFAULT_MAX_IMAGE_PIXELS.
    max_pixels: int | None = None
    report: Callable[[str], None] = field(default=lambda message: None)


@dataclass
class DataStore:
    kind: str  # "image" | "points"
    tensor: Tensor
    description: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cache: str | None = None  # "hit" | "miss" | None (not cached)
    # For mixtures with known components (ring8, grid25): (means (K, D), std), which mode
    # coverage metrics measure against.
    modes: tuple[Tensor, float] | None = None

    def __post_init__(self) -> None:
        if self.kind == "image":
            if self.tensor.dtype != torch.uint8 or self.tensor.ndim != 4:
                raise ValueError("an image store holds a uint8 tensor of shape (N, C, H, W)")
        elif self.kind == "points":
            if not self.tensor.is_floating_point() or self.tensor.ndim != 2:
                raise ValueError("a points store holds a float tensor of shape (N, D)")
        else:
            raise ValueError(f"unknown data kind {self.kind!r}")
        if len(self.tensor) == 0:
            raise ValueError("a data store needs at least one sample")

    def __len__(self) -> int:
        return len(self.tensor)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape[1:])

    def to_model_space(self, batch: Tensor) -> Tensor:
        """uint8 images -> float in [-1, 1]; points unchanged."""
        if self.kind == "image":
            return batch.float().div_(127.5).sub_(1.0)
        return batch.float()


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"folder:./art"`` -> ``("folder", "./art")``; ``"ring8"`` -> ``("ring8", None)``."""
    name, sep, argument = spec.partition(":")
    if not name:
        raise ConfigError(f"invalid dataset spec {spec!r}: expected NAME or NAME:ARGUMENT")
    return name, (argument if sep else None)


def to_uint8_images(samples: Tensor) -> Tensor:
    """Model-space images in [-1, 1] -> uint8, the inverse of ``to_model_space``."""
    return samples.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
