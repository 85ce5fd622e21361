"""Data stores: what a dataset source plugin returns, and how the trainer reads it.

A store holds a whole dataset as named fields (see ``FIELDS``), grouped into *tables* whose
rows are drawn together: ``x`` with its ``label``; a ``source`` with its paired ``target``;
and the unpaired domains ``a`` and ``b``, each a table of its own, drawn independently.
Images are uint8 ``(N, C, H, W)``, points float32 ``(N, D)``, labels int64 ``(N,)``.
Normalisation happens on the training device, batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.core.data.fields import DIRECTIONS, FIELDS, SAMPLE_FIELDS, TABLES, describe_fields
from ganzoo.core.errors import ConfigError

__all__ = ["DIRECTIONS", "FIELDS", "DataRequest", "DataStore", "describe_fields", "parse_spec"]


@dataclass(frozen=True)
class DataRequest:
    """What the trainer asks of a dataset source.

    ``argument`` is the part after ``NAME:`` in a dataset spec (a folder path, say).
    ``resolution`` and ``channels`` apply to image sources; point sources ignore them.
    ``needs`` are the fields the model trains on: a source that can give a field only in
    some cases (labels from class subfolders) says so before it decodes anything.
    ``direction`` says which side of a paired set is the source (``AtoB``: A is).
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
    needs: frozenset[str] = frozenset({"x"})
    direction: str = "AtoB"
    report: Callable[[str], None] = field(default=lambda message: None)


@dataclass
class DataStore:
    """A dataset in memory. ``tensor`` is the ``x`` field (kept under that name because
    most sources give nothing else); the other fields are optional."""

    kind: str  # "image" | "points"
    tensor: Tensor | None = None
    description: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cache: str | None = None  # "hit" | "miss" | None (not cached)
    # For mixtures with known components (ring8, grid25): (means (K, D), std), which mode
    # coverage metrics measure against.
    modes: tuple[Tensor, float] | None = None
    labels: Tensor | None = None
    classes: tuple[str, ...] | None = None
    source: Tensor | None = None
    target: Tensor | None = None
    a: Tensor | None = None
    b: Tensor | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("image", "points"):
            raise ValueError(f"unknown data kind {self.kind!r}")
        present = self.fields()
        if not any(name in present for name in SAMPLE_FIELDS):
            raise ValueError("a data store needs samples: x, source/target, or a/b")
        shapes = set()
        for name in SAMPLE_FIELDS:
            if name in present:
                self._check_samples(name, present[name])
                shapes.add(tuple(present[name].shape[1:]))
        if len(shapes) > 1:
            raise ValueError(f"every image field must have the same shape; got {sorted(shapes)}")
        if ("source" in present) != ("target" in present):
            raise ValueError("a paired store needs both source and target")
        if "source" in present and len(self.source) != len(self.target):
            raise ValueError("source and target must have the same number of rows")
        if self.labels is not None:
            self._check_labels()
        elif self.classes is not None:
            raise ValueError("class names come with labels")

    def _check_samples(self, name: str, tensor: Tensor) -> None:
        if self.kind == "image":
            if tensor.dtype != torch.uint8 or tensor.ndim != 4:
                raise ValueError(f"an image field holds uint8 (N, C, H, W); {name} does not")
        elif not tensor.is_floating_point() or tensor.ndim != 2:
            raise ValueError(f"a points field holds float (N, D); {name} does not")
        if len(tensor) == 0:
            raise ValueError(f"a data store needs at least one sample in {name}")

    def _check_labels(self) -> None:
        labels = self.labels
        if self.tensor is None:
            raise ValueError("labels belong to the x field, which this store lacks")
        if labels.dtype != torch.int64 or labels.ndim != 1 or len(labels) != len(self.tensor):
            raise ValueError("labels are int64 (N,), one per sample of x")
        if not self.classes or not all(isinstance(c, str) and c for c in self.classes):
            raise ValueError("labels need their class names (non-empty strings)")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("class names must be distinct")
        if int(labels.min()) < 0 or int(labels.max()) >= len(self.classes):
            raise ValueError("every label must index one of the class names")

    def fields(self) -> dict[str, Tensor]:
        named = {
            "x": self.tensor,
            "label": self.labels,
            "source": self.source,
            "target": self.target,
            "a": self.a,
            "b": self.b,
        }
        return {name: value for name, value in named.items() if value is not None}

    @property
    def provides(self) -> frozenset[str]:
        return frozenset(self.fields())

    def tables(self) -> list[dict[str, Tensor]]:
        """Groups of fields drawn together, row by row; unpaired domains are one each."""
        present = self.fields()
        out = []
        for names in TABLES:
            table = {name: present[name] for name in names if name in present}
            if table:
                out.append(table)
        return out

    def __len__(self) -> int:
        """Rows of the largest table: what one epoch passes over."""
        return max(len(next(iter(table.values()))) for table in self.tables())

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.fields().values())

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample (every image field has the same)."""
        present = self.fields()
        first = next(name for name in SAMPLE_FIELDS if name in present)
        return tuple(present[first].shape[1:])

    def samples(self) -> Tensor:
        """The main samples (x, or else the target or domain B images): what the generated
        images are compared with."""
        present = self.fields()
        for name in ("x", "target", "b", "a"):
            if name in present:
                return present[name]
        raise AssertionError("a store always has samples")

    def to_model_space(self, batch: Tensor, name: str = "x") -> Tensor:
        """uint8 images -> float in [-1, 1]; points unchanged; labels stay int64."""
        if name == "label":
            return batch
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
