"""The inpainting training step: holes punched on the device, D on real vs completed images,
G on the adversarial loss plus an L1 reconstruction that weighs the hole most.

Each step draws one batch and a fresh mask per image (``masks.random_masks``, from the
run's seeded ``ctx.noise`` only, so a resumed run draws the same holes). G fills the holes;
the completed image keeps the known pixels (``out * mask + x * (1 - mask)``). D sees the
real image and the completed one, each with the mask, and is updated with the run's loss
(plus its penalty and ``--reg``); then G minimises

    loss.generator_loss(D(completed, mask)) + l1_weight * (hole_weight * l1_hole + l1_valid)

where ``l1_hole`` and ``l1_valid`` are the mean absolute errors of G's raw output inside
and outside the hole (each averaged over its own pixels, so small holes count as much as
big ones). With ``--d-steps k`` D takes k updates per step on the same images, each with
fresh holes; G's update uses the last one's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.core.errors import ConfigError
from ganzoo.core.training.previews import MAX_COLUMNS, run_eval
from ganzoo.core.training.steps import StepContext, TrainStep
from ganzoo.plugins.inpainting.masks import check_bounds, fixed_masks, random_masks

PREVIEW_MASK_SEED = 20_170_717  # the picture's holes: the same in every run and step


def composite(output: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """G's output inside the hole, the known pixels elsewhere (the restorer's rule)."""
    return output * mask + image * (1 - mask)


class InpaintingStep(TrainStep):
    def __init__(
        self,
        l1_weight: float = 10.0,
        hole_weight: float = 6.0,
        hole_min: float = 0.1,
        hole_max: float = 0.4,
        rect_prob: float = 0.5,
    ) -> None:
        super().__init__(
            l1_weight=l1_weight,
            hole_weight=hole_weight,
            hole_min=hole_min,
            hole_max=hole_max,
            rect_prob=rect_prob,
        )
        try:
            check_bounds(hole_min, hole_max, rect_prob)
        except ValueError as exc:
            raise ConfigError(f"inpainting: {exc}") from None
        self.l1_weight, self.hole_weight = float(l1_weight), float(hole_weight)
        self.mask_options = {"hole_min": hole_min, "hole_max": hole_max, "rect_prob": rect_prob}

    def masks(self, ctx: StepContext, image: Tensor) -> Tensor:
        n, _, height, width = image.shape
        if ctx.noise is None:
            raise ValueError("the inpainting step needs the run's random source (ctx.noise)")
        return random_masks(n, height, width, ctx.noise, **self.mask_options).to(image.dtype)

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        G, D = ctx.networks["generator"], ctx.networks["discriminator"]
        opt_g, opt_d = ctx.optimizers["generator"], ctx.optimizers["discriminator"]
        real = ctx.next_batch()["x"]
        D.requires_grad_(True)
        d_updates = max(1, int(ctx.d_steps))
        for k in range(d_updates):
            mask = self.masks(ctx, real)
            last = k == d_updates - 1
            with ctx.autocast(), torch.set_grad_enabled(last):
                output = G(real, mask)
            completed = composite(output.float(), real, mask)

            def critic(images: Tensor, mask: Tensor = mask) -> Tensor:
                return D(images, mask)

            fake = completed.detach()
            with ctx.autocast():
                real_logits = D(real, mask).float()
                fake_logits = D(fake, mask).float()
                d_loss = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(critic, real, fake, ctx.noise)
                if penalty is not None:
                    d_loss = d_loss + penalty
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        regularized = None
        if ctx.regularizer is not None:
            regularized = ctx.regularizer.apply(ctx, critic, real, opt_d)

        D.requires_grad_(False)  # D's weights are constants for G's update
        with ctx.autocast():
            g_adv = ctx.loss.generator_loss(D(completed, mask).float())
        error = (output.float() - real).abs()
        l1_hole = _masked_mean(error, mask)
        l1_valid = _masked_mean(error, 1 - mask)
        g_loss = g_adv + self.l1_weight * (self.hole_weight * l1_hole + l1_valid)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)

        metrics = {
            "d_loss": d_loss.detach(),
            "g_adv": g_adv.detach(),
            "l1_hole": l1_hole.detach(),
            "l1_valid": l1_valid.detach(),
            "hole": mask.mean().detach(),
        }
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        if regularized is not None:
            metrics.update(regularized)
        metrics.update(ctx.loss.diagnostics(real_logits, fake_logits))
        return metrics

    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Any:
        """Rows: the input with its holes in white | the completed image | the original,
        with holes from a fixed seed, so pictures compare across steps and runs."""
        real = fixed["x"][:MAX_COLUMNS].float()
        n, _, height, width = real.shape
        bounds = {k: self.mask_options[k] for k in ("hole_min", "hole_max")}
        mask = fixed_masks(n, height, width, PREVIEW_MASK_SEED, **bounds)
        output = run_eval(networks["generator"], real, mask)
        shown = composite(torch.ones_like(real), real, mask)
        return [shown, composite(output, real, mask), real]


def _masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    """The mean of ``values`` over the pixels where ``weights`` is 1, per image, then over
    the batch (an image without such pixels counts 0)."""
    per_image = (values * weights).flatten(1).sum(1)
    pixels = (weights.flatten(1).sum(1) * values.shape[1]).clamp(min=1)
    return (per_image / pixels).mean()
