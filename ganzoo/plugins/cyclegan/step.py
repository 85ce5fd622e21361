"""One CycleGAN training step (Zhu et al. 2017, section 3 and the reference code's
``CycleGANModel.optimize_parameters``).

From one batch of each domain (``a``, ``b``):

1. Generators, with both discriminators frozen: ``fake_b = G_ab(a)``, ``fake_a = G_ba(b)``,
   ``rec_a = G_ba(fake_b)``, ``rec_b = G_ab(fake_a)`` and

       L_G = g(D_b(fake_b)) + g(D_a(fake_a))                       adversarial, both ways
           + λ (|rec_a - a|₁ + |rec_b - b|₁)                        cycle consistency
           + λ·λ_id (|G_ab(b) - b|₁ + |G_ba(a) - a|₁)               identity

   where ``g`` is the loss's ``generator_loss``, λ is ``cycle_weight`` and λ_id is
   ``identity_weight`` (relative to λ, as in the reference code: 0.5 gives an identity weight
   of 5 next to a cycle weight of 10). L1 terms are means over pixels.
2. Discriminators, one Adam step for both: ``D_a`` on real ``a`` against ``fake_a`` images
   drawn through domain A's history pool, ``D_b`` likewise; each term is the loss's
   ``discriminator_loss`` (plus its ``discriminator_penalty``, if any), then the run's lazy
   regulariser (``--reg``) on each discriminator.

Logged: ``d_a``, ``d_b`` (the discriminator losses), ``g_adv`` (both adversarial terms),
``cycle`` and ``identity`` (both directions' L1 distances, unweighted), plus ``penalty`` and
the regulariser's values (``r1_a``, ``r1_b``) when they apply.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.core.errors import ConfigError
from ganzoo.core.training.previews import MAX_COLUMNS, run_eval
from ganzoo.core.training.steps import StepContext, TrainStep
from ganzoo.plugins.cyclegan.pool import ImagePool

DOMAINS = ("a", "b")
# Both pools together may hold this much (50 RGB images at 1024 px: 1.2 GiB).
MAX_POOL_BYTES = 4 << 30


class CycleGANStep(TrainStep):
    def __init__(
        self, cycle_weight: float = 10.0, identity_weight: float = 0.5, pool_size: int = 50
    ) -> None:
        super().__init__(
            cycle_weight=cycle_weight, identity_weight=identity_weight, pool_size=pool_size
        )
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        # pools["a"] holds generated domain-A images (G_ba's), which discriminator_a judges.
        self.pools: dict[str, ImagePool] = {}

    # --- state -------------------------------------------------------------------------

    def init_state(self, model: nn.Module) -> None:
        shape = tuple(model.network("generator_ab").data_shape)
        size = 2 * self.pool_size * 4 * int(torch.Size(shape).numel())
        if size > MAX_POOL_BYTES:
            raise ConfigError(
                f"cyclegan option pool_size={self.pool_size} would keep {size / 2**30:.1f} GiB "
                f"of images at this resolution, more than {MAX_POOL_BYTES >> 30} GiB; lower it"
            )
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.pools = {d: ImagePool(self.pool_size, shape, device) for d in DOMAINS}

    def state_dict(self) -> dict[str, Tensor]:
        if self.pool_size == 0:
            return {}
        out: dict[str, Tensor] = {}
        for domain, pool in self.pools.items():
            out.update(pool.state(f"pool_{domain}"))
        return out

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        expected = set(self.state_dict())
        if set(state) != expected:
            odd = sorted(set(state) ^ expected)
            raise ValueError(f"the image pools' state has or lacks {odd[0]!r}")
        if not expected:
            return
        # Check both pools before changing either.
        checked = {d: self.pools[d].check(state, f"pool_{d}") for d in DOMAINS}
        for domain, values in checked.items():
            self.pools[domain].assign(values)

    def batches_per_step(self, d_steps: int) -> int:
        return 1  # one batch of each domain; --d-steps does not apply

    # --- training ----------------------------------------------------------------------

    def __call__(self, ctx: StepContext) -> dict[str, Tensor]:
        nets = ctx.networks
        G_ab, G_ba = nets["generator_ab"], nets["generator_ba"]
        D = {"a": nets["discriminator_a"], "b": nets["discriminator_b"]}
        opt_g, opt_d = ctx.optimizers["generators"], ctx.optimizers["discriminators"]
        batch = ctx.next_batch()
        real = {"a": batch["a"], "b": batch["b"]}
        metrics: dict[str, Tensor] = {}

        # Generators: D's weights are constants here; skipping their gradients saves work.
        for net in D.values():
            net.requires_grad_(False)
        identity_scale = self.cycle_weight * self.identity_weight
        with ctx.autocast():
            fake = {"b": G_ab(real["a"]), "a": G_ba(real["b"])}
            rec_a, rec_b = G_ba(fake["b"]), G_ab(fake["a"])
            g_adv = sum(ctx.loss.generator_loss(D[d](fake[d]).float()) for d in DOMAINS)
            cycle = _l1(rec_a, real["a"]) + _l1(rec_b, real["b"])
            g_loss = g_adv + self.cycle_weight * cycle
            if identity_scale > 0:
                identity = _l1(G_ab(real["b"]), real["b"]) + _l1(G_ba(real["a"]), real["a"])
                g_loss = g_loss + identity_scale * identity
                metrics["identity"] = identity.detach()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for net in D.values():
            net.requires_grad_(True)

        # Discriminators, on the fakes made before G's update, through the history pools.
        pooled = {d: self.pools[d].query(fake[d], ctx.noise) for d in DOMAINS}
        d_losses: dict[str, Tensor] = {}
        penalties: list[Tensor] = []
        with ctx.autocast():
            for d in DOMAINS:
                real_logits = D[d](real[d]).float()
                fake_logits = D[d](pooled[d]).float()
                d_losses[d] = ctx.loss.discriminator_loss(real_logits, fake_logits)
                penalty = ctx.loss.discriminator_penalty(D[d], real[d], pooled[d], ctx.noise)
                if penalty is not None:
                    penalties.append(penalty)
        d_total = d_losses["a"] + d_losses["b"] + sum(penalties)
        opt_d.zero_grad(set_to_none=True)
        d_total.backward()
        opt_d.step()
        if ctx.regularizer is not None:
            for d in DOMAINS:
                applied = ctx.regularizer.apply(ctx, D[d], real[d], opt_d)
                metrics.update({f"{k}_{d}": v for k, v in (applied or {}).items()})

        metrics.update(
            d_a=d_losses["a"].detach(),
            d_b=d_losses["b"].detach(),
            g_adv=g_adv.detach(),
            cycle=cycle.detach(),
        )
        if penalties:
            metrics["penalty"] = sum(penalties).detach()
        return metrics

    # --- picture -----------------------------------------------------------------------

    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Any:
        """Rows: A inputs, their translations to B, B inputs, their translations to A."""
        a, b = fixed["a"][:MAX_COLUMNS], fixed["b"][:MAX_COLUMNS]
        return [a, run_eval(networks["generator_ab"], a), b, run_eval(networks["generator_ba"], b)]


def _l1(output: Tensor, target: Tensor) -> Tensor:
    return F.l1_loss(output.float(), target.float())
