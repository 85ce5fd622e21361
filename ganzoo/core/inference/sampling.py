"""``ganzoo sample``: a checkpoint in, a PNG grid (or 2D scatter) or a raw .npy out.

An .npy file is written batch by batch behind its header, so a million samples need no more
memory than one batch; the file appears under its name only when it is complete.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from ganzoo.core.data.store import to_uint8_images
from ganzoo.core.errors import ConfigError
from ganzoo.core.images import save_grid, save_scatter
from ganzoo.core.limits import MAX_GRID_PIXELS, MAX_SAMPLES, check_int, check_seed

FORMATS = {".png": "png", ".npy": "npy"}
MAX_SCATTER_POINTS = 100_000


def output_path(checkpoint: str, count: int, seed: int, output: str | None, fmt: str | None):
    """The file to write and its format; checked before the checkpoint is even opened."""
    if output is None:
        fmt = fmt or "png"
        output = f"{Path(checkpoint).stem}-seed{seed}-n{count}.{fmt}"
    path = Path(output)
    by_suffix = FORMATS.get(path.suffix.lower())
    if by_suffix is None:
        raise ConfigError(
            f"unknown output extension {path.suffix or '(none)'!r} for {path.name}; "
            "use .png (a picture) or .npy (raw samples)"
        )
    if fmt is not None and fmt != by_suffix:
        raise ConfigError(f"--format {fmt} does not match the output file {path.name}")
    parent = path.parent
    if not parent.is_dir():
        raise ConfigError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write in the output folder {parent}")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder")
    return path, by_suffix


def sample_to_file(
    checkpoint: str,
    count: int,
    seed: int,
    output: str | None,
    fmt: str | None,
    device: str = "auto",
    nrow: int | None = None,
    label: str | None = None,
) -> Path:
    from ganzoo.api import load

    check_int(count, "-n", 1, MAX_SAMPLES)
    check_seed(seed)
    if nrow is not None:
        check_int(nrow, "--nrow", 1, MAX_SAMPLES)
    path, fmt = output_path(checkpoint, count, seed, output, fmt)
    generator = load(checkpoint, device=device)
    use = getattr(generator, "use", "noise")
    if use not in ("noise", "class"):
        command = "ganzoo translate" if use == "translate" else "ganzoo restore"
        model = generator.checkpoint.get("model", "?")
        raise ConfigError(f"{checkpoint} holds a {model} model, which {use}s images: use {command}")
    index = resolve_class(generator, label, checkpoint)
    if fmt == "npy":
        return _write_npy(generator, count, seed, path, index)
    if generator.data_kind == "points":
        if count > MAX_SCATTER_POINTS:
            raise ConfigError(
                f"a scatter plot shows at most {MAX_SCATTER_POINTS:,} points; got -n {count:,} "
                "(write .npy for more)"
            )
        return save_scatter(generator.sample(count, seed=seed), path)
    pixels = count * math.prod(generator.data_shape[1:])
    if pixels > MAX_GRID_PIXELS:
        raise ConfigError(
            f"a grid of {count:,} images would have {pixels:,} pixels, more than the "
            f"{MAX_GRID_PIXELS:,} a PNG grid may have; use fewer with -n or write .npy"
        )
    if generator.num_classes > 0 and index is None:
        return _class_rows(generator, count, seed, path)
    return save_grid(generator.sample(count, seed=seed, label=index), path, nrow=nrow)


def resolve_class(generator, label: str | None, checkpoint: str) -> int | None:
    """``--class`` as a class name or index -> the index; None when not given."""
    if label is None:
        return None
    classes = generator.classes or tuple(str(i) for i in range(generator.num_classes))
    if generator.num_classes == 0:
        raise ConfigError(f"{checkpoint} holds an unconditional model: it takes no --class")
    if label in classes:
        return classes.index(label)
    if label.isdigit() and int(label) < generator.num_classes:
        return int(label)
    shown = ", ".join(classes[:50]) + (", ..." if len(classes) > 50 else "")
    raise ConfigError(f"unknown class {label[:60]!r}; the classes are: {shown}")


def _class_rows(generator, count: int, seed: int, path: Path) -> Path:
    """One row per class (the same latents in every row): about ``count`` images."""
    classes = generator.num_classes
    per_row = max(1, count // classes)
    rows = [generator.sample(per_row, seed=seed, label=k) for k in range(classes)]
    return save_grid(torch.cat(rows), path, nrow=per_row)


def _write_npy(generator, count: int, seed: int, path: Path, label: int | None = None) -> Path:
    """uint8 NHWC images (what image tools expect) or float32 points, no pickle."""
    images = generator.data_kind == "image"
    if images:
        channels, height, width = generator.data_shape
        shape, dtype = (count, height, width, channels), np.dtype(np.uint8)
    else:
        shape, dtype = (count, *generator.data_shape), np.dtype(np.float32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                      "shape": shape}  # fmt: skip
            np.lib.format.write_array_header_1_0(handle, header)
            for batch in generator.iter_samples(count, seed=seed, label=label):
                if images:
                    array = to_uint8_images(batch).permute(0, 2, 3, 1).contiguous().numpy()
                else:
                    array = batch.numpy().astype(np.float32)
                handle.write(array.tobytes())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
