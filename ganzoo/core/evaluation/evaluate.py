"""Evaluating a checkpoint: generate samples, hand them and the reference data to metric
plugins, collect one flat dict of numbers.

Metrics share an ``EvalContext`` so expensive work (Inception features of the generated and
the real images) is done once however many metrics use it. Both sides stream: generated
samples are made a block at a time on the device and reduced there to features; reference
images are read from the store (possibly memory-mapped, larger than RAM) a batch of rows at a
time, a subset being a list of row numbers rather than a copy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ganzoo.core.data.store import DataStore, to_uint8_images
from ganzoo.core.errors import ConfigError
from ganzoo.core.evaluation.generated import GeneratedSamples
from ganzoo.core.limits import MAX_EVAL_BYTES

DEFAULT_MAX_REFERENCE = 50_000


class Metric(ABC):
    """Interface: compute named scalar results from an ``EvalContext``.

    A metric that reads ``ctx.fake_features()``/``ctx.real_features()`` sets
    ``needs_inception``: ``ganzoo eval`` then makes sure the network is there before it
    generates anything.
    """

    needs_inception: bool = False

    @abstractmethod
    def compute(self, ctx: EvalContext) -> dict[str, float]:
        raise NotImplementedError  # abstract


@dataclass
class EvalContext:
    """What a metric reads. ``generated`` is the generated set: streamed from the generator
    (``GeneratedSamples``), or a tensor of model-space samples given whole."""

    generated: GeneratedSamples | Tensor
    real: DataStore  # the reference data set
    device: torch.device
    seed: int = 0
    inception_weights: str | None = None
    batch_size: int = 64
    max_reference: int = DEFAULT_MAX_REFERENCE
    report: Callable[[str], None] = field(default=lambda message: None)
    progress: Callable[[str, int, int], None] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute once per evaluation, whichever metric asks first."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def inception(self):
        from ganzoo.core.evaluation.inception import load_inception

        return self.memo("inception", lambda: load_inception(self.inception_weights, self.device))

    def _step(self, label: str) -> Callable[[int, int], None]:
        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(label, done, total)

        return step

    def extract(self, label: str, images: Tensor, index: Tensor | None = None) -> Tensor:
        """Inception features of uint8 images (of ``images[index]`` with ``index``, gathered
        a batch at a time), with progress reported under ``label``."""
        from ganzoo.core.evaluation.inception import extract_features

        return extract_features(
            self.inception(), images, self.batch_size, self.device, self._step(label), index
        )

    # The generated side.

    @property
    def fake_count(self) -> int:
        """How many samples were generated (``-n``)."""
        generated = self.generated
        return len(generated) if isinstance(generated, Tensor) else generated.count

    def fake_batches(self) -> Iterator[Tensor]:
        """The generated samples in model space, float32, a batch at a time, on the
        evaluation's device for a streamed set: the way to read them without holding them."""
        whole = self._memo.get("fake")
        if whole is None and isinstance(self.generated, Tensor):
            whole = self.generated
        if whole is None:
            yield from self.generated.batches()
            return
        for start in range(0, len(whole), self.batch_size):
            yield whole[start : start + self.batch_size].to(self.device)

    def fake_uint8_batches(self) -> Iterator[Tensor]:
        """Generated images as uint8, at most ``batch_size`` at a time, converted on the
        device they were made on."""
        for batch in self.fake_batches():
            images = to_uint8_images(batch)
            del batch
            for start in range(0, len(images), self.batch_size):
                yield images[start : start + self.batch_size]

    @property
    def fake(self) -> Tensor:
        """Every generated sample in model space, float32, on the CPU, made on first use and
        kept: the whole set in memory, which metrics of images should not need (they read
        ``fake_features()`` or stream ``fake_batches()``); the 2,500 points of a 2D model
        are small."""
        if isinstance(self.generated, Tensor):
            return self.generated
        return self.memo("fake", self._gather_fake)

    def _gather_fake(self) -> Tensor:
        shape = self.generated.shape
        count = self.generated.count
        if count * math.prod(shape) * 4 > MAX_EVAL_BYTES:
            raise ConfigError(
                f"a metric asked for all {count:,} generated samples of shape {shape} at once, "
                f"more than {MAX_EVAL_BYTES >> 30} GiB; use a smaller -n"
            )
        out = torch.empty(count, *shape)
        done = 0
        for batch in self.generated.batches():
            out[done : done + len(batch)] = batch
            done += len(batch)
        return out

    def fake_features(self) -> Tensor:
        """Inception pool features (N, 2048) of the generated images."""
        from ganzoo.core.evaluation.inception import features_of_batches

        return self.memo(
            "fake_features",
            lambda: features_of_batches(
                self.inception(),
                self.fake_uint8_batches(),
                self.fake_count,
                self.device,
                self._step("generated"),
            ),
        )

    # The reference side.

    def real_features(self) -> Tensor:
        """Inception features of the reference images, cached on disk by content hash."""
        from ganzoo.core.evaluation.reference_cache import reference_features

        return self.memo("real_features", lambda: reference_features(self))

    def reference_subset(self) -> tuple[Tensor, Tensor | None]:
        """The reference images and, when the set holds more than ``max_reference``, the
        sorted row numbers of a fixed random subset of them (None: all rows). The images are
        the store's own tensor, never copied."""
        return self.memo("reference_subset", self._reference_subset)

    def _reference_subset(self) -> tuple[Tensor, Tensor | None]:
        images = self.real.tensor
        if len(images) <= self.max_reference:
            return images, None
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        return images, order[: self.max_reference].sort().values

    def reference_images(self) -> Tensor:
        """At most ``max_reference`` real images, a fixed subset when the set is larger: a
        copy of that subset (``reference_subset()`` reads it without one)."""
        images, index = self.reference_subset()
        return images if index is None else images[index]
