"""Batches as records of named fields, drawn from a store's tables on the training device.

Each table of the store (``x`` with its labels; a source with its target; each unpaired
domain) has its own epoch sampler, so unpaired domains are drawn independently. One draw
counter serves them all: a batch takes the next rows of every table, and the order depends
only on (seed, table, epoch), so a resumed run continues from the counter alone. In a
distributed run each rank keeps its slice of every global batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.core.data.sampler import EpochSampler
from ganzoo.core.data.store import DataStore
from ganzoo.core.distributed import SINGLE, Ranks
from ganzoo.core.errors import DataError

# Data sets up to this size live on the GPU, so a batch is an index, not a host copy.
MAX_DEVICE_DATA_BYTES = 4 << 30
_TABLE_SEED_STEP = 7919  # each table's order is seeded apart from the others


class BatchSource:
    def __init__(
        self,
        store: DataStore,
        needs: tuple[str, ...],
        batch_size: int,
        seed: int,
        device: torch.device,
        spec: str = "the dataset",
        ranks: Ranks = SINGLE,
    ) -> None:
        self.store, self.device = store, device
        # Every rank draws the same global batch and keeps its own contiguous slice.
        self.ranks = ranks
        self.local = batch_size // ranks.world
        wanted = set(needs)
        self.tables: list[dict[str, Tensor]] = [
            {name: t for name, t in table.items() if name in wanted}
            for table in store.tables()
            if wanted & set(table)
        ]
        nbytes = sum(t.numel() * t.element_size() for tab in self.tables for t in tab.values())
        on_device = nbytes <= MAX_DEVICE_DATA_BYTES
        self.samplers = []
        for index, table in enumerate(self.tables):
            rows = len(next(iter(table.values())))
            if rows < batch_size:
                raise DataError(
                    f"{spec} has {rows} samples ({', '.join(table)}), fewer than --batch-size "
                    f"{batch_size}; lower --batch-size"
                )
            self.samplers.append(EpochSampler(rows, batch_size, seed + _TABLE_SEED_STEP * index))
            if on_device:
                self.tables[index] = {name: t.to(device) for name, t in table.items()}
        # An epoch is a pass over the largest table.
        self.reference = max(range(len(self.samplers)), key=lambda i: self.samplers[i].size)
        self.draws = 0

    def __len__(self) -> int:
        return self.samplers[self.reference].size

    @property
    def per_epoch(self) -> int:
        return self.samplers[self.reference].per_epoch

    def epoch(self) -> float:
        return self.samplers[self.reference].epoch_of(self.draws)

    def next(self) -> dict[str, Tensor]:
        batch: dict[str, Tensor] = {}
        for table, sampler in zip(self.tables, self.samplers):
            index = sampler.indices(self.draws)
            if self.ranks.active:
                index = index[self.ranks.rank * self.local : (self.ranks.rank + 1) * self.local]
            for name, data in table.items():
                rows = data[index.to(data.device)].to(self.device, non_blocking=True)
                batch[name] = self.store.to_model_space(rows, name)
        self.draws += 1
        return batch

    def fixed(self, n: int, seed: int) -> dict[str, Tensor]:
        """Up to ``n`` rows of every table, the same for a seed: the preview picture's
        inputs (on the CPU, in model space)."""
        out: dict[str, Tensor] = {}
        gen = torch.Generator().manual_seed(seed)
        for table in self.tables:
            rows = len(next(iter(table.values())))
            index = torch.randperm(rows, generator=gen)[:n]
            for name, data in table.items():
                out[name] = self.store.to_model_space(data[index.to(data.device)].cpu(), name)
        return out
