"""tinyada: tinyconv's networks trained with adaptive discriminator augmentation.

A small version of ADA (Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data"). Every image the discriminator sees, real or generated, in D's update and in
G's, is augmented first; each augmentation is applied to each image with probability ``p``:

- a horizontal flip (then with probability 1/2, as the paper's x-flip);
- an integer translation by up to 1/8 of the image size in each direction, the uncovered
  border filled by reflection (``padding=reflect``) or with zeros (``padding=zeros``);
- a brightness shift: a value drawn from N(0, 0.2²) added to every pixel.

Because generated images are augmented the same way as real ones, G is not pushed to
produce augmented-looking images (the augmentations do not "leak") as long as ``p`` stays
well below 1.

``p`` adapts to how much D overfits. The heuristic is r_t = E[sign(D(real))]: near 0 when
D cannot tell real from fake, near 1 when it has learnt the training images. Every
``interval`` steps, ``p`` moves towards more augmentation when r_t > ``target`` and towards
less otherwise, by (real images D saw since the last adjustment) / ``speed``: ``speed`` is
the number of real images it takes ``p`` to go from 0 to 1: the paper's 500k images are
about 2% of its runs; the default here, 5000, is about 4% of a default ganzoo run (2000 steps
of 64 images), where ``p`` then moves by 4 * 64 / 5000 ≈ 0.05 per adjustment. ``p`` stays in
[0, ``MAX_P``].

The step keeps ``p`` and the running sum and count of sign(D(real)) since the last
adjustment as its state: every checkpoint stores them (``step_state.p``,
``step_state.sign_sum``, ``step_state.sign_count``) and a resumed run continues exactly. All
randomness comes from ``ctx.noise``, the run's seeded generator, which checkpoints save too.
It works with any loss: the loss's own penalty and ``--reg`` see the augmented images D sees.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo import StepContext, TrainStep

MAX_P = 0.99  # p never reaches 1: D must still see some images as they are
BRIGHTNESS_STD = 0.2  # the paper's brightness shift, in model space ([-1, 1])
PADDINGS = ("reflect", "zeros")


def augment(
    images: Tensor,
    p: Tensor,
    noise: torch.Generator,
    padding: str = "reflect",
    brightness: float = BRIGHTNESS_STD,
) -> Tensor:
    """Each image flipped, translated and brightened (by N(0, ``brightness``²)), each with
    probability ``p``.

    ``images`` (N, C, H, W) keep their graph (G's update backpropagates through this). The
    random numbers are drawn from ``noise`` whatever ``p`` is, so the stream a step consumes
    does not depend on ``p``.
    """
    n, _, height, width = images.shape
    device = images.device
    draws = torch.rand(n, 4, generator=noise, device=noise.device).to(device)
    shift = max(1, min(height, width) // 8)
    offsets = torch.randint(-shift, shift + 1, (n, 2), generator=noise, device=noise.device)
    offsets = offsets.to(device)
    shifts = torch.randn(n, generator=noise, device=noise.device).to(device) * brightness
    p = p.to(device)

    # Horizontal flip: chosen with probability p, then a fair coin.
    flip = (draws[:, 0] < p) & (draws[:, 1] < 0.5)
    images = torch.where(flip[:, None, None, None], images.flip(3), images)

    # Integer translation: pad by `shift`, then read each image's window at its offset.
    moved = draws[:, 2] < p
    offsets = torch.where(moved[:, None], offsets, torch.zeros_like(offsets))
    mode = "reflect" if padding == "reflect" and shift < min(height, width) else "constant"
    padded = F.pad(images, (shift, shift, shift, shift), mode=mode)
    rows = torch.arange(height, device=device)[None, :] + shift - offsets[:, 1:2]  # (N, H)
    cols = torch.arange(width, device=device)[None, :] + shift - offsets[:, 0:1]  # (N, W)
    index = torch.arange(n, device=device)[:, None, None]
    # Advanced indexing on dims 0, 2, 3 around the channel slice gives (N, H, W, C).
    images = padded[index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    # Brightness: add one value per image.
    bright = (draws[:, 3] < p).to(images.dtype) * shifts.to(images.dtype)
    return images + bright[:, None, None, None]


class AdaStep(TrainStep):
    """``d_steps`` discriminator updates, then one generator update, with every image D sees
    augmented with probability ``p``; ``p`` adapts every ``interval`` steps."""

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed: int = 5000,
        padding: str = "reflect",
    ) -> None:
        super().__init__(target=target, interval=interval, speed=speed, padding=padding)
        self.target = float(target)
        self.interval = int(interval)
        self.speed = int(speed)
        self.padding = str(padding)
        if not (math.isfinite(self.target) and 0 <= self.target <= 1):
            raise ValueError(f"target must be a number in [0, 1]; got {target!r}")
        if self.interval < 1 or self.speed < 1:
            raise ValueError("interval and speed must be at least 1")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
        self.init_state(None)

    # --- state -------------------------------------------------------------------------

    def init_state(self, model: nn.Module | None) -> None:
        """``p`` = 0 and empty sums, on the device of the model's parameters (``meta`` when
        ganzoo checks a checkpoint against a model it has not allocated; the CPU for a run,
        whose model moves to the training device afterwards: ``__call__`` follows it)."""
        device = torch.device("cpu")
        if model is not None:
            device = next((t.device for t in model.parameters()), device)
        self.p = torch.zeros((), dtype=torch.float32, device=device)
        self.sign_sum = torch.zeros((), dtype=torch.float32, device=device)
        self.sign_count = torch.zeros((), dtype=torch.int64, device=device)

    def state_dict(self) -> dict[str, Tensor]:
        return {"p": self.p, "sign_sum": self.sign_sum, "sign_count": self.sign_count}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Check every value before changing anything; a bad one raises ValueError."""
        expected = self.state_dict()
        if set(state) != set(expected):
            odd = sorted(set(state) ^ set(expected))
            raise ValueError(f"the ADA state has or lacks {odd[0]!r}")
        for key, mine in expected.items():
            value = state[key]
            if not isinstance(value, Tensor) or value.shape != () or value.dtype != mine.dtype:
                raise ValueError(f"ADA {key} must be a single {mine.dtype} value")
        p, total, count = (float(state[k]) for k in ("p", "sign_sum", "sign_count"))
        if not (math.isfinite(p) and 0 <= p <= MAX_P):
            raise ValueError(f"ADA p must be a finite number in [0, {MAX_P}]; got {p:g}")
        if count < 0:
            raise ValueError(f"ADA sign_count must not be negative; got {count:g}")
        if not (math.isfinite(total) and abs(total) <= count):
            raise ValueError(
                f"ADA sign_sum must lie in [-sign_count, sign_count]; got {total:g} of {count:g}"
            )
        device = self.p.device
        self.p = state["p"].to(device).clone()
        self.sign_sum = state["sign_sum"].to(device).clone()
        self.sign_count = state["sign_count"].to(device).clone()

    def batches_per_step(self, d_steps: int) -> int:
        return d_steps

    # --- training ----------------------------------------------------------------------

    def _place(self, device: torch.device) -> None:
        """Keep the state on the training device (a no-op after the first step)."""
        if self.p.device != device:
            self.p = self.p.to(device)
            self.sign_sum = self.sign_sum.to(device)
            self.sign_count = self.sign_count.to(device)

    def _augment(self, images: Tensor, ctx: StepContext) -> Tensor:
        return augment(images, self.p, ctx.noise, self.padding)

    def _observe(self, real_logits: Tensor) -> None:
        """Add sign(D(real)) of this batch, one value per image (a patch discriminator's
        signs are averaged over its patches)."""
        signs = torch.sign(real_logits.detach().float()).reshape(real_logits.shape[0], -1)
        self.sign_sum = self.sign_sum + signs.mean(1).sum()
        self.sign_count = self.sign_count + real_logits.shape[0]

    def _adjust(self) -> None:
        """Move p by the images seen since the last adjustment over ``speed``, up when
        r_t > target and down otherwise, then start new sums. No host sync: all on tensors."""
        rt = self.sign_sum / self.sign_count.clamp(min=1)
        direction = torch.sign(rt - self.target)
        step = direction * self.sign_count.float() / self.speed
        self.p = (self.p + step).clamp(0.0, MAX_P)
        self.sign_sum = torch.zeros_like(self.sign_sum)
        self.sign_count = torch.zeros_like(self.sign_count)

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        G, D = ctx.networks["generator"], ctx.networks["discriminator"]
        opt_g, opt_d = ctx.optimizers["generator"], ctx.optimizers["discriminator"]
        self._place(next(D.parameters()).device)
        p_used = self.p.detach().clone()
        D.requires_grad_(True)
        for _ in range(ctx.d_steps):
            real = ctx.next_batch()["x"]
            z = ctx.latent(real.shape[0])
            with ctx.autocast():
                with torch.no_grad():
                    fake = G(z)
                real_seen = self._augment(real, ctx)
                fake_seen = self._augment(fake, ctx)
                real_logits = D(real_seen).float()
                fake_logits = D(fake_seen).float()
                d_loss = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(D, real_seen, fake_seen, ctx.noise)
                if penalty is not None:
                    d_loss = d_loss + penalty
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            self._observe(real_logits)
        regularized = None
        if ctx.regularizer is not None:
            regularized = ctx.regularizer.apply(ctx, D, real_seen, opt_d)

        # D's weights are constants for G's update; its gradient reaches G through the
        # augmentation, which is differentiable.
        D.requires_grad_(False)
        z = ctx.latent(ctx.batch_size)
        with ctx.autocast():
            g_loss = ctx.loss.generator_loss(D(self._augment(G(z), ctx)).float())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)

        rt = self.sign_sum / self.sign_count.clamp(min=1)
        if (ctx.step + 1) % self.interval == 0:
            self._adjust()
        metrics = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "p": p_used, "rt": rt}
        if penalty is not None:
            metrics["penalty"] = penalty.detach()
        if regularized is not None:
            metrics.update(regularized)
        metrics.update(ctx.loss.diagnostics(real_logits, fake_logits))
        return metrics
