"""Random numbers for augmentations, drawn from the run's generator only.

Every draw comes from the generator a step passes (the run's seeded source, saved with each
checkpoint), on that generator's device, so a resumed run draws exactly what an
uninterrupted one would. A given batch shape always consumes the same draws, whatever the
augmentation's probability, so the stream never depends on the training state.
"""

from __future__ import annotations

import torch
from torch import Tensor


class Draws:
    """Uniform, normal and integer draws for a batch on ``device``."""

    def __init__(self, generator: torch.Generator | None, device: torch.device) -> None:
        self.generator = generator
        self.device = device
        self.source = generator.device if generator is not None else device

    def uniform(self, *shape: int) -> Tensor:
        out = torch.rand(shape, generator=self.generator, device=self.source)
        return out.to(self.device)

    def normal(self, *shape: int) -> Tensor:
        out = torch.randn(shape, generator=self.generator, device=self.source)
        return out.to(self.device)

    def integers(self, low: int, high: int, *shape: int) -> Tensor:
        """Whole numbers in [low, high)."""
        out = torch.randint(low, high, shape, generator=self.generator, device=self.source)
        return out.to(self.device)
