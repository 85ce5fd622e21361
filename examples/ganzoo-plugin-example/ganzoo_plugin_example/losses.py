"""The least-squares GAN loss (Mao et al. 2017, "Least Squares Generative Adversarial
Networks").

D regresses its raw output towards ``b`` on real samples and ``a`` on generated ones; G
pulls D's output on its samples towards ``c``. With the defaults a=0, b=1, c=1:

    D: min ½E[(D(x) - 1)²] + ½E[D(G(z))²]
    G: min ½E[(D(G(z)) - 1)²]

D's output is used as is, with no sigmoid: ganzoo discriminators return raw logits, and a
squashed output would bring back the vanishing gradients the least-squares loss avoids.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo import Loss


class LeastSquaresLoss(Loss):
    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a = float(a)
        self.b = float(b)
        self.c = float(c)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_term = (real_logits - self.b).square().mean()
        fake_term = (fake_logits - self.a).square().mean()
        return 0.5 * real_term + 0.5 * fake_term

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits - self.c).square().mean()
