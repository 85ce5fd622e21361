"""The history of generated images that CycleGAN's discriminators learn from (Shrivastava
et al. 2017, section 2.3; Zhu et al. 2017, section 4).

A fixed-capacity tensor ``(capacity, C, H, W)`` and a count. While the pool is filling,
each new image is stored and given to D as is. Once full, each new image is, with
probability 1/2, swapped for a uniformly chosen stored one (D sees the stored image, the new
one takes its place) and otherwise passed through: D sees a mix of current and older
generators' work, which damps oscillation. This is the reference code's ``ImagePool``.

Randomness comes only from the generator passed to ``query`` (the run's seeded source), and
every query draws the same numbers whatever the pool's state, so a resumed run repeats an
uninterrupted one exactly. The contents and the count are the step's checkpointed state.
A query runs on the device without reading anything back to the host (the fill count is
also kept as a Python int), so it does not stall a GPU's step.
"""

from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    def __init__(self, capacity: int, shape: tuple[int, ...], device: torch.device) -> None:
        self.capacity = int(capacity)
        self.shape = tuple(int(s) for s in shape)
        self.images = torch.zeros((self.capacity, *self.shape), device=device)
        self.count = torch.zeros((), dtype=torch.int64, device=device)
        self._filled = 0  # the count as a Python int (no device sync per query)

    def to(self, device: torch.device) -> None:
        self.images = self.images.to(device)
        self.count = self.count.to(device)

    @torch.no_grad()
    def query(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """The batch D should see for the new ``images`` (which it stores as it goes)."""
        images = images.detach().float()
        if self.capacity == 0:
            return images
        if images.device != self.images.device:
            self.to(images.device)
        n = images.shape[0]
        device = generator.device if generator is not None else images.device
        swap = (torch.rand(n, generator=generator, device=device) < 0.5).to(images.device)
        slots = torch.randint(self.capacity, (n,), generator=generator, device=device)
        slots = slots.to(images.device)
        # The first images fill the pool's free slots in order: how many is known here.
        fill = min(n, self.capacity - self._filled)
        if fill:
            self.images[self._filled : self._filled + fill] = images[:fill]
            self._filled += fill
        self.count.fill_(self._filled)
        out = images.clone()
        if fill < n:
            out[fill:] = self._swap(images[fill:], swap[fill:], slots[fill:])
        return out

    def _swap(self, images: Tensor, swap: Tensor, slots: Tensor) -> Tensor:
        """The reference loop over a full pool (image i, if ``swap[i]``, takes the image in
        ``slots[i]`` and leaves itself there), done at once on the device: no Python loop
        over the batch, nothing read back to the host."""
        n = len(images)
        order = torch.arange(1, n + 1, device=images.device)
        # writes[i, j]: image j swaps into image i's slot.
        writes = (slots[:, None] == slots[None, :]) & swap[None, :]
        # What image i finds in its slot: the last image before it that swapped into that
        # slot, else what the pool held.
        before = writes & (order[None, :] < order[:, None])
        last_before = (before * order[None, :]).amax(1)
        found = self.images[slots]
        taken = torch.where(
            (last_before > 0)[:, None, None, None], images[(last_before - 1).clamp(min=0)], found
        )
        # What each slot holds afterwards: the last image that swapped into it. Every write
        # to one slot carries that same value, so duplicate indices cannot disagree.
        last = (writes * order[None, :]).amax(1)
        kept = torch.where((last > 0)[:, None, None, None], images[(last - 1).clamp(min=0)], found)
        self.images[slots] = kept
        return torch.where(swap[:, None, None, None], taken, images)

    def state(self, prefix: str) -> dict[str, Tensor]:
        return {f"{prefix}_images": self.images, f"{prefix}_count": self.count}

    def check(self, state: dict[str, Tensor], prefix: str) -> tuple[Tensor, Tensor, int]:
        """The pool's tensors from ``state``, checked (``ValueError`` for a bad one)."""
        images, count = state[f"{prefix}_images"], state[f"{prefix}_count"]
        want = (self.capacity, *self.shape)
        if not isinstance(images, Tensor) or tuple(images.shape) != want:
            raise ValueError(f"{prefix}_images must have shape {want}")
        if images.dtype != torch.float32:
            raise ValueError(f"{prefix}_images must be float32; got {images.dtype}")
        if not isinstance(count, Tensor) or count.shape != () or count.dtype != torch.int64:
            raise ValueError(f"{prefix}_count must be one int64 number")
        filled = int(count)
        if not 0 <= filled <= self.capacity:
            raise ValueError(f"{prefix}_count must lie in [0, {self.capacity}]; got {filled}")
        # Generated images come out of tanh: anything else was not written by this step.
        if images.numel() and not bool((images.abs() <= 1).all()):
            raise ValueError(f"{prefix}_images must hold finite values in [-1, 1]")
        if bool(images[filled:].any()):
            raise ValueError(f"{prefix}_images holds images past its count {filled}")
        return images, count, filled

    def assign(self, checked: tuple[Tensor, Tensor, int]) -> None:
        """Take the contents ``check`` returned."""
        images, count, filled = checked
        self.images = images.to(self.images.device, copy=True)
        self.count = count.to(self.count.device, copy=True)
        self._filled = filled
