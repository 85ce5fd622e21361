"""The least-squares GAN loss (Mao et al. 2017, "Least Squares Generative Adversarial
Networks").

D regresses its raw output towards ``b`` on real samples and ``a`` on generated ones; G
pulls D's output on its samples towards ``c``. With the defaults a=0, b=1, c=1:

    D: min ½E[(D(x) - 1)²] + ½E[D(G(z))²]
    G: min ½E[(D(G(z)) - 1)²]

D's output is used as is, with no sigmoid: ganzoo discriminators return raw logits, and a
squashed output would bring back the vanishing gradients the least-squares loss avoids.

``r1`` > 0 adds the R1 penalty (Mescheder et al. 2018) through ganzoo's penalty hook:
(r1 / 2) E[||∇D(x)||²] on real samples. It shows how a plugin's loss carries a penalty
that needs the discriminator itself, and works with any model.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo import Loss


class LeastSquaresLoss(Loss):
    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0, r1: float = 0.0) -> None:
        self.a = float(a)
        self.b = float(b)
        self.c = float(c)
        self.r1 = float(r1)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_term = (real_logits - self.b).square().mean()
        fake_term = (fake_logits - self.a).square().mean()
        return 0.5 * real_term + 0.5 * fake_term

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits - self.c).square().mean()

    def discriminator_penalty(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator
    ) -> Tensor | None:
        if self.r1 == 0:
            return None
        real = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminator(real).float().sum(), real, create_graph=True)
        return 0.5 * self.r1 * grad.flatten(1).square().sum(1).mean()

    def diagnostics(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        # D regresses to targets here: its mean outputs say more than a sigmoid would.
        return {
            "d_real_out": real_logits.detach().mean(),
            "d_fake_out": fake_logits.detach().mean(),
        }
