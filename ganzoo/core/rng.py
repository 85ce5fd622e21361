"""Random number generator state as uint8 tensors, so it fits in a safetensors file."""

from __future__ import annotations

import torch
from torch import Tensor


def capture(noise: torch.Generator) -> dict[str, Tensor]:
    states = {"rng.torch_cpu": torch.get_rng_state(), "rng.noise": noise.get_state()}
    if noise.device.type == "cuda":
        states["rng.torch_cuda"] = torch.cuda.get_rng_state(noise.device)
    return states


def restore(states: dict[str, Tensor], noise: torch.Generator) -> None:
    torch.set_rng_state(states["rng.torch_cpu"])
    noise.set_state(states["rng.noise"])
    if noise.device.type == "cuda" and "rng.torch_cuda" in states:
        torch.cuda.set_rng_state(states["rng.torch_cuda"], noise.device)
