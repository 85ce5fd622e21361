"""The checkpoint file format: a safetensors file with ganzoo's metadata and a checksum.

The checksum (``tensor_sha256``, SHA-256 of the file's data section) lets a reader tell a
damaged file from a good one before trusting its weights. It lives in the header, which
precedes the data, so the file is serialised once with 64 zeros in that field and the
digest is then written over them: the data section does not move.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save
from torch import Tensor, nn

from ganzoo.core.files import atomic_write_bytes

FORMAT = "ganzoo.checkpoint"
FORMAT_VERSION = "1"
SUPPORTED_VERSIONS = {"1"}
CHECKSUM_KEY = "tensor_sha256"
_ZEROS = "0" * 64

# safetensors dtype names <-> torch dtypes
DTYPE_NAMES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def dtype_name(dtype: torch.dtype) -> str:
    return DTYPE_NAMES.get(dtype, str(dtype))


def checkpoint_bytes(tensors: dict[str, Tensor], metadata: dict[str, Any]) -> bytes:
    """The complete file: header (format, metadata, checksum) and data."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, CHECKSUM_KEY: _ZEROS}
    for key, value in metadata.items():
        header[key] = value if isinstance(value, str) else json.dumps(value)
    tensors = {k: t.detach().contiguous().cpu() for k, t in tensors.items()}
    data = bytearray(save(tensors, metadata=header))
    length = int.from_bytes(data[:8], "little")
    digest = hashlib.sha256(memoryview(data)[8 + length :]).hexdigest()
    marker = f'"{CHECKSUM_KEY}":"{_ZEROS}"'.encode()
    start = data.find(marker, 8, 8 + length)
    if start < 0 or data.find(marker, start + 1, 8 + length) >= 0:
        raise RuntimeError("could not place the checkpoint checksum in the header")
    value_at = start + len(marker) - len(_ZEROS) - 1
    data[value_at : value_at + 64] = digest.encode()
    return bytes(data)


def module_tensors(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def save_checkpoint(path: Path, tensors: dict[str, Tensor], metadata: dict[str, Any]) -> None:
    atomic_write_bytes(path, checkpoint_bytes(tensors, metadata))
