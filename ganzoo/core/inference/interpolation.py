"""``ganzoo interpolate``: a looping latent walk through seeds, as an animated GIF or PNG frames.

The walk visits the seeds' latents in order and comes back from the last to the first, so the
animation loops without a jump. The latents are ``Generator.seed_latents``, the ones
``ganzoo sample --seeds`` uses: the walk passes through exactly those pictures. Between two
seeds it moves by spherical interpolation (White 2016, "Sampling generative networks"):
latents of a standard normal prior lie near a sphere, and a straight line between two of them
cuts through the low-norm middle that training rarely saw, where pictures go dim and blurred.
Every seed starts a transition on a frame of its own; the frames are shared among the
transitions as evenly as whole numbers allow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from ganzoo.core.data.image_io import write_image
from ganzoo.core.errors import ConfigError
from ganzoo.core.inference.pictures import to_pictures
from ganzoo.core.inference.sampling import (
    BATCH,
    check_truncation,
    check_writable_parent,
    load_sampler,
    parse_seeds,
    resolve_class,
)
from ganzoo.core.limits import MAX_FRAMES, MAX_GRID_PIXELS, check_int

MAX_FPS = 50  # a GIF counts delays in hundredths of a second; viewers slow anything under 2


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """``len(t)`` points on the arc from ``a`` (t = 0, exactly) to ``b`` (t = 1); norms are
    interpolated along with directions. Computed in float64."""
    x, y = a.double().flatten(), b.double().flatten()
    cos = torch.dot(x, y) / (x.norm() * y.norm()).clamp_min(1e-300)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    t = t.double().unsqueeze(1)
    if float(torch.sin(omega)) < 1e-6:  # (anti)parallel: no plane to turn in, go straight
        weight_a, weight_b = 1 - t, t
    else:
        weight_a = torch.sin((1 - t) * omega) / torch.sin(omega)
        weight_b = torch.sin(t * omega) / torch.sin(omega)
    return (weight_a * x + weight_b * y).to(a.dtype).reshape(len(t), *a.shape)


def loop_latents(latents: Tensor, frames: int) -> Tensor:
    """``frames`` latents around the closed path ``latents[0] -> ... -> latents[-1] ->
    latents[0]``; transition ``j`` gets ``floor((j+1)F/K) - floor(jF/K)`` frames, the first
    of them its own seed's latent, exactly."""
    count = len(latents)
    if frames < count:
        raise ConfigError(f"--frames must be at least the number of seeds ({count}); got {frames}")
    parts = []
    for j in range(count):
        steps = (j + 1) * frames // count - j * frames // count
        t = torch.arange(steps, dtype=torch.float64) / steps
        parts.append(slerp(latents[j], latents[(j + 1) % count], t))
    return torch.cat(parts)


def walk(
    generator,
    seeds: Sequence[int],
    frames: int,
    truncation: float = 1.0,
    label: int | None = None,
    batch_size: int = 64,
    on_device: bool = False,
) -> Iterator[Tensor]:
    """The walk's frames in model space, ``batch_size`` at a time, generated on the
    generator's device and moved to the CPU unless ``on_device``. A conditional generator
    keeps class ``label`` throughout."""
    if len(seeds) < 2:
        raise ConfigError("a latent walk needs at least two seeds, e.g. --seeds 3,17,42")
    check_int(frames, "--frames", 2, MAX_FRAMES)
    check_int(batch_size, "--batch-size", 1, MAX_FRAMES)
    labels = None
    if generator.num_classes > 0:
        if label is None:
            raise ConfigError("this model is class-conditional: a walk keeps one class (--class)")
        labels = generator.check_labels(torch.full((frames,), int(label)))
    elif label is not None:
        generator.check_labels(torch.tensor([label]))  # refuses: no classes
    latents = loop_latents(generator.seed_latents(seeds, BATCH), frames)
    latents = generator.truncate(latents, truncation)
    for start in range(0, frames, batch_size):
        stop = start + batch_size
        yield generator.generate(
            latents[start:stop], None if labels is None else labels[start:stop], on_device=on_device
        )


def interpolate_to_file(
    checkpoint: str,
    seeds_text: str,
    frames: int,
    output: str,
    png_frames: bool = False,
    fps: int = 20,
    truncation: float = 1.0,
    label: str | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
    ema: bool = True,
) -> Path:
    """The walk as ``output`` (an animated GIF that loops forever) or, with ``png_frames``,
    as ``frame-0000.png`` ... in the folder ``output``."""
    seeds = parse_seeds(seeds_text)
    if len(seeds) < 2:
        raise ConfigError("a latent walk needs at least two seeds, e.g. --seeds 3,17,42")
    check_int(frames, "--frames", 2, MAX_FRAMES)
    if frames < len(seeds):
        raise ConfigError(
            f"--frames must be at least the number of seeds ({len(seeds)}), one frame each; "
            f"got {frames}"
        )
    check_int(fps, "--fps", 1, MAX_FPS)
    check_truncation(truncation)
    path = Path(output)
    if png_frames:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path} exists and is not a folder (--png-frames writes a folder)")
        if path.is_dir() and any(path.glob("frame-*.png")):
            raise ConfigError(f"{path} already holds frame PNGs: name a new folder or empty it")
    elif path.suffix.lower() != ".gif" or path.is_dir():
        raise ConfigError(
            f"-o {path.name} is not a .gif file; name one (walk.gif), or a folder with --png-frames"
        )
    check_writable_parent(path)

    generator = load_sampler(checkpoint, device, ema)
    model = generator.checkpoint.get("model", "?")
    if generator.data_kind == "points":
        raise ConfigError(
            f"{checkpoint} holds a {model} model of 2D points: a latent walk makes pictures; "
            "use ganzoo sample"
        )
    index = resolve_class(generator, label, checkpoint)
    if generator.num_classes > 0 and index is None:
        shown = ", ".join((generator.classes or ())[:20])
        raise ConfigError(
            f"{checkpoint} holds a class-conditional {model} model: a walk keeps one class; "
            f"give --class NAME or INDEX" + (f" ({shown})" if shown else "")
        )
    height, width = generator.data_shape[1:]
    if not png_frames and frames * height * width > MAX_GRID_PIXELS:
        raise ConfigError(
            f"a GIF of {frames:,} frames of {width}x{height} would hold more than "
            f"{MAX_GRID_PIXELS:,} pixels; use fewer --frames or --png-frames"
        )

    batches = walk(generator, seeds, frames, truncation, index, batch_size, on_device=True)
    pictures = (picture for batch in batches for picture in to_pictures(batch))
    written = _counted(pictures, frames, progress)
    if png_frames:
        return _write_frames(written, frames, path)
    return _write_gif(list(written), path, fps)


def _counted(pictures, total: int, progress) -> Iterator[Image.Image]:
    for done, picture in enumerate(pictures, 1):
        yield picture
        if progress is not None:
            progress(done, total)


def _write_frames(pictures, frames: int, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    digits = max(4, len(str(frames - 1)))  # names sort in frame order
    for i, picture in enumerate(pictures):
        write_image(picture, folder / f"frame-{i:0{digits}d}.png")
    return folder


def _write_gif(pictures: list[Image.Image], path: Path, fps: int) -> Path:
    """Each frame gets its own 256-colour palette. GIF stores a run of identical frames once
    with their delays added, so a walk that stands still (``--truncation 0``) keeps its
    timing with fewer frames in the file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    delay = round(100 / fps) * 10  # milliseconds the file can hold: whole centiseconds
    try:
        pictures[0].save(
            tmp, format="GIF", save_all=True, append_images=pictures[1:], loop=0, duration=delay
        )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
