"""An exponential moving average of the generator's weights (StyleGAN's G_ema).

Averaging the generator over recent steps smooths out the oscillation of adversarial
training; samples from the average are usually better than from the raw weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        for average, current in zip(self.module.parameters(), source.parameters()):
            average.lerp_(current.detach(), 1.0 - self.decay)
        # Buffers (batch-norm statistics) are not averaged: the latest ones describe the
        # activations of the latest weights best.
        for average, current in zip(self.module.buffers(), source.buffers()):
            average.copy_(current)
