"""Random number generator state as uint8 tensors, so it fits in a safetensors file."""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor


def capture(noise: torch.Generator) -> dict[str, Tensor]:
    states = {"rng.torch_cpu": torch.get_rng_state(), "rng.noise": noise.get_state()}
    if noise.device.type == "cuda":
        states["rng.torch_cuda"] = torch.cuda.get_rng_state(noise.device)
    return states


def restore(states: dict[str, Tensor], noise: torch.Generator, same_device: bool) -> None:
    """Restore every state; a device state only when the run continues on the same kind of
    device (a CPU generator's state means nothing to a CUDA generator)."""
    torch.set_rng_state(states["rng.torch_cpu"])
    if not same_device:
        return
    noise.set_state(states["rng.noise"])
    if noise.device.type == "cuda" and "rng.torch_cuda" in states:
        torch.cuda.set_rng_state(states["rng.torch_cuda"], noise.device)


def rank_step_seed(seed: int, rank: int, step: int, stream: str = "") -> int:
    """The seed of one rank's own draws at one step of a torchrun run: a stream of its own
    for every ``(seed, rank, step)``, found again from those three alone after a resume.
    ``stream`` names another, unrelated stream for the same three."""
    tail = f":{stream}" if stream else ""
    key = f"ganzoo:{seed}:{rank}:{step}{tail}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def reseed_rank(step_noise: torch.Generator, seed: int, rank: int, step: int) -> None:
    """At each step of a torchrun run: the rank's own step stream, and torch's global
    generator (which ``nn.Dropout`` draws from), reseeded apart from every other rank's.
    What the ranks must agree on (latents, data order) has a generator of its own."""
    step_noise.manual_seed(rank_step_seed(seed, rank, step))
    torch.manual_seed(rank_step_seed(seed, rank, step, "global"))
