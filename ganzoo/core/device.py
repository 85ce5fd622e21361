"""Choosing the training device (CUDA when present, else CPU, or what the user asks for)
and how work runs on it: the memory layout, compiled networks."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.core.errors import ConfigError


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise ConfigError(f"unknown device {requested!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {requested!r} asked for, but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {requested!r} does not exist on this machine")
    elif device.type != "cpu":
        raise ConfigError(f"unsupported device {requested!r} (use auto, cpu, cuda or cuda:N)")
    return device


def use_channels_last(setting: str, device: torch.device, model: nn.Module, data_kind: str) -> bool:
    """Train in the channels_last layout? As asked, or with "auto" on CUDA for a model with
    convolutions (a 4-D weight) on image data, where cuDNN's NHWC kernels are the fast ones
    (on the CPU the gain is small and not measured here, so "auto" leaves it off)."""
    if setting != "auto":
        return setting == "channels_last"
    return (
        device.type == "cuda"
        and data_kind == "image"
        and any(p.dim() == 4 for p in model.parameters())
    )


def failure_line(error: BaseException) -> str:
    """An exception as one short line (its type and the first line of its message)."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def compile_networks(
    networks: dict[str, nn.Module], names: set[str]
) -> tuple[dict[str, nn.Module], str | None]:
    """The networks with those in ``names`` wrapped by ``torch.compile`` (default mode),
    sharing the originals' parameters; the originals stay what checkpoints, EMA and
    pictures use, so no state dict key gains ``_orig_mod.``. Compilation itself happens at
    the first call; this fails only where torch cannot compile at all (the reason, then,
    with the networks unchanged)."""
    try:
        compiled = {
            name: torch.compile(net) if name in names else net for name, net in networks.items()
        }
    except Exception as error:  # any reason torch gives; training goes on uncompiled
        return dict(networks), failure_line(error)
    return compiled, None
