"""Data-parallel training across processes, on PyTorch's own engine (``torch.distributed``).

``torchrun`` starts one process per device and sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; ganzoo then joins the process group (NCCL on CUDA, gloo on the CPU). Every rank
builds the same model from the same seed (and rank 0's weights are broadcast to make sure),
draws the same global batch order, and trains on its own slice of each global batch and of
each batch of latents, so the run sees exactly the batches a single process with the same
``--batch-size`` would. Before every optimiser step the gradients are averaged across ranks
(one all-reduce per group of tensors): the same arithmetic as DistributedDataParallel, done at
the optimiser because a GAN step runs D several times per backward pass, turns D's
gradients off for G's update and differentiates twice for gradient penalties, which DDP's
forward-hook reducer does not allow. Only rank 0 writes (run folder, checkpoints, pictures,
log) and shows progress.

Nothing here pickles: the run folder's path goes to the other ranks as bytes in a tensor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ganzoo.core.errors import ConfigError

# Gradients are flattened into buckets of at most this many bytes per all-reduce.
BUCKET_BYTES = 32 << 20
MAX_PATH_BYTES = 4096


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: ``world`` processes, this one ``rank``."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Ranks()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"the environment variable {name}={value!r} is not a number") from None


def requested() -> Ranks:
    """What the launcher asked for (``torchrun``'s environment), without joining yet."""
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return SINGLE
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world or local < 0:
        raise ConfigError(f"RANK={rank} / LOCAL_RANK={local} do not fit WORLD_SIZE={world}")
    return Ranks(rank, world, local)


def join(ranks: Ranks, device: torch.device) -> None:
    """Join the process group (once per process); NCCL for CUDA devices, else gloo."""
    if not ranks.active or dist.is_initialized():
        return
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run one process")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def leave() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    if ranks.active:
        dist.barrier()


def broadcast_module(module: nn.Module) -> None:
    """Rank 0's parameters and buffers, everywhere."""
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_gradients(parameters: list[Tensor], world: int) -> None:
    """Replace every gradient by its mean over the ranks (bucketed all-reduces)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    bucket: list[Tensor] = []
    size = 0
    for grad in grads:
        bucket.append(grad)
        size += grad.numel() * grad.element_size()
        if size >= BUCKET_BYTES:
            _reduce(bucket, world)
            bucket, size = [], 0
    if bucket:
        _reduce(bucket, world)


def _reduce(grads: list[Tensor], world: int) -> None:
    flat = torch.cat([_in_memory_order(g).reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for grad in grads:
        n = grad.numel()
        target = _in_memory_order(grad)
        target.copy_(flat[offset : offset + n].view_as(target))
        offset += n


def _in_memory_order(grad: Tensor) -> Tensor:
    """A view of ``grad`` whose logical order is its memory order: a channels_last (NHWC)
    gradient is flattened and written back without a strided copy each way."""
    nhwc = grad.dim() == 4 and grad.is_contiguous(memory_format=torch.channels_last)
    return grad.permute(0, 2, 3, 1) if nhwc and not grad.is_contiguous() else grad


def sync_optimizer(optimizer: torch.optim.Optimizer, world: int) -> None:
    """Average the gradients across ranks before each ``optimizer.step()``."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer.register_step_pre_hook(lambda *_: average_gradients(params, world))


def mean_over_ranks(values: dict[str, Tensor], world: int) -> dict[str, Tensor]:
    """Each value's mean over the ranks (every rank logs the same keys in the same order)."""
    if not values:
        return values
    keys = list(values)
    stacked = torch.stack([values[k].float().reshape(()) for k in keys])
    dist.all_reduce(stacked)
    stacked /= world
    return {k: stacked[i] for i, k in enumerate(keys)}


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on one of them."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def share_text(text: str | None, ranks: Ranks, device: torch.device) -> str:
    """Rank 0's ``text`` on every rank, as UTF-8 bytes in a tensor (no pickle)."""
    if not ranks.active:
        assert text is not None
        return text
    data = torch.zeros(MAX_PATH_BYTES + 1, dtype=torch.uint8, device=device)
    if ranks.main:
        raw = (text or "").encode()
        if len(raw) > MAX_PATH_BYTES:
            raise ConfigError(f"the run folder's path is longer than {MAX_PATH_BYTES} bytes")
        data[0] = 1
        data[1 : 1 + len(raw)] = torch.tensor(list(raw), dtype=torch.uint8)
    dist.broadcast(data, src=0)
    raw = bytes(data[1:].cpu().tolist()).rstrip(b"\0")
    return raw.decode()


def fingerprint(modules: list[nn.Module]) -> Tensor:
    """A float64 sum of every parameter: equal on ranks that hold equal weights."""
    total = torch.zeros((), dtype=torch.float64)
    for module in modules:
        for p in module.parameters():
            total += p.detach().double().sum().cpu()
            total += p.detach().double().abs().sum().cpu() * 1e-3
    return total


def check_in_step(modules: list[nn.Module], device: torch.device) -> float:
    """The largest difference of the weights' fingerprint between ranks (0 when in step)."""
    value = fingerprint(modules).to(device)
    high, low = value.clone(), value.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return float(high - low)
