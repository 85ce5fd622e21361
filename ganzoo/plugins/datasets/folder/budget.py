"""The memory the decoding threads may hold at once, shared between them.

Each image reserves what its decode will take (estimated from its header) before it is
decoded, and gives it back when done; a reservation waits until it fits. Reservations are
granted in the order they were asked for, so a large image is never starved by a stream of
small ones; one larger than the whole budget runs alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

DECODE_MEMORY_BUDGET = 1 << 30  # 1 GiB for all the images being decoded at once


class Cancelled(Exception):
    """The decode was abandoned (Ctrl-C): stop at the next check, quietly."""


class MemoryBudget:
    def __init__(self, total: int = DECODE_MEMORY_BUDGET) -> None:
        if total < 1:
            raise ValueError("a memory budget needs at least one byte")
        self.total = total
        self.used = 0
        self.peak = 0  # the most held at once, for tests and benchmarks
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._closed = False

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold ``amount`` bytes of the budget for the ``with`` block; raise Cancelled once
        the budget is closed."""
        amount = max(0, int(amount))
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while not self._closed and not (
                ticket == self._serving and (self.used == 0 or self.used + amount <= self.total)
            ):
                self._cond.wait()
            if self._closed:
                raise Cancelled
            self._serving += 1
            self.used += amount
            self.peak = max(self.peak, self.used)
            self._cond.notify_all()  # the next ticket may fit too
        try:
            yield
        finally:
            with self._cond:
                self.used -= amount
                self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiting reservation with Cancelled; later ones are refused too."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
