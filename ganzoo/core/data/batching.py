"""Batches as records of named fields, drawn from a store's tables on the training device.

Each table of the store (``x`` with its labels; a source with its target; each unpaired
domain) has its own epoch sampler, so unpaired domains are drawn independently. One draw
counter serves them all: a batch takes the next rows of every table, and the order depends
only on (seed, table, epoch), so a resumed run continues from the counter alone. In a
distributed run each rank keeps its slice of every global batch.

Nothing here waits for the GPU: the row indices reach the device through pinned memory
without a blocking copy, and data kept on the host is gathered and copied one batch ahead
(``prefetch.Prefetcher``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganzoo.core.data.prefetch import Prefetcher
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
        placement: str = "auto",
        channels_last: bool = False,
        prefetch: bool | None = None,
    ) -> None:
        """``placement``: "device" keeps the tables on ``device``, "host" where the store has
        them, "auto" on the device up to MAX_DEVICE_DATA_BYTES. ``channels_last``: image
        fields come in that memory layout. ``prefetch``: gather host tables one batch ahead
        (None: on CUDA)."""
        self.store, self.device = store, device
        self.channels_last = channels_last
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
        on_device = placement == "device" or (
            placement == "auto" and nbytes <= MAX_DEVICE_DATA_BYTES
        )
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
        self._draws = 0
        self.on_device = on_device
        if prefetch is None:
            prefetch = device.type == "cuda"
        self.prefetcher = Prefetcher(self._plan, device) if prefetch and not on_device else None
        self._pin = device.type == "cuda"  # indices reach the device without a blocking copy

    @property
    def draws(self) -> int:
        """Batches drawn so far: the next batch is the one of this draw."""
        return self._draws

    @draws.setter
    def draws(self, value: int) -> None:
        if value != self._draws and self.prefetcher is not None:
            self.prefetcher.discard()
        self._draws = value

    def close(self) -> None:
        """Stop the prefetching thread, if any (drawing again restarts it)."""
        if self.prefetcher is not None:
            self.prefetcher.close()

    def __len__(self) -> int:
        return self.samplers[self.reference].size

    @property
    def per_epoch(self) -> int:
        return self.samplers[self.reference].per_epoch

    def epoch(self) -> float:
        return self.samplers[self.reference].epoch_of(self.draws)

    def _indices(self, table: int, draw: int) -> Tensor:
        index = self.samplers[table].indices(draw)
        if self.ranks.active:
            index = index[self.ranks.rank * self.local : (self.ranks.rank + 1) * self.local]
        return index

    def _plan(self, draw: int) -> dict[str, tuple[Tensor, Tensor]]:
        """Each field's host table and the rows of ``draw`` in it (what the prefetcher
        gathers)."""
        out = {}
        for number, table in enumerate(self.tables):
            index = self._indices(number, draw)
            out.update({name: (data, index) for name, data in table.items()})
        return out

    def _rows(self, draw: int) -> dict[str, Tensor]:
        """The raw rows of ``draw`` (uint8 images, labels, points) on the device."""
        if self.prefetcher is not None:
            return self.prefetcher.get(draw)
        rows: dict[str, Tensor] = {}
        for number, table in enumerate(self.tables):
            index = self._indices(number, draw)
            moved: dict[Any, Tensor] = {}
            for name, data in table.items():
                if data.device not in moved:
                    if self._pin and data.device.type == "cuda":
                        moved[data.device] = index.pin_memory().to(data.device, non_blocking=True)
                    else:
                        moved[data.device] = index.to(data.device)
                rows[name] = data[moved[data.device]].to(self.device, non_blocking=True)
        return rows

    def next(self) -> dict[str, Tensor]:
        batch: dict[str, Tensor] = {}
        for name, rows in self._rows(self._draws).items():
            if self.channels_last and rows.ndim == 4:
                # The layout change on uint8 moves a quarter of the bytes it would on floats.
                rows = rows.contiguous(memory_format=torch.channels_last)
            batch[name] = self.store.to_model_space(rows, name)
            if self.channels_last and batch[name].ndim == 4:
                batch[name] = batch[name].contiguous(memory_format=torch.channels_last)
        self._draws += 1
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
