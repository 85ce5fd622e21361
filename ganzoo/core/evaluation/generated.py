"""The generated side of an evaluation, streamed: a block of samples at a time is made on the
generator's device and turned into what the metrics read (uint8 images for the feature
network) there, so ``eval -n 50000`` never holds the generated set in memory, as float or
at all: only its Inception features stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from torch import Tensor

# Generator.iter_samples' latent block: the same seed then gives exactly the samples of
# ``generator.sample(count, seed=seed)``, the set ``eval`` always compared.
BLOCK = 256


@dataclass(frozen=True)
class GeneratedSamples:
    """``count`` samples of ``generator`` from ``seed``; made anew, identically, each time
    they are iterated."""

    generator: Any  # a ganzoo.core.interfaces.Generator
    count: int
    seed: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.generator.data_shape)

    def batches(self) -> Iterator[Tensor]:
        """Model-space float32 samples on the generator's device, ``BLOCK`` at a time."""
        return self.generator.iter_samples(
            self.count, seed=self.seed, batch_size=BLOCK, on_device=True
        )
