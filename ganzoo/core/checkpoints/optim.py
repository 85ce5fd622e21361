"""Optimiser state in a checkpoint: tensors in the data section, hyper-parameters as JSON.

Parameter groups read back from a file are checked against the groups of the optimiser they
are loaded into: the same keys, the same kinds of value, finite numbers, the same parameter
indices. A crafted group can therefore neither smuggle in an object nor point at a parameter
that does not exist.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ganzoo.core.checkpoints.reader import Checkpoint
from ganzoo.core.errors import CheckpointError
from ganzoo.core.limits import MAX_LR


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict, list]:
    """Split an optimiser's state into tensors and JSON-able parameter groups."""
    state = optimizer.state_dict()
    tensors = {}
    for index, per_param in state["state"].items():
        for key, value in per_param.items():
            if not isinstance(value, Tensor):
                value = torch.tensor(value)
            tensors[f"{prefix}.state.{index}.{key}"] = value
    return tensors, state["param_groups"]


def _same_kind(saved: Any, schema: Any, where: str) -> Any:
    if isinstance(schema, bool) or schema is None or isinstance(schema, str):
        if type(saved) is not type(schema):
            raise CheckpointError(f"{where} must be {schema!r}-like; got {saved!r}")
        return saved
    if isinstance(schema, int | float):
        if isinstance(saved, bool) or not isinstance(saved, int | float):
            raise CheckpointError(f"{where} must be a number; got {saved!r}")
        if not math.isfinite(saved) or saved < 0:
            raise CheckpointError(f"{where} must be a finite non-negative number; got {saved!r}")
        return saved
    if isinstance(schema, list | tuple):
        if not isinstance(saved, list) or len(saved) != len(schema):
            raise CheckpointError(f"{where} must be a list of {len(schema)}; got {saved!r}")
        return type(schema)(_same_kind(s, t, where) for s, t in zip(saved, schema))
    raise CheckpointError(f"{where}: cannot check a value of type {type(schema).__name__}")


def checked_param_groups(
    ckpt: Checkpoint, prefix: str, optimizer: torch.optim.Optimizer
) -> list[dict[str, Any]]:
    """The saved groups of ``prefix``, shaped exactly like ``optimizer``'s own."""
    saved = ckpt.json(f"{prefix}.param_groups", list)
    schema = optimizer.state_dict()["param_groups"]
    where = f"{ckpt.path}: {prefix}.param_groups"
    if len(saved) != len(schema):
        raise CheckpointError(f"{where} has {len(saved)} group(s); the optimiser has {len(schema)}")
    groups = []
    for group, reference in zip(saved, schema):
        # A group from another torch version may lack a newer key (the optimiser's own value
        # stands in), but never carries one this optimiser does not know.
        if (
            not isinstance(group, dict)
            or not set(group) <= set(reference)
            or ("params" not in group)
        ):
            raise CheckpointError(f"{where} has other keys than {sorted(reference)}")
        if group["params"] != reference["params"]:
            raise CheckpointError(f"{where} names parameters the optimiser does not have")
        checked = dict(reference)
        for key, value in group.items():
            checked[key] = value if key == "params" else _same_kind(value, reference[key], where)
        if "lr" in checked and not 0 < checked["lr"] <= MAX_LR:
            raise CheckpointError(f"{where}: lr must be in (0, {MAX_LR:g}]; got {checked['lr']}")
        betas = checked.get("betas", ())
        if any(not 0 <= b < 1 for b in betas):
            raise CheckpointError(f"{where}: betas must be in [0, 1); got {list(betas)}")
        groups.append(checked)
    return groups


def load_optimizer(ckpt: Checkpoint, prefix: str, optimizer: torch.optim.Optimizer) -> None:
    """Restore ``optimizer`` from ``prefix`` (its tensors already checked by expect_file)."""
    groups = checked_param_groups(ckpt, prefix, optimizer)
    state: dict[int, dict[str, Tensor]] = {}
    lead = f"{prefix}.state."
    for key, value in ckpt.tensors(prefix, strip=False).items():
        if key.startswith(lead):
            index, name = key[len(lead) :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{ckpt.path}: cannot restore {prefix}: {exc}") from None
