"""The training-time picture, fitted to what the family is for.

noise: a grid of samples from fixed latents. class: one row per class, the same latents in
every row, so a column shows one latent across classes. translate: rows of inputs, outputs
and targets. A family's step may draw its own (``TrainStep.preview``), as CycleGAN's and
inpainting's do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.core.images import save_grid, save_scatter

MAX_CLASS_ROWS = 16
MAX_COLUMNS = 8
SCATTER_REFERENCE = 2000


@torch.no_grad()
def run_eval(network: nn.Module, *inputs: Tensor) -> Tensor:
    """``network(*inputs)`` in eval mode on its device, float32 on the CPU."""
    device = next((p.device for p in network.parameters()), torch.device("cpu"))
    was_training = network.training
    network.eval()
    try:
        return network(*(t.to(device) for t in inputs)).float().cpu()
    finally:
        network.train(was_training)


def class_rows(generator: Any, fixed_z: Tensor) -> list[Tensor]:
    columns = fixed_z[:MAX_COLUMNS]
    rows = []
    for label in range(min(generator.num_classes, MAX_CLASS_ROWS)):
        labels = torch.full((len(columns),), label, dtype=torch.int64)
        rows.append(generator.generate(columns, labels))
    return rows


def translate_rows(generator: nn.Module, fixed: dict[str, Tensor]) -> list[Tensor]:
    source = fixed["source"][:MAX_COLUMNS]
    return [source, run_eval(generator, source), fixed["target"][:MAX_COLUMNS]]


def default_rows(use: str, networks: dict[str, nn.Module], fixed: dict[str, Tensor],
                 fixed_z: Tensor | None) -> Tensor | list[Tensor]:  # fmt: skip
    generator = networks["generator"]
    if use == "class" and getattr(generator, "num_classes", 0) > 0:
        return class_rows(generator, fixed_z)
    if use == "translate":
        return translate_rows(generator, fixed)
    if fixed_z is None:
        raise ValueError(f"no default picture for a {use!r} family; its step draws one")
    labels = None
    if getattr(generator, "num_classes", 0) > 0:
        labels = torch.arange(len(fixed_z)) % generator.num_classes
    return generator.generate(fixed_z, labels)


def save_preview(picture: Tensor | list[Tensor], path: Path, kind: str,
                 reference: Tensor | None = None) -> Path:  # fmt: skip
    """A grid (one tensor) or rows (a list of equally long tensors) as one PNG; 2D points
    as a scatter plot over the real data."""
    if kind == "points":
        points = torch.cat(picture) if isinstance(picture, list) else picture
        ref = None if reference is None else reference[:SCATTER_REFERENCE]
        return save_scatter(points, path, reference=ref)
    if isinstance(picture, list):
        width = min(len(row) for row in picture)
        return save_grid(torch.cat([row[:width] for row in picture]), path, nrow=width)
    return save_grid(picture, path)


def real_grid_path(folder: Path) -> Path:
    """Where ``save_real_grid`` puts the grid of real images in a run's samples folder."""
    return folder / "real.png"


def save_real_grid(fixed: dict[str, Tensor], kind: str, folder: Path) -> Path | None:
    """``samples/real.png``: the real images a family learns to make (``x``, or the targets
    of a paired set), drawn once, so a person can set the samples beside them at a glance."""
    images = fixed.get("x", fixed.get("target"))
    path = real_grid_path(folder)
    if kind != "image" or images is None or path.exists():
        return None
    return save_grid(images[:64], path)
