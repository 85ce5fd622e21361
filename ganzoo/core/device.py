"""Choosing the training device: CUDA when present, else CPU, or what the user asks for."""

from __future__ import annotations

import torch

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
