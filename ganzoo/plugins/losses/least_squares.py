"""The least-squares GAN loss (Mao et al. 2017, "Least Squares Generative Adversarial
Networks", arXiv:1611.04076).

D regresses its raw output towards ``b`` on real samples and ``a`` on generated ones; G pulls
D's output on its samples towards ``c``. With the defaults a=0, b=1, c=1 (the paper's
0-1 coding, which CycleGAN uses):

    D: min ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²]
    G: min ½E[(D(G(z)) - c)²]

D's output is used as is, with no sigmoid: a squashed output would bring back the vanishing
gradients the squares avoid. A generated sample far on the real side of the boundary is still
pulled towards it, unlike with the log loss. Means run over every element, so a PatchGAN's
map of outputs is averaged over patches and samples.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo.core.interfaces import Loss


class LeastSquaresLoss(Loss):
    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_term = (real_logits - self.b).square().mean()
        fake_term = (fake_logits - self.a).square().mean()
        return 0.5 * real_term + 0.5 * fake_term

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits - self.c).square().mean()

    def diagnostics(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        # D regresses to targets: its mean outputs (near b on real and a on fake when D wins,
        # both near (a + b) / 2 when the distributions match) say what a sigmoid would not.
        return {
            "d_real_out": real_logits.detach().mean(),
            "d_fake_out": fake_logits.detach().mean(),
        }
