"""Regularisers on the discriminator that combine with any loss and any family.

R1 (Mescheder et al. 2018) penalises the squared gradient norm of D on real data. Run
lazily as StyleGAN2 does (Karras et al. 2020, section 3.1): every ``every`` steps, as its
own update of D, scaled by ``every`` so its average strength stays ``gamma / 2``, with D's
Adam learning rate and betas adjusted for the extra updates (``adam_ratio``).

``--reg r1:gamma=10,every=16`` picks one; names and options are checked like a model's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganzoo.core.errors import ConfigError
from ganzoo.zoo.descriptors import Option, resolve_options

OPTIONS = {
    "r1": (
        Option(
            "gamma",
            "float",
            10.0,
            "weight: the penalty is gamma/2 E|grad D(x)|^2",
            minimum=0.0,
            maximum=1e6,
        ),  # fmt: skip
        Option(
            "every",
            "int",
            16,
            "apply every k steps, scaled by k (lazy)",
            minimum=1,
            maximum=1_000_000,
        ),  # fmt: skip
    )
}


def parse_reg(spec: str) -> tuple[str, dict[str, Any]]:
    """``"r1:gamma=10,every=16"`` -> ``("r1", {"gamma": 10.0, "every": 16})``."""
    if not isinstance(spec, str) or not spec:
        raise ConfigError("--reg must be NAME or NAME:KEY=VALUE,...")
    name, _, rest = spec.partition(":")
    if name not in OPTIONS:
        raise ConfigError(f"unknown regulariser {name!r} in --reg (known: {', '.join(OPTIONS)})")
    given: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--reg {spec!r}: expected KEY=VALUE, got {pair!r}")
        given[key.strip()] = value.strip()
    return name, resolve_options(OPTIONS[name], given, f"regulariser {name!r}")


def check_reg(value: Any) -> dict[str, Any] | None:
    """A regulariser as stored in config.json: ``{"name": ..., "options": {...}}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ConfigError("reg must be a mapping with a name and options")
    name = value["name"]
    if name not in OPTIONS:
        raise ConfigError(f"unknown regulariser {name!r} (known: {', '.join(OPTIONS)})")
    options = value.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError("reg options must be a mapping")
    return {
        "name": name,
        "options": resolve_options(OPTIONS[name], options, f"regulariser {name!r}", strict=True),
    }


if TYPE_CHECKING:
    from torch import Tensor


def r1_penalty(discriminator: Any, real: Tensor) -> Tensor:
    """E ||grad_x D(x)||^2 over the batch, differentiable in D's weights."""
    import torch  # not at import time: config.py (and `ganzoo list`) read this module

    real = real.detach().clone().requires_grad_(True)
    logits = discriminator(real).float()
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    # One squared norm per input D judges: a packed D (PacGAN) reads each group of ``pack``
    # consecutive samples as one input.
    groups = real.shape[0] // getattr(discriminator, "pack", 1)
    return grad.square().reshape(groups, -1).sum(1).mean()


class LazyR1:
    def __init__(self, gamma: float = 10.0, every: int = 16) -> None:
        self.gamma, self.every = float(gamma), int(every)

    def apply(
        self, ctx: Any, discriminator: Any, real: Tensor, optimizer: Any
    ) -> dict[str, Tensor] | None:
        """One regularisation update of D on ``step % every == 0``; the penalty to log."""
        if self.gamma == 0 or ctx.step % self.every != 0:
            return None
        penalty = r1_penalty(discriminator, real)
        optimizer.zero_grad(set_to_none=True)
        (penalty * (self.gamma / 2) * self.every).backward()
        optimizer.step()
        return {"r1": penalty.detach()}


def adam_ratio(value: dict[str, Any] | None) -> float:
    """What D's Adam settings are raised to (betas) and multiplied by (learning rate) under
    a lazy regulariser: ``every / (every + 1)``, as StyleGAN2 does, since D then takes
    ``every + 1`` updates in ``every`` steps and its momentum should span the same number
    of images as without it. 1 when nothing regularises."""
    if value is None or float(value["options"]["gamma"]) == 0:
        return 1.0
    every = int(value["options"]["every"])
    return every / (every + 1)


def build_reg(value: dict[str, Any] | None) -> LazyR1 | None:
    if value is None:
        return None
    return LazyR1(**value["options"])
