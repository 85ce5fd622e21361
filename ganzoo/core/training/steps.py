"""What happens inside one training step; the trainer owns the loop around it.

A family whose update differs from the classic one (pix2pix's L1 term, CycleGAN's four
networks and image pools) gives its own ``TrainStep`` through ``ModelInfo.train_step``
instead of adding branches to the trainer. A step receives a ``StepContext``: the named
networks and optimisers, the loss, its resolved options, the step number, a seeded random
source and a function that draws the next batch (a dict of named fields). It may keep
state (``state_dict``/``load_state_dict``) that every checkpoint saves and resume restores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.core.interfaces import Loss
from ganzoo.core.training.augment import Augment, Identity


@dataclass
class StepContext:
    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    loss: Loss
    d_steps: int
    batch_size: int
    # The next batch, as named fields in model space on the device ("x", "label", ...).
    next_batch: Callable[[], dict[str, Tensor]]
    latent: Callable[[int], Tensor]  # n latent vectors from the run's noise generator
    autocast: Callable[[], contextlib.AbstractContextManager]
    # The run's seeded random source on the training device (saved and restored with every
    # checkpoint), for any other randomness a step or a loss's penalty needs.
    noise: torch.Generator | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the step's resolved options
    step: int = 0  # steps completed before this one
    # A lazy regulariser on D (``--reg r1:...``), or None; see ganzoo.core.training.regularizers.
    regularizer: Any = None
    # The run's augmentation of what D sees (``--augment``); the identity without one. A step
    # that declares ``supports_augment`` applies it to every image D sees.
    augment: Augment = field(default_factory=Identity)

    # The classic pair, for steps written against it.
    @property
    def generator(self) -> nn.Module:
        return self.networks["generator"]

    @property
    def discriminator(self) -> nn.Module:
        return self.networks["discriminator"]

    @property
    def opt_g(self) -> torch.optim.Optimizer:
        return self.optimizers["generator"]

    @property
    def opt_d(self) -> torch.optim.Optimizer:
        return self.optimizers["discriminator"]

    def next_real(self) -> Tensor:
        return self.next_batch()["x"]


class TrainStep:
    """Interface: run one training step, return detached scalar tensors to log.

    Optional: ``init_state(model)`` allocates state sized for the model (it may be on the
    ``meta`` device, where a checkpoint's state is checked before loading);
    ``state_dict()``/``load_state_dict()`` save and restore it (tensors only; a bad value
    raises ValueError); ``batches_per_step`` says how many batches a step draws, which
    ``--epochs`` counts; ``preview`` draws the training-time picture.

    ``supports_augment``: the step applies ``ctx.augment`` to every image D sees, real and
    generated, in D's update and in G's, and calls ``ctx.augment.update(real_logits)``
    after each D update; ``--augment`` is refused for a family whose step does not.
    """

    supports_augment = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        raise NotImplementedError  # abstract

    def init_state(self, model: nn.Module) -> None:
        return None

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if state:
            raise ValueError(f"this step keeps no state; got {sorted(state)[0]!r}")

    def batches_per_step(self, d_steps: int) -> int:
        return 1

    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Any:
        """The rows of the training-time picture (a list of (N, C, H, W) tensors in model
        space, one per row), or None for the default picture of the family's use."""
        return None


class AlternatingStep(TrainStep):
    """``d_steps`` discriminator updates on fresh real and fake batches, then one G update on
    the last D update's fakes (made once, with their graph: one G forward per step).

    A class-conditional pair (``generator.num_classes`` > 0) is fed the batch's labels: the
    fakes are made for the real batch's classes, and D sees each image with its label.
    Every image D sees passes through ``ctx.augment`` first (the identity without
    ``--augment``); the loss's penalty and ``--reg`` see the augmented images D saw.
    """

    supports_augment = True

    def batches_per_step(self, d_steps: int) -> int:
        return d_steps

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        G, D = ctx.generator, ctx.discriminator
        conditional = getattr(G, "num_classes", 0) > 0
        D.requires_grad_(True)
        labels = None
        for index in range(ctx.d_steps):
            last = index == ctx.d_steps - 1
            batch = ctx.next_batch()
            real = batch["x"]
            labels = batch["label"] if conditional else None
            z = ctx.latent(real.shape[0])
            extra = () if labels is None else (labels,)
            with ctx.autocast():
                # The last D update's fakes are kept with their graph and reused for G's
                # update (one G forward per step, as hand-written loops do).
                with torch.set_grad_enabled(last):
                    made = G(z, *extra)
                real = ctx.augment(real, ctx.noise)
                fake = ctx.augment(made.detach(), ctx.noise)
                real_logits = D(real, *extra).float()
                fake_logits = D(fake, *extra).float()
                d_loss = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(_bind(D, extra), real, fake, ctx.noise)
                if penalty is not None:
                    d_loss = d_loss + penalty
            ctx.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            ctx.opt_d.step()
            ctx.augment.update(real_logits.detach())
        regularized = None
        if ctx.regularizer is not None:
            regularized = ctx.regularizer.apply(ctx, _bind(D, extra), real, ctx.opt_d)

        # D's weights are constants for G's update; skipping their gradients saves work.
        D.requires_grad_(False)
        with ctx.autocast():
            seen = ctx.augment(made, ctx.noise)
            g_loss = ctx.loss.generator_loss(D(seen, *extra).float())
        ctx.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        ctx.opt_g.step()
        D.requires_grad_(True)
        metrics = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        if regularized is not None:
            metrics.update(regularized)
        metrics.update(ctx.loss.diagnostics(real_logits, fake_logits))
        return metrics


def _bind(D: nn.Module, extra: tuple) -> nn.Module | Callable[[Tensor], Tensor]:
    """D as a function of the images alone (penalties differentiate with respect to them)."""
    if not extra:
        return D
    return lambda images: D(images, *extra)
