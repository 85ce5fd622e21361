"""One generator update and the discriminator updates before it.

The trainer owns the loop; a ``TrainStep`` owns what happens inside one step. GAN families
whose update differs (penalties, other schedules) give their own ``TrainStep`` through
``ModelInfo.train_step`` instead of adding branches to the trainer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ganzoo.core.interfaces import Discriminator, Generator, Loss


@dataclass
class StepContext:
    generator: Generator
    discriminator: Discriminator
    loss: Loss
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    d_steps: int
    batch_size: int
    next_real: Callable[[], Tensor]  # a batch of real samples in model space, on the device
    latent: Callable[[int], Tensor]  # n latent vectors from the run's noise generator
    autocast: Callable[[], contextlib.AbstractContextManager]
    # The run's seeded random source on the training device (saved and restored with every
    # checkpoint), for any other randomness a step or a loss's penalty needs.
    noise: torch.Generator | None = None


class TrainStep:
    """Interface: run one training step, return detached scalar tensors to log."""

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        raise NotImplementedError  # abstract


class AlternatingStep(TrainStep):
    """``d_steps`` discriminator updates on fresh real and fake batches, then one G update."""

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        G, D = ctx.generator, ctx.discriminator
        D.requires_grad_(True)
        for _ in range(ctx.d_steps):
            real = ctx.next_real()
            z = ctx.latent(real.shape[0])
            with ctx.autocast():
                with torch.no_grad():
                    fake = G(z)
                real_logits = D(real).float()
                fake_logits = D(fake).float()
                d_loss = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(D, real, fake, ctx.noise)
                if penalty is not None:
                    d_loss = d_loss + penalty
            ctx.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            ctx.opt_d.step()

        # D's weights are constants for G's update; skipping their gradients saves work.
        D.requires_grad_(False)
        z = ctx.latent(ctx.batch_size)
        with ctx.autocast():
            g_loss = ctx.loss.generator_loss(D(G(z)).float())
        ctx.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        ctx.opt_g.step()
        D.requires_grad_(True)
        metrics = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        metrics.update(ctx.loss.diagnostics(real_logits, fake_logits))
        return metrics
