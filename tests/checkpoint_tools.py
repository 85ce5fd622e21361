"""Helpers for tests that craft checkpoints: read one whole, write an edited copy."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file

from ganzoo.core.checkpoints.format import CHECKSUM_KEY, checkpoint_bytes


def read_all(path: Path) -> tuple[dict, dict]:
    with safe_open(path, framework="pt") as handle:
        meta = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)
    return tensors, meta


def rewrite(
    source: Path,
    target: Path,
    meta: dict | None = None,
    tensors: dict | None = None,
    drop: tuple[str, ...] = (),
    config: dict | None = None,
    checksum: bool = True,
) -> Path:
    """A copy of ``source`` with metadata fields, tensors or model_config entries replaced
    (values that are not strings are JSON-encoded); ``checksum`` recomputes it like ganzoo's
    writer would, so only the edit itself can be what a reader refuses."""
    all_tensors, all_meta = read_all(source)
    for key in drop:
        all_tensors.pop(key)
    all_tensors.update(tensors or {})
    for key, value in (meta or {}).items():
        if value is None:
            all_meta.pop(key, None)
        else:
            all_meta[key] = value if isinstance(value, str) else json.dumps(value)
    if config is not None:
        model_config = json.loads(all_meta["model_config"])
        model_config.update(config)
        all_meta["model_config"] = json.dumps(model_config)
    if checksum:
        all_meta.pop(CHECKSUM_KEY, None)
        target.write_bytes(checkpoint_bytes(all_tensors, all_meta))
    else:
        all_meta.pop(CHECKSUM_KEY, None)
        save_file(all_tensors, target, metadata=all_meta)
    return target
