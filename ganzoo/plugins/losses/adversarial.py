"""Minimax and non-saturating losses on raw logits.

With D(x) = sigmoid(l): -log D(x) = softplus(-l) and -log(1 - D(x)) = softplus(l), which
stay finite for any logit, unlike log(sigmoid(l)).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.core.interfaces import Loss


class _BinaryDiscriminatorLoss(Loss):
    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        # -E[log D(x)] - E[log(1 - D(G(z)))]
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class MinimaxLoss(_BinaryDiscriminatorLoss):
    """G minimises E[log(1 - D(G(z)))] = -E[softplus(l)]: the saturating form."""

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return -F.softplus(fake_logits).mean()


class NonSaturatingLoss(_BinaryDiscriminatorLoss):
    """G minimises -E[log D(G(z))] = E[softplus(-l)]."""

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(-fake_logits).mean()
