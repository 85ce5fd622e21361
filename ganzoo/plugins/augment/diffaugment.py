"""DiffAugment (Zhao et al. 2020, arXiv:2006.10738): differentiable colour, translation and
cutout, applied to every image D sees, real and generated, in both updates.

The transforms and magnitudes are those of the paper's reference code, on images in
[-1, 1]: colour adds a brightness in U[-0.5, 0.5], scales the saturation (the distance to
the pixel's channel mean) by U[0, 2] and the contrast (the distance to the image mean) by
U[0.5, 1.5]; translation shifts by a whole number of pixels, up to 1/8 of the side each
way, filling with zeros; cutout erases a square of half the side centred anywhere in the
image (partly outside it near the border). Every image gets every transform of the
policy, with its own draws.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.core.errors import ConfigError
from ganzoo.core.training.augment import Augment
from ganzoo.plugins.augment.draws import Draws

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color+translation"`` -> ``("color", "translation")``, each name once."""
    names = tuple(part.strip() for part in policy.split("+"))
    unknown = [name for name in names if name not in POLICIES]
    if unknown or not names:
        raise ConfigError(
            f"diffaugment policy {policy!r}: {unknown[0]!r} is not one of "
            f"{', '.join(POLICIES)} (join several with '+', e.g. color+translation)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"diffaugment policy {policy!r} names a transform twice")
    return names


def color(images: Tensor, draws: Draws) -> Tensor:
    n = images.shape[0]
    shape = (n, 1, 1, 1)
    brightness = draws.uniform(n).view(shape).to(images.dtype) - 0.5
    saturation = draws.uniform(n).view(shape).to(images.dtype) * 2
    contrast = draws.uniform(n).view(shape).to(images.dtype) + 0.5
    images = images + brightness
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * saturation + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * contrast + mean


def translate(images: Tensor, draws: Draws, ratio: float) -> Tensor:
    n, _, height, width = images.shape
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    ty = draws.integers(-shift_y, shift_y + 1, n)
    tx = draws.integers(-shift_x, shift_x + 1, n)
    if shift_x == 0 and shift_y == 0:
        return images
    padded = F.pad(images, (shift_x, shift_x, shift_y, shift_y))  # zeros
    device = images.device
    # Output pixel (r, c) reads padded (r + shift - t): the image moved by t.
    rows = torch.arange(height, device=device)[None, :] + shift_y - ty[:, None]  # (N, H)
    cols = torch.arange(width, device=device)[None, :] + shift_x - tx[:, None]  # (N, W)
    index = torch.arange(n, device=device)[:, None, None]
    # Advanced indexing on dims 0, 2 and 3 around the channel slice gives (N, H, W, C).
    return padded[index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cut_out(images: Tensor, draws: Draws, ratio: float) -> Tensor:
    n, _, height, width = images.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    # The square's centre, as the paper's code draws it: an even side may reach one pixel
    # further than an odd one.
    cy = draws.integers(0, height + (1 - size_y % 2), n)
    cx = draws.integers(0, width + (1 - size_x % 2), n)
    device = images.device
    top, left = cy - size_y // 2, cx - size_x // 2
    rows = torch.arange(height, device=device)[None, :]
    cols = torch.arange(width, device=device)[None, :]
    inside_y = (rows >= top[:, None]) & (rows < (top + size_y)[:, None])  # (N, H)
    inside_x = (cols >= left[:, None]) & (cols < (left + size_x)[:, None])  # (N, W)
    erased = inside_y[:, :, None] & inside_x[:, None, :]
    return images * (~erased)[:, None].to(images.dtype)


class DiffAugment(Augment):
    def __init__(
        self,
        policy: str = "color+translation+cutout",
        translation: float = 0.125,
        cutout: float = 0.5,
    ) -> None:
        self.policy = parse_policy(policy)
        self.translation = float(translation)
        self.cutout = float(cutout)

    def __call__(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        draws = Draws(generator, images.device)
        for name in self.policy:
            if name == "color":
                images = color(images, draws)
            elif name == "translation":
                images = translate(images, draws, self.translation)
            else:
                images = cut_out(images, draws, self.cutout)
        return images
