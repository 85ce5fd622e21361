"""The pix2pix training step: a conditional GAN update plus an L1 term on the generator.

D learns to tell (source, target) from (source, G(source)) with the run's loss; then G
minimises the loss's generator term on D(source, G(source)) plus ``l1_weight`` times the
mean absolute error to the target (the paper's objective, eq. 4, lambda = 100).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ganzoo.core.training.steps import StepContext, TrainStep


def bind_source(D: nn.Module, source: Tensor) -> Callable[[Tensor], Tensor]:
    """D as a function of the target/output image alone, for penalties that differentiate
    with respect to the image (WGAN-GP, R1): the source is a fixed condition."""
    return lambda image: D(source, image)


class Pix2PixStep(TrainStep):
    """``d_steps`` discriminator updates (1 by default; WGAN-GP's default is 5), each on a
    fresh pair batch, then one generator update on the last batch."""

    def __init__(self, l1_weight: float = 100.0) -> None:
        super().__init__(l1_weight=l1_weight)
        self.l1_weight = float(l1_weight)
        if not math.isfinite(self.l1_weight) or self.l1_weight < 0:
            raise ValueError(f"l1_weight must be a finite number >= 0; got {l1_weight!r}")

    def batches_per_step(self, d_steps: int) -> int:
        return d_steps

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        G, D = ctx.networks["generator"], ctx.networks["discriminator"]
        opt_g, opt_d = ctx.optimizers["generator"], ctx.optimizers["discriminator"]
        D.requires_grad_(True)
        for index in range(ctx.d_steps):
            batch = ctx.next_batch()
            source, target = batch["source"], batch["target"]
            last = index == ctx.d_steps - 1
            with ctx.autocast():
                # The last batch's output keeps its graph: G's update below reuses it.
                with torch.set_grad_enabled(last):
                    fake = G(source, noise=ctx.noise)
                real_logits = D(source, target).float()
                fake_logits = D(source, fake.detach()).float()
                d_loss = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(
                    bind_source(D, source), target, fake.detach(), ctx.noise
                )
                if penalty is not None:
                    d_loss = d_loss + penalty
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        regularized = None
        if ctx.regularizer is not None:
            regularized = ctx.regularizer.apply(ctx, bind_source(D, source), target, opt_d)

        # D's weights are constants for G's update; skipping their gradients saves work.
        D.requires_grad_(False)
        with ctx.autocast():
            g_adv = ctx.loss.generator_loss(D(source, fake).float())
        l1 = (fake.float() - target.float()).abs().mean()
        g_loss = g_adv + self.l1_weight * l1
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)

        metrics = {"d_loss": d_loss.detach(), "g_adv": g_adv.detach(), "l1": l1.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        if regularized is not None:
            metrics.update(regularized)
        metrics.update(ctx.loss.diagnostics(real_logits, fake_logits))
        return metrics
