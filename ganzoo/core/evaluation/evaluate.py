"""Evaluating a checkpoint: generate samples, hand them and the reference data to metric
plugins, collect one flat dict of numbers.

Metrics share an ``EvalContext`` so expensive work (Inception features of the generated and
the real images) is done once however many metrics use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ganzoo.core.data.store import DataStore, to_uint8_images

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
    fake: Tensor  # generated samples in model space, on the CPU
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

    def extract(self, label: str, images: Tensor) -> Tensor:
        """Inception features of uint8 images, with progress reported under ``label``."""
        from ganzoo.core.evaluation.inception import extract_features

        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(label, done, total)

        return extract_features(self.inception(), images, self.batch_size, self.device, report=step)

    def fake_features(self) -> Tensor:
        """Inception pool features (N, 2048) of the generated images."""
        return self.memo(
            "fake_features",
            lambda: self.extract("generated", to_uint8_images(self.fake)),
        )

    def real_features(self) -> Tensor:
        """Inception features of the reference images, cached on disk by content hash."""
        from ganzoo.core.evaluation.reference_cache import reference_features

        return self.memo("real_features", lambda: reference_features(self))

    def reference_images(self) -> Tensor:
        """At most ``max_reference`` real images, a fixed subset when the set is larger."""
        images = self.real.tensor
        if len(images) <= self.max_reference:
            return images
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        return images[order[: self.max_reference].sort().values]
