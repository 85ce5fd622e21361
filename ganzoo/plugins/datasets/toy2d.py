"""The 2D Gaussian mixtures of the mode-collapse literature, as in PacGAN's code.

ring8: 8 modes at (cos 2πk/8, sin 2πk/8), std 0.01. grid25: 25 modes at {-4,-2,0,2,4}^2,
std 0.05. (Unrolled GAN's notebook used linspace(0, 2π, 8), which repeats a mode; we do not.)
Each point is labelled with the index of the mode it was drawn from (classes mode0, mode1,
...), for a conditional model to check against.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import check_data_bytes

DEFAULT_SIZE = 100_000

# Rounding to 15 places snaps cos(π/2)'s 6e-17 to an exact 0 without moving √2/2 in float32.
RING8_MEANS = torch.tensor(
    [
        [round(math.cos(2 * math.pi * k / 8), 15), round(math.sin(2 * math.pi * k / 8), 15)]
        for k in range(8)
    ],
    dtype=torch.float32,
)
RING8_STD = 0.01

GRID25_MEANS = torch.tensor(
    [[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=torch.float32
)
GRID25_STD = 0.05

_MIXTURES = {"ring8": (RING8_MEANS, RING8_STD), "grid25": (GRID25_MEANS, GRID25_STD)}


def mode_means(name: str) -> tuple[Tensor, float]:
    """``(means (K, 2), std)`` of the mixture ``"ring8"`` or ``"grid25"``."""
    if name not in _MIXTURES:
        raise ValueError(f"unknown 2D mixture {name!r}; expected one of {sorted(_MIXTURES)}")
    means, std = _MIXTURES[name]
    return means.clone(), std


def sample_mixture(means: Tensor, std: float, size: int, seed: int) -> Tensor:
    """``size`` float32 points, each from a uniformly chosen mode plus isotropic noise."""
    return sample_labelled_mixture(means, std, size, seed)[0]


def sample_labelled_mixture(
    means: Tensor, std: float, size: int, seed: int
) -> tuple[Tensor, Tensor]:
    """``sample_mixture``'s points (the same for the same seed) and, as int64 ``(size,)``,
    the index of the mode each was drawn from."""
    generator = torch.Generator().manual_seed(seed)
    modes = torch.randint(len(means), (size,), generator=generator)
    noise = torch.randn(size, means.shape[1], generator=generator)
    return means[modes] + std * noise, modes


def _load(request: DataRequest, name: str, what: str) -> DataStore:
    size = DEFAULT_SIZE if request.size is None else request.size
    if size < 1:
        raise ConfigError(f"dataset {name!r} needs a size of at least 1; got {size}")
    # The points (float32) and the mode index of each (int64), kept as the labels.
    check_data_bytes(size, 2 * 4 + 8, f"dataset {name!r}")
    means, std = mode_means(name)
    points, labels = sample_labelled_mixture(means, std, size, request.seed)
    description = f"{size} points from {what} (std {std}, seed {request.seed})"
    return DataStore(
        kind="points",
        tensor=points,
        description=description,
        modes=(means, std),
        labels=labels,
        classes=mode_classes(len(means)),
    )


def mode_classes(count: int) -> tuple[str, ...]:
    """The class names of a mixture's modes, in the order of its means: mode0, mode1, ..."""
    return tuple(f"mode{k}" for k in range(count))


def load_ring8(request: DataRequest) -> DataStore:
    return _load(request, "ring8", "8 Gaussians on the unit circle")


def load_grid25(request: DataRequest) -> DataStore:
    return _load(request, "grid25", "25 Gaussians on a 5x5 grid")
