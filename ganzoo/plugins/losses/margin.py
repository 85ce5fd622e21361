"""Losses that read D's output as a score, not a probability: hinge and Wasserstein (WGAN-GP).

Their discriminators are trained on margins or on a difference of means, so a sigmoid of the
logits means nothing for them; they log what does (the hinge's active fractions, the
Wasserstein estimate).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.core.interfaces import Loss


class HingeLoss(Loss):
    """D: min E[relu(1 - D(x))] + E[relu(1 + D(G(z)))];  G: min -E[D(G(z))]."""

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()

    def diagnostics(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        real, fake = real_logits.detach(), fake_logits.detach()
        # The share of samples still inside the margin: the ones that move D's weights.
        return {
            "real_in_margin": (real < 1.0).float().mean(),
            "fake_in_margin": (fake > -1.0).float().mean(),
            "d_real_score": real.mean(),
            "d_fake_score": fake.mean(),
        }


def gradient_penalty(
    discriminator: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator
) -> Tensor:
    """E[(||∇D(x̂)||₂ - 1)²] at x̂ = εx + (1-ε)G(z), ε ~ U[0, 1] per sample (Gulrajani et
    al. 2017, Algorithm 1). Differentiable in D's weights (``create_graph``).

    A packed D (PacGAN) reads each group of ``pack`` consecutive samples as one input: ε
    and the norm are then taken per group, so x̂ lies on the segment between the packed
    real and packed generated inputs."""
    pack = getattr(discriminator, "pack", 1)
    groups = real.shape[0] // pack
    shape = (groups,) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, generator=generator, device=generator.device).to(real)
    eps = eps.repeat_interleave(pack, dim=0)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed).float()
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.reshape(groups, -1).norm(2, dim=1)
    return (norms - 1.0).square().mean()


class WassersteinGPLoss(Loss):
    """D (the critic): min E[D(G(z))] - E[D(x)] + λ·GP;  G: min -E[D(G(z))]."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = float(gp_weight)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()

    def discriminator_penalty(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator
    ) -> Tensor | None:
        if self.gp_weight == 0:
            return None
        return self.gp_weight * gradient_penalty(discriminator, real, fake, generator)

    def diagnostics(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        # The critic's estimate of the Wasserstein-1 distance: it should fall as G learns.
        return {"wasserstein": (real_logits.detach().mean() - fake_logits.detach().mean())}
