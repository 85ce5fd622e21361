"""Which samples form each batch: a fresh permutation every epoch, derived from the seed.

The order depends only on (seed, epoch), so a resumed run continues from the draw counter
alone, with nothing else to save.
"""

from __future__ import annotations

import torch
from torch import Tensor


class EpochSampler:
    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.per_epoch = max(1, size // batch_size)
        self._epoch = -1
        self._order: Tensor | None = None

    def indices(self, draw: int) -> Tensor:
        """Indices of the ``draw``-th batch of the run (0-based)."""
        epoch, position = divmod(draw, self.per_epoch)
        if epoch != self._epoch:
            # Modulo 2**64 (a generator's seed range); the identity for every seed below 2**44.
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**64)
            self._order = torch.randperm(self.size, generator=gen)
            self._epoch = epoch
        start = position * self.batch_size
        return self._order[start : start + self.batch_size]

    def epoch_of(self, draw: int) -> float:
        return draw / self.per_epoch
