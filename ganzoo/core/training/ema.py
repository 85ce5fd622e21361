"""An exponential moving average of the generator's weights (StyleGAN's G_ema).

Averaging the generator over recent steps smooths out the oscillation of adversarial
training; samples from the average are usually better than from the raw weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``decay`` per update; with ``rampup`` the decay at step t is min(decay, (1 + t) /
    (10 + t)) (TensorFlow's ExponentialMovingAverage with num_updates), so the average
    forgets the random initial weights quickly. It depends on the step alone: a resumed run
    averages exactly as an uninterrupted one."""

    def __init__(self, module: nn.Module, decay: float, rampup: bool = False) -> None:
        self.decay = decay
        self.rampup = rampup
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step)) if self.rampup else self.decay

    @torch.no_grad()
    def update(self, source: nn.Module, step: int = 0) -> None:
        decay = self.decay_at(step)
        # One multi-tensor kernel per list on a GPU, not one per parameter; the weight is a
        # Python number, so nothing waits for the device.
        averages = list(self.module.parameters())
        if averages:
            torch._foreach_lerp_(averages, [p.detach() for p in source.parameters()], 1.0 - decay)
        # Buffers (batch-norm statistics) are not averaged: the latest ones describe the
        # activations of the latest weights best.
        buffers = list(self.module.buffers())
        if buffers:
            torch._foreach_copy_(buffers, list(source.buffers()))
