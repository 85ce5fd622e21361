"""A family's optimiser groups as Adam optimisers, with the run's settings applied.

Precedence for each setting: the command line, then the loss's ``train_defaults`` (both
already in the run's config), then the family's own group default.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganzoo.zoo.families import OptimizerGroup


def group_parameters(model: nn.Module, groups: tuple[OptimizerGroup, ...]) -> dict[str, list]:
    """Each group's parameters, in the order of its networks: the order a checkpoint's
    ``optim.<group>.state.<index>`` tensors refer to."""
    return {
        group.name: [p for net in group.networks for p in model._modules[net].parameters()]
        for group in groups
    }


def group_settings(group: OptimizerGroup, config: Any) -> tuple[float, tuple[float, float]]:
    lr = config.lr_g if group.role == "generator" else config.lr_d
    beta1 = group.betas[0] if config.beta1 is None else config.beta1
    beta2 = group.betas[1] if config.beta2 is None else config.beta2
    return (group.lr if lr is None else lr), (beta1, beta2)


def build_optimizers(
    model: nn.Module, groups: tuple[OptimizerGroup, ...], config: Any
) -> dict[str, torch.optim.Optimizer]:
    params = group_parameters(model, groups)
    out = {}
    for group in groups:
        lr, betas = group_settings(group, config)
        out[group.name] = torch.optim.Adam(params[group.name], lr=lr, betas=betas)
    return out


def decay_factor(step: int, total: int, fraction: float) -> float:
    """The learning-rate multiplier at ``step`` of ``total``: 1, then down in a straight line
    to 0 over the last ``fraction`` of the run (pix2pix's and CycleGAN's schedule, there half
    of the epochs). A function of the step alone, so a resumed run follows the same curve."""
    if fraction <= 0:
        return 1.0
    start = total * (1.0 - fraction)
    if step < start:
        return 1.0
    return max(0.0, (total - step) / max(total - start, 1e-12))


def set_lr_factor(
    optimizers: dict[str, torch.optim.Optimizer], base: dict[str, float], factor: float
) -> None:
    for name, optimizer in optimizers.items():
        for param_group in optimizer.param_groups:
            param_group["lr"] = base[name] * factor
