"""Batches from host memory without stalling the training step: the next batch is gathered
one step ahead, in a worker thread, while the current one trains.

On CUDA the worker gathers each field's rows straight into page-locked (pinned) host memory
and copies them to the device with ``non_blocking=True`` on a side stream; the training
stream waits for that copy (an event, not the host) before it uses the batch, and the
batch's memory is recorded as used by the training stream, so the allocator does not hand
it out again while the step still reads it. The pinned buffers come from torch's caching
host allocator, which reuses one only after the copy out of it has finished.

Which batch is gathered depends only on the draw number it is asked for: the batch for
draw ``k`` is exactly what a direct gather of draw ``k`` gives, and asking for another draw
than the one prepared (a resume, a rewind) discards the prepared one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

# draw -> {field: (host table, row indices)}: what the batch of that draw is made of.
Plan = Callable[[int], dict[str, tuple[Tensor, Tensor]]]


def gather(table: Tensor, index: Tensor, pin: bool) -> Tensor:
    """``table[index]`` (rows along the first dimension), into pinned memory when ``pin``."""
    out = torch.empty((len(index), *table.shape[1:]), dtype=table.dtype, pin_memory=pin)
    return torch.index_select(table, 0, index, out=out)


class Prefetcher:
    """Batches of host rows, each prepared while the previous one is in use."""

    def __init__(self, plan: Plan, device: torch.device) -> None:
        self.plan, self.device = plan, device
        self.cuda = device.type == "cuda"
        self.stream = torch.cuda.Stream(device) if self.cuda else None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[int, Future] | None = None

    def _load(self, draw: int) -> tuple[dict[str, Tensor], Any]:
        """The batch of ``draw`` on the device (in the worker thread), and the event that
        marks the end of its copy (None off CUDA)."""
        rows = {name: gather(table, index, self.cuda) for name, (table, index) in
                self.plan(draw).items()}  # fmt: skip
        if not self.cuda:
            return rows, None
        # This thread's current device is cuda:0 until set: entering the stream on another
        # device would otherwise make a stray CUDA context on GPU 0 (every torchrun rank).
        with torch.cuda.device(self.device), torch.cuda.stream(self.stream):
            moved = {name: t.to(self.device, non_blocking=True) for name, t in rows.items()}
            done = torch.cuda.Event()
            done.record(self.stream)
        return moved, done

    def _submit(self, draw: int) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="ganzoo-prefetch")
        return self._pool.submit(self._load, draw)

    def get(self, draw: int) -> dict[str, Tensor]:
        """The batch of ``draw``; the one of ``draw + 1`` starts on its way."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == draw:
            future = pending[1]
        else:
            if pending is not None:
                _finish(pending[1])  # one gather at a time: the samplers are not shared
            future = self._submit(draw)
        batch, done = future.result()
        self._pending = (draw + 1, self._submit(draw + 1))
        if done is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(done)
            for tensor in batch.values():
                tensor.record_stream(current)
        return batch

    def discard(self) -> None:
        """Drop the prepared batch (its draw is no longer the next one)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            _finish(pending[1])

    def close(self) -> None:
        if self._pending is not None:
            self._pending[1].cancel()
            self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _finish(future: Future) -> None:
    """Wait for a batch nobody will use; an error in it is the direct gather's to report,
    when that batch is asked for."""
    with contextlib.suppress(Exception):
        future.result()
