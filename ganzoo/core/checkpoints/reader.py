"""Reading a checkpoint from elsewhere: every field is checked before it is trusted.

Opening a ``Checkpoint`` reads the header alone (its size capped before it is read), checks
the format and the types of the metadata ganzoo reads, and lists each tensor's dtype and
shape without touching the data. Nothing is allocated for a tensor until the caller has
compared the header with the model it expects (``ganzoo.core.checkpoints.expect``) and the
checksum of the data has been verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from ganzoo.core.checkpoints.format import CHECKSUM_KEY, FORMAT, SUPPORTED_VERSIONS
from ganzoo.core.errors import CheckpointError
from ganzoo.core.limits import MAX_HEADER_BYTES, MAX_STEPS, MAX_TENSORS

_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 8 << 20


class TensorEntry:
    """A tensor as the header describes it: dtype name and shape, no data."""

    __slots__ = ("dtype", "shape")

    def __init__(self, dtype: str, shape: tuple[int, ...]) -> None:
        self.dtype = dtype
        self.shape = shape


def _read_header(path: Path) -> tuple[int, dict[str, Any]]:
    """(header length, parsed header) with the length capped before anything is read."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path} is not a safetensors file (too short)")
            length = int.from_bytes(prefix, "little")
            if length > size - 8:
                raise CheckpointError(
                    f"{path} is not a safetensors file (its header runs past the end)"
                )
            if length > MAX_HEADER_BYTES:
                raise CheckpointError(
                    f"{path} has a {length:,}-byte header, more than the {MAX_HEADER_BYTES:,} "
                    "a checkpoint may have"
                )
            raw = handle.read(length)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path} is not a safetensors file (bad header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file (bad header)")
    return length, header


class Checkpoint:
    """A ganzoo checkpoint file whose header has been checked; tensors are read on demand."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"no checkpoint file at {self.path}")
        self.header_length, header = _read_header(self.path)
        # safetensors checks what we do not: offsets that tile the data section exactly.
        try:
            with safe_open(self.path, framework="pt") as handle:
                raw = handle.metadata() or {}
        except (SafetensorError, OSError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"{self.path} is not a safetensors file ({reason})") from None
        self.entries = self._entries(header)
        self.keys = list(self.entries)
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
        self.raw: dict[str, str] = raw
        self._verified = False

    def _entries(self, header: dict[str, Any]) -> dict[str, TensorEntry]:
        entries = {}
        for key, value in header.items():
            if key == "__metadata__":
                continue
            if len(entries) >= MAX_TENSORS:
                raise CheckpointError(f"{self.path} holds more than {MAX_TENSORS:,} tensors")
            entries[key] = TensorEntry(value["dtype"], tuple(value["shape"]))
        return entries

    # --- typed metadata --------------------------------------------------------------------

    def text(self, key: str) -> str:
        if key not in self.raw:
            raise CheckpointError(f"{self.path} lacks the metadata field {key!r}")
        return self.raw[key]

    def json(self, key: str, kind: type | None = None) -> Any:
        """The JSON value of ``key``; with ``kind`` (dict, list) it must be of that type."""
        try:
            value = json.loads(self.text(key))
        except (json.JSONDecodeError, RecursionError):
            raise CheckpointError(f"{self.path}: metadata field {key!r} is not JSON") from None
        if kind is not None and not isinstance(value, kind):
            word = {dict: "a JSON object", list: "a JSON list"}.get(kind, kind.__name__)
            raise CheckpointError(f"{self.path}: metadata field {key!r} must be {word}")
        return value

    def count(self, key: str, maximum: int = MAX_STEPS) -> int:
        """A non-negative whole number stored as decimal text (``step``, ``data_draws``)."""
        text = self.text(key)
        if not _DECIMAL.match(text) or int(text) > maximum:
            raise CheckpointError(
                f"{self.path}: {key} must be a whole number from 0 to {maximum:,}; got {text!r}"
            )
        return int(text)

    @property
    def model(self) -> str:
        name = self.text("model")
        if not name or len(name) > 200 or any(c.isspace() for c in name):
            raise CheckpointError(f"{self.path}: invalid model name {name[:60]!r}")
        return name

    @property
    def step(self) -> int:
        return self.count("step")

    @property
    def data_kind(self) -> str:
        kind = self.raw.get("data_kind", "image")
        if kind not in ("image", "points"):
            raise CheckpointError(f"{self.path}: data_kind must be image or points; got {kind!r}")
        return kind

    # --- data ------------------------------------------------------------------------------

    def verify(self) -> None:
        """Compare the data section with the checksum the writer stored (when it stored one:
        files from before checksums are read as they are)."""
        if self._verified:
            return
        expected = self.raw.get(CHECKSUM_KEY)
        if expected is None:
            self._verified = True
            return
        if not _HEX64.match(expected):
            raise CheckpointError(f"{self.path}: malformed {CHECKSUM_KEY} field")
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                handle.seek(8 + self.header_length)
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise CheckpointError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if digest.hexdigest() != expected:
            raise CheckpointError(
                f"{self.path} is damaged: its tensor data does not match its checksum"
            )
        self._verified = True

    def tensors(self, prefix: str, strip: bool = True) -> dict[str, Tensor]:
        """The tensors under ``prefix``, after the checksum is verified."""
        self.verify()
        lead = prefix + "."
        out = {}
        try:
            with safe_open(self.path, framework="pt") as handle:
                for key in self.keys:
                    if key.startswith(lead):
                        out[key[len(lead) :] if strip else key] = handle.get_tensor(key)
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"cannot read the tensors of {self.path}: {exc}") from None
        return out

    def load_module(self, prefix: str, module: nn.Module) -> None:
        """Load ``prefix.*`` into ``module``; call ``expect_modules`` first, which checks every
        key, shape and dtype without reading the data."""
        from ganzoo.core.checkpoints.expect import expect_modules

        expect_modules(self, {prefix: module})
        module.load_state_dict(self.tensors(prefix))
