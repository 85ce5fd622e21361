"""A family's optimiser groups as Adam optimisers, with the run's settings applied.

Precedence for each setting: the command line, then the loss's ``train_defaults`` (both
already in the run's config), then the family's own group default.

On CUDA each optimiser is torch's fused Adam (one kernel for all its parameters, the step
count kept on the device); elsewhere torch's default. Both keep the same state (``step``,
``exp_avg``, ``exp_avg_sq`` per parameter), so a checkpoint written with one loads into
the other (``implementation_as_saved``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.core.errors import ConfigError
from ganzoo.core.training.regularizers import adam_ratio
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
    lr = group.lr if lr is None else lr
    beta1 = group.betas[0] if config.beta1 is None else config.beta1
    beta2 = group.betas[1] if config.beta2 is None else config.beta2
    if group.role == "generator":
        return lr, (beta1, beta2)
    # A lazy regulariser's extra updates of D (StyleGAN2's lazy regularisation).
    ratio = adam_ratio(getattr(config, "reg", None))
    return lr * ratio, (beta1**ratio, beta2**ratio)


def build_optimizers(
    model: nn.Module, groups: tuple[OptimizerGroup, ...], config: Any
) -> dict[str, torch.optim.Optimizer]:
    params = group_parameters(model, groups)
    setting = getattr(config, "fused_adam", "auto")
    out = {}
    for group in groups:
        lr, betas = group_settings(group, config)
        fused = use_fused(setting, params[group.name])
        try:
            out[group.name] = torch.optim.Adam(
                params[group.name], lr=lr, betas=betas, fused=fused or None
            )
        except RuntimeError as error:  # fused Adam on a device torch has no kernel for
            raise ConfigError(f"--fused-adam on: {error}") from None
    return out


def use_fused(setting: str, params: list[Tensor]) -> bool:
    """Fused Adam: asked for ("on"), or "auto" when every parameter is a floating-point
    CUDA tensor."""
    if setting != "auto":
        return setting == "on"
    return bool(params) and all(p.is_cuda and p.is_floating_point() for p in params)


# Settings that choose how Adam computes, not what.
IMPLEMENTATION_KEYS = ("foreach", "fused", "capturable", "differentiable")


@contextlib.contextmanager
def implementation_as_saved(optimizer: torch.optim.Optimizer, saved: Any) -> Iterator[None]:
    """While open, the optimiser's groups carry the implementation settings of ``saved`` (a
    checkpoint's param_groups), so that loading, which wants every saved setting to match,
    accepts a state written by another implementation (fused on a GPU, resumed on a CPU,
    say). On leaving, the optimiser's own settings are back and its state is shaped as its
    own implementation keeps it (``match_state``)."""
    own = [{k: g[k] for k in IMPLEMENTATION_KEYS if k in g} for g in optimizer.param_groups]
    if isinstance(saved, list):
        for group, theirs in zip(optimizer.param_groups, saved):
            if not isinstance(theirs, dict):
                continue
            for key in IMPLEMENTATION_KEYS:
                value = theirs.get(key)
                if key in group and key in theirs and (value is None or isinstance(value, bool)):
                    group[key] = value
    try:
        yield
    finally:
        # Loading replaced the group dicts; there are as many as before either way.
        for group, settings in zip(optimizer.param_groups, own):
            group.update(settings)
        match_state(optimizer)


def match_state(optimizer: torch.optim.Optimizer) -> None:
    """Each parameter's state as this optimiser would have made it: moments in the
    parameter's memory layout (a channels_last weight's moments too), the step count on the
    parameter's device for fused and capturable Adam, else on the CPU."""
    for group in optimizer.param_groups:
        on_device = bool(group.get("fused") or group.get("capturable"))
        for param in group["params"]:
            state = optimizer.state.get(param)
            for key, value in (state or {}).items():
                if not isinstance(value, Tensor):
                    continue
                if key == "step":
                    state[key] = (
                        value.to(param.device, torch.float32) if on_device else value.to("cpu")
                    )
                elif value.shape == param.shape and value.stride() != param.stride():
                    state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


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
