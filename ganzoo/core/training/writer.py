"""Run-folder writes (checkpoints, sample grids, loss curves) off the step loop.

The trainer snapshots what a write needs (a copy of the weights, the picture's pixels) and
hands the rest (serialising, hashing, fsync, PNG encoding) to one background thread, so a
checkpoint stalls the loop for the copy, not the write. One write runs at a time, in the
order handed in; handing in another waits for the one before, so the work never piles up.
A write that fails re-raises in the trainer at the next hand-in or at ``wait``. Files stay
atomic (``core.files``): a kill mid-write leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


def snapshot(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Copies on the CPU that the training steps after this one cannot change, in the
    standard (contiguous) layout whatever the training one (channels_last weights): the
    file holds plain row-major tensors."""
    return {
        k: t.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for k, t in tensors.items()
    }


class BackgroundWriter:
    def __init__(self, background: bool = True) -> None:
        self.background = background
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, write: Callable[[], Any]) -> None:
        """Run ``write`` after every earlier one; in the background when enabled."""
        self.wait()
        if not self.background:
            write()
            return

        def target() -> None:
            try:
                write()
            except BaseException as error:  # re-raised in the trainer's thread
                self._error = error

        self._thread = threading.Thread(target=target, name="ganzoo-writer", daemon=False)
        self._thread.start()

    def wait(self) -> None:
        """Block until the pending write is on disk; re-raise its error, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
