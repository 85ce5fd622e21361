"""``ganzoo sample``: a checkpoint in, a PNG grid (or 2D scatter), one PNG per seed, or a raw
.npy out.

``--seed S -n N`` draws N samples from one seed; ``--seeds 1,5,10-12`` draws one sample per
seed, as StyleGAN's ``generate.py`` does, each seed's latent being the first that ``--seed S``
draws (``Generator.seed_latents``), so seed 3 is the same picture in every command.
Samples are made a batch at a time on the device and turned into uint8 there. An .npy file
is written batch by batch behind its header, so a million samples need no more memory than
one batch; the file appears under its name only when it is complete. A PNG grid is filled
batch by batch, so only the picture is held, never the samples as float.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganzoo.core.data.image_io import write_image
from ganzoo.core.data.store import to_uint8_images
from ganzoo.core.errors import ConfigError
from ganzoo.core.images import save_scatter
from ganzoo.core.inference.pictures import Grid, to_pictures
from ganzoo.core.limits import (
    MAX_GRID_PIXELS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_SEEDS,
    MAX_TRUNCATION,
    check_float,
    check_int,
    check_seed,
)

FORMATS = {".png": "png", ".npy": "npy"}
MAX_SCATTER_POINTS = 100_000
BATCH = 256  # iter_samples' default: the block seeds' latents are drawn in
_SEED_ITEM = re.compile(r"(\d{1,40})(?:\s*-\s*(\d{1,40}))?")


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: seeds and inclusive ranges, ``3,17,42`` or ``0-35`` or ``1,5,10-12``."""
    seeds: list[int] = []
    for raw in text.split(","):
        item = raw.strip()
        match = _SEED_ITEM.fullmatch(item)
        if match is None:
            raise ConfigError(
                f"--seeds: {item[:40]!r} is not a seed or a range A-B of seeds from 0 "
                "(write e.g. 3,17,42 or 0-35)"
            )
        low = int(match[1])
        high = low if match[2] is None else int(match[2])
        if high < low:
            raise ConfigError(f"--seeds: the range {low}-{high} runs backwards; write {high}-{low}")
        if high > MAX_SEED:
            raise ConfigError(f"--seeds: seeds lie in 0 .. 2^63 - 1; got {high}")
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise ConfigError(f"--seeds names more than {MAX_SEEDS:,} seeds")
        seeds.extend(range(low, high + 1))
    return seeds


def check_truncation(psi: float) -> float:
    return check_float(psi, "--truncation", 0.0, MAX_TRUNCATION)


def output_path(checkpoint: str, tag: str, output: str | None, fmt: str | None):
    """The file to write and its format; checked before the checkpoint is even opened.
    ``tag`` names the default file (``seed0-n64``)."""
    if output is None:
        fmt = fmt or "png"
        output = f"{Path(checkpoint).stem}-{tag}.{fmt}"
    path = Path(output)
    by_suffix = FORMATS.get(path.suffix.lower())
    if by_suffix is None:
        raise ConfigError(
            f"unknown output extension {path.suffix or '(none)'!r} for {path.name}; "
            "use .png (a picture) or .npy (raw samples)"
        )
    if fmt is not None and fmt != by_suffix:
        raise ConfigError(f"--format {fmt} does not match the output file {path.name}")
    check_writable_parent(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder")
    return path, by_suffix


def check_writable_parent(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise ConfigError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write in the output folder {parent}")


def load_sampler(checkpoint: str, device: str, ema: bool = True):
    """The checkpoint's generator; one line naming the right command for other families."""
    from ganzoo.api import load

    generator = load(checkpoint, device=device, ema=ema)
    use = getattr(generator, "use", "noise")
    if use not in ("noise", "class"):
        command = "ganzoo translate" if use == "translate" else "ganzoo restore"
        model = generator.checkpoint.get("model", "?")
        raise ConfigError(f"{checkpoint} holds a {model} model, which {use}s images: use {command}")
    return generator


def sample_to_file(
    checkpoint: str,
    count: int,
    seed: int,
    output: str | None,
    fmt: str | None,
    device: str = "auto",
    nrow: int | None = None,
    label: str | None = None,
    truncation: float = 1.0,
    ema: bool = True,
) -> Path:
    check_int(count, "-n", 1, MAX_SAMPLES)
    check_seed(seed)
    check_truncation(truncation)
    if nrow is not None:
        check_int(nrow, "--nrow", 1, MAX_SAMPLES)
    path, fmt = output_path(checkpoint, f"seed{seed}-n{count}", output, fmt)
    generator = load_sampler(checkpoint, device, ema)
    index = resolve_class(generator, label, checkpoint)
    if fmt == "npy":
        batches = generator.iter_samples(
            count, seed=seed, label=index, truncation=truncation, on_device=True
        )
        return _write_npy(generator, batches, count, path)
    if generator.data_kind == "points":
        _check_scatter(count, "-n")
        return save_scatter(generator.sample(count, seed=seed, truncation=truncation), path)
    _check_grid(generator, count, "-n")
    if generator.num_classes > 0 and index is None:
        # One row per class, the same latents in every row.
        per_class = max(1, count // generator.num_classes)
        grid = Grid(per_class * generator.num_classes, generator.data_shape, nrow=per_class)
        for k in range(generator.num_classes):
            batches = generator.iter_samples(
                per_class, seed, label=k, truncation=truncation, on_device=True
            )
            for start, batch in _offsets(batches):
                grid.put(k * per_class + start, batch)
        return grid.save(path)
    grid = Grid(count, generator.data_shape, nrow)
    batches = generator.iter_samples(
        count, seed=seed, label=index, truncation=truncation, on_device=True
    )
    for start, batch in _offsets(batches):
        grid.put(start, batch)
    return grid.save(path)


def sample_seeds_to_file(
    checkpoint: str,
    seeds_text: str,
    output: str | None,
    fmt: str | None,
    device: str = "auto",
    nrow: int | None = None,
    label: str | None = None,
    truncation: float = 1.0,
    outdir: str | None = None,
    ema: bool = True,
) -> Path:
    """One sample per seed: a grid (``output``), an .npy, or ``seedNNNN.png`` files in
    ``outdir``. A conditional model without ``label`` makes one grid row per class."""
    seeds = parse_seeds(seeds_text)
    check_truncation(truncation)
    if nrow is not None:
        check_int(nrow, "--nrow", 1, MAX_SAMPLES)
    if outdir is not None:
        folder = Path(outdir)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--outdir {folder} exists and is not a folder")
        check_writable_parent(folder)
    else:
        path, fmt = output_path(checkpoint, f"seeds{seeds[0]}-n{len(seeds)}", output, fmt)
    generator = load_sampler(checkpoint, device, ema)
    index = resolve_class(generator, label, checkpoint)
    if generator.data_kind == "points" and outdir is not None:
        raise ConfigError(
            f"{checkpoint} holds a model of 2D points: --outdir writes one picture per seed; "
            "write -o points.png (a scatter plot) or .npy"
        )
    if generator.num_classes > 0 and index is None and (outdir is not None or fmt == "npy"):
        raise ConfigError(
            f"{checkpoint} holds a class-conditional model: give --class NAME or INDEX "
            "(without it, only a PNG grid with one row per class is made)"
        )
    latents = generator.truncate(generator.seed_latents(seeds, BATCH), truncation)
    if outdir is not None:
        folder.mkdir(exist_ok=True)
        for start, batch in _offsets(_generate(generator, latents, index)):
            names = seeds[start : start + len(batch)]
            for seed, picture in zip(names, to_pictures(batch), strict=True):
                write_image(picture, folder / f"seed{seed:04d}.png")
        return folder
    if fmt == "npy":
        return _write_npy(generator, _generate(generator, latents, index), len(seeds), path)
    if generator.data_kind == "points":
        _check_scatter(len(seeds), "--seeds")
        return save_scatter(torch.cat([b.cpu() for b in _generate(generator, latents, None)]), path)
    if generator.num_classes > 0 and index is None:
        _check_grid(generator, len(seeds) * generator.num_classes, "--seeds")
        # One row per class, the same latents in every row.
        grid = Grid(len(seeds) * generator.num_classes, generator.data_shape, nrow=len(seeds))
        for k in range(generator.num_classes):
            for start, batch in _offsets(_generate(generator, latents, k)):
                grid.put(k * len(seeds) + start, batch)
        return grid.save(path)
    _check_grid(generator, len(seeds), "--seeds")
    grid = Grid(len(seeds), generator.data_shape, nrow)
    for start, batch in _offsets(_generate(generator, latents, index)):
        grid.put(start, batch)
    return grid.save(path)


def _generate(generator, latents: Tensor, label: int | None) -> Iterator[Tensor]:
    """The samples of ``latents`` (all of one class when ``label`` is given), a batch at a
    time, left on the generator's device."""
    for start in range(0, len(latents), BATCH):
        z = latents[start : start + BATCH]
        labels = None
        if label is not None:
            labels = generator.check_labels(torch.full((len(z),), int(label)))
        yield generator.generate(z, labels, on_device=True)


def _offsets(batches: Iterable[Tensor]) -> Iterator[tuple[int, Tensor]]:
    done = 0
    for batch in batches:
        yield done, batch
        done += len(batch)


def _check_scatter(count: int, flag: str) -> None:
    if count > MAX_SCATTER_POINTS:
        raise ConfigError(
            f"a scatter plot shows at most {MAX_SCATTER_POINTS:,} points; got {flag} {count:,} "
            "(write .npy for more)"
        )


def _check_grid(generator, count: int, flag: str) -> None:
    pixels = count * math.prod(generator.data_shape[1:])
    if pixels > MAX_GRID_PIXELS:
        raise ConfigError(
            f"a grid of {count:,} images would have {pixels:,} pixels, more than the "
            f"{MAX_GRID_PIXELS:,} a PNG grid may have; use fewer with {flag} or write .npy"
        )


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


def _write_npy(generator, batches: Iterable[Tensor], count: int, path: Path) -> Path:
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
            for batch in batches:
                if images:  # made uint8 where the batch is: a quarter of the bytes move
                    array = to_uint8_images(batch).permute(0, 2, 3, 1).contiguous().cpu().numpy()
                else:
                    array = batch.cpu().numpy().astype(np.float32)
                handle.write(memoryview(np.ascontiguousarray(array)))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
