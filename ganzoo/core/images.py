"""Pictures of samples: image grids (torchvision) and scatter plots of 2D points."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torchvision.utils import save_image

SCATTER_SIZE = 512


def save_grid(samples: Tensor, path: Path, nrow: int | None = None) -> Path:
    """Model-space images in [-1, 1] -> one PNG grid."""
    nrow = nrow or max(1, math.ceil(math.sqrt(len(samples))))
    save_image(
        samples.float().cpu(), path, nrow=nrow, padding=2, normalize=True, value_range=(-1, 1)
    )
    return Path(path)


def save_scatter(points: Tensor, path: Path, reference: Tensor | None = None) -> Path:
    """2D points as a PNG scatter plot; ``reference`` (real data) is drawn underneath in grey."""
    points = points.float().cpu()
    both = points if reference is None else torch.cat([points, reference.float().cpu()])
    low = both.amin(0)
    high = both.amax(0)
    centre = (low + high) / 2
    half = float((high - low).max()) / 2 * 1.1 + 1e-6
    image = Image.new("RGB", (SCATTER_SIZE, SCATTER_SIZE), "white")
    draw = ImageDraw.Draw(image)

    def pixel(p: Tensor) -> tuple[float, float]:
        x = (float(p[0]) - float(centre[0])) / half
        y = (float(p[1]) - float(centre[1])) / half
        return ((x + 1) / 2 * (SCATTER_SIZE - 1), (1 - y) / 2 * (SCATTER_SIZE - 1))

    for group, colour, radius in ((reference, (170, 170, 170), 1), (points, (214, 39, 40), 2)):
        if group is None:
            continue
        for p in group:
            x, y = pixel(p)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    image.save(path)
    return Path(path)
