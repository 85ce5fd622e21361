"""Generated images to pictures without a float copy on the host: each batch becomes uint8 on
the device it was made on (a quarter of the bytes cross to the host), and a grid is filled a
batch at a time, so only the picture itself is ever held whole.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from ganzoo.core.data.image_io import write_image
from ganzoo.core.data.store import to_uint8_images

PADDING = 2  # torchvision's make_grid default, which ganzoo's grids have always used


def to_pictures(samples: Tensor) -> list[Image.Image]:
    """Model-space images (N, C, H, W) on any device -> N pictures, the pixels of
    ``image_io.to_image`` (RGB, or L for one channel)."""
    array = to_uint8_images(samples).permute(0, 2, 3, 1).contiguous().cpu().numpy()
    if array.shape[3] == 1:
        return [Image.fromarray(a[:, :, 0]) for a in array]
    return [Image.fromarray(a) for a in array]


def grid_pixels(samples: Tensor) -> Tensor:
    """torchvision ``save_image(normalize=True, value_range=(-1, 1))``'s uint8 conversion,
    operation for operation, so a grid's pixels are the ones ``save_grid`` wrote."""
    return samples.clamp(-1, 1).sub(-1).div(2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8)


class Grid:
    """A PNG grid in ``save_grid``'s (torchvision's) layout and pixels, filled batch by
    batch: ``count`` images of ``shape`` (C, H, W), ``nrow`` to a row (default: a square),
    one-channel images shown as RGB, a single image without padding."""

    def __init__(self, count: int, shape: tuple[int, ...], nrow: int | None = None) -> None:
        channels, self.height, self.width = shape
        self.columns = min(nrow or max(1, math.ceil(math.sqrt(count))), count)
        rows = math.ceil(count / self.columns)
        self.padding = 0 if count == 1 else PADDING
        pad = self.padding
        self.canvas = torch.zeros(
            rows * (self.height + pad) + pad,
            self.columns * (self.width + pad) + pad,
            3 if channels == 1 else channels,
            dtype=torch.uint8,
        )
        self.count = count

    def put(self, start: int, samples: Tensor) -> None:
        """Model-space images (on any device) into cells ``start``, ``start + 1``, ..."""
        if start + len(samples) > self.count:
            raise ValueError(f"the grid has {self.count} cells; got image {start + len(samples)}")
        cells = grid_pixels(samples).permute(0, 2, 3, 1).cpu()
        pad = self.padding
        for offset, image in enumerate(cells):
            row, column = divmod(start + offset, self.columns)
            top = row * (self.height + pad) + pad
            left = column * (self.width + pad) + pad
            self.canvas[top : top + self.height, left : left + self.width] = image

    def save(self, path: Path) -> Path:
        write_image(Image.fromarray(self.canvas.numpy()), Path(path))
        return Path(path)
