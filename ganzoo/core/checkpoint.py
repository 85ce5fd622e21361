"""safetensors checkpoints: atomic writes, self-describing metadata, validation before build.

One file holds everything a run needs to continue: both networks (``generator.*``,
``discriminator.*``), both optimisers' state (``optim.<net>.state.<i>.<key>``, hyper-parameters
in the metadata) and RNG states (``rng.*``). Sampling reads only ``generator.*``. No pickle:
tensors are raw buffers and everything else is JSON text in the header.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor, nn

from ganzoo.core.errors import CheckpointError

FORMAT = "ganzoo.checkpoint"
FORMAT_VERSION = "1"
SUPPORTED_VERSIONS = {"1"}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file, fsync and rename, so ``path`` is never a torn file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(path: Path, tensors: dict[str, Tensor], metadata: dict[str, Any]) -> None:
    header = {"format": FORMAT, "format_version": FORMAT_VERSION}
    for key, value in metadata.items():
        header[key] = value if isinstance(value, str) else json.dumps(value)
    tensors = {k: t.detach().contiguous().cpu() for k, t in tensors.items()}
    atomic_write_bytes(path, save(tensors, metadata=header))


def module_tensors(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


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


def optimizer_state(prefix: str, tensors: dict[str, Tensor], param_groups: list) -> dict:
    state: dict[int, dict[str, Tensor]] = {}
    lead = f"{prefix}.state."
    for key, value in tensors.items():
        if key.startswith(lead):
            index, name = key[len(lead) :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": param_groups}


class Checkpoint:
    """A validated ganzoo checkpoint file; tensors are read lazily, a prefix at a time."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"no checkpoint file at {self.path}")
        try:
            with safe_open(self.path, framework="pt") as handle:
                raw = handle.metadata() or {}
                self.keys = list(handle.keys())
        except (SafetensorError, OSError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"{self.path} is not a safetensors file ({reason})") from None
        if raw.get("format") != FORMAT:
            raise CheckpointError(
                f"{self.path} is a safetensors file without ganzoo metadata "
                "(not a ganzoo checkpoint)"
            )
        if raw.get("format_version") not in SUPPORTED_VERSIONS:
            raise CheckpointError(
                f"{self.path} uses checkpoint format version {raw.get('format_version')!r}; "
                f"this ganzoo reads {', '.join(sorted(SUPPORTED_VERSIONS))} (upgrade ganzoo)"
            )
        self.raw = raw

    def text(self, key: str) -> str:
        if key not in self.raw:
            raise CheckpointError(f"{self.path} lacks the metadata field {key!r}")
        return self.raw[key]

    def json(self, key: str) -> Any:
        try:
            return json.loads(self.text(key))
        except json.JSONDecodeError:
            raise CheckpointError(f"{self.path}: metadata field {key!r} is not JSON") from None

    @property
    def model(self) -> str:
        return self.text("model")

    @property
    def step(self) -> int:
        return int(self.text("step"))

    def tensors(self, prefix: str, strip: bool = True) -> dict[str, Tensor]:
        lead = prefix + "."
        out = {}
        with safe_open(self.path, framework="pt") as handle:
            for key in self.keys:
                if key.startswith(lead):
                    out[key[len(lead) :] if strip else key] = handle.get_tensor(key)
        return out

    def load_module(self, prefix: str, module: nn.Module) -> None:
        """Check keys and shapes against ``module`` first: one clear sentence on mismatch."""
        tensors = self.tensors(prefix)
        expected = module.state_dict()
        missing = sorted(set(expected) - set(tensors))
        if missing:
            raise CheckpointError(
                f"{self.path} lacks {len(missing)} {prefix} tensor(s), e.g. {missing[0]!r}; "
                "it does not match the model it names"
            )
        unexpected = sorted(set(tensors) - set(expected))
        if unexpected:
            raise CheckpointError(
                f"{self.path} has {prefix} tensor(s) the model lacks, e.g. {unexpected[0]!r}"
            )
        for key, value in expected.items():
            if tuple(tensors[key].shape) != tuple(value.shape):
                raise CheckpointError(
                    f"{self.path}: {prefix}.{key} has shape {tuple(tensors[key].shape)}, "
                    f"the model expects {tuple(value.shape)}"
                )
        module.load_state_dict(tensors)
