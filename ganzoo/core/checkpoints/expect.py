"""Comparing a checkpoint's header with the model it claims to hold, before any data is read.

The expected shapes come from modules built on the ``meta`` device (or the trainer's real
ones): no memory is spent on them. Every tensor in the file must be accounted for — a
network's state, an optimiser's state for one of those networks' parameters, an RNG state
or a running metric sum — with exactly the dtype and shape the model gives it. No silent
casts: a float64 tensor where the model has float32 is refused, not converted.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from ganzoo.core.checkpoints.format import dtype_name
from ganzoo.core.checkpoints.reader import Checkpoint
from ganzoo.core.errors import CheckpointError

_OPTIM = re.compile(r"^optim\.([A-Za-z0-9_]+)\.state\.(0|[1-9][0-9]*)\.([a-z_]{1,40})$")
_METRIC = re.compile(r"^metrics\.sum\.\S{1,100}$")
_STATE = "step_state."
_AUGMENT = "augment_state."
# A CUDA generator's state is its seed and offset, 8 bytes each.
_CUDA_RNG_BYTES = 16


def _expected_state(modules: dict[str, nn.Module]) -> dict[str, tuple[str, tuple[int, ...]]]:
    out = {}
    for prefix, module in modules.items():
        for key, tensor in module.state_dict().items():
            out[f"{prefix}.{key}"] = (dtype_name(tensor.dtype), tuple(tensor.shape))
    return out


def _compare(ckpt: Checkpoint, key: str, dtype: str, shape: tuple[int, ...]) -> None:
    entry = ckpt.entries[key]
    if entry.shape != shape:
        raise CheckpointError(
            f"{ckpt.path}: {key} has shape {entry.shape}, the model expects {shape}"
        )
    if entry.dtype != dtype:
        raise CheckpointError(
            f"{ckpt.path}: {key} is {entry.dtype}, the model expects {dtype} (no silent casts)"
        )


def expect_modules(
    ckpt: Checkpoint, modules: dict[str, nn.Module], optional: frozenset[str] = frozenset()
) -> set[str]:
    """Each module's tensors are in the file with the model's dtype and shape (a prefix in
    ``optional`` may be absent as a whole). Returns the keys accounted for."""
    seen: set[str] = set()
    for prefix, module in modules.items():
        expected = _expected_state({prefix: module})
        present = {key for key in ckpt.entries if key.startswith(prefix + ".")}
        if prefix in optional and not present:
            continue
        missing = sorted(set(expected) - present)
        if missing:
            raise CheckpointError(
                f"{ckpt.path} lacks {len(missing)} {prefix} tensor(s), e.g. {missing[0]!r}; "
                "it does not match the model it names"
            )
        unexpected = sorted(present - set(expected))
        if unexpected:
            raise CheckpointError(
                f"{ckpt.path} has {prefix} tensor(s) the model lacks, e.g. {unexpected[0]!r}"
            )
        for key, (dtype, shape) in expected.items():
            _compare(ckpt, key, dtype, shape)
        seen |= present
    return seen


def expect_file(
    ckpt: Checkpoint,
    modules: dict[str, nn.Module],
    optional: frozenset[str] = frozenset(),
    params: dict[str, list] | None = None,
    state: dict[str, torch.Tensor] | None = None,
    augment_state: dict[str, torch.Tensor] | None = None,
) -> None:
    """Every tensor of the file is one the model, its optimisers (``params``: each
    optimiser's parameters in order), its training step (``state``, as a freshly built
    step has it), its augmentation (``augment_state``, likewise) or the trainer would
    write."""
    seen = expect_modules(ckpt, modules, optional)
    if params is None:
        params = {
            prefix: list(module.parameters())
            for prefix, module in modules.items()
            if prefix not in optional
        }
    for prefix, owner, expected in (
        (_STATE, "training step", state),
        (_AUGMENT, "augmentation", augment_state),
    ):
        for name, tensor in (expected or {}).items():
            key = prefix + name
            if key not in ckpt.entries:
                raise CheckpointError(f"{ckpt.path} lacks the {owner}'s state {key!r}")
            _compare(ckpt, key, dtype_name(tensor.dtype), tuple(tensor.shape))
            seen.add(key)
    device_type = ckpt.raw.get("device_type", "cpu")
    if device_type not in ("cpu", "cuda"):
        raise CheckpointError(f"{ckpt.path}: device_type must be cpu or cuda; got {device_type!r}")
    cpu_state = (torch.get_rng_state().numel(),)
    rng = {"rng.torch_cpu": cpu_state}
    rng["rng.noise"] = cpu_state if device_type == "cpu" else (_CUDA_RNG_BYTES,)
    if device_type == "cuda":
        rng["rng.torch_cuda"] = (_CUDA_RNG_BYTES,)
    for key in rng:
        if key not in ckpt.entries and key != "rng.torch_cuda":
            raise CheckpointError(f"{ckpt.path} lacks the RNG state {key!r}")
    for key, entry in ckpt.entries.items():
        if key in seen:
            continue
        if key in rng:
            _compare(ckpt, key, "U8", rng[key])
        elif _METRIC.match(key):
            _compare(ckpt, key, "F32", ())
        elif match := _OPTIM.match(key):
            net, index, _ = match.group(1), int(match.group(2)), match.group(3)
            if net not in params or index >= len(params[net]):
                raise CheckpointError(
                    f"{ckpt.path}: optimiser state {key!r} belongs to no parameter of the model"
                )
            param = params[net][index]
            if entry.shape != () and entry.shape != tuple(param.shape):
                raise CheckpointError(
                    f"{ckpt.path}: {key} has shape {entry.shape}, the parameter has "
                    f"{tuple(param.shape)}"
                )
            if entry.dtype not in ("F32", dtype_name(param.dtype)):
                raise CheckpointError(f"{ckpt.path}: {key} has dtype {entry.dtype}")
        else:
            raise CheckpointError(
                f"{ckpt.path} holds a tensor {key!r} that no ganzoo checkpoint of this model has"
            )
