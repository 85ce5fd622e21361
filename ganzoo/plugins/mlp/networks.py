"""Fully connected generator and discriminator.

G: z -> [Linear, (BatchNorm), ReLU] x depth -> Linear, then tanh for images (which live in
[-1, 1]) and nothing for points (whose coordinates are unbounded, e.g. +-4 in grid25).
D: x flattened -> [Linear, LeakyReLU(0.2), (Dropout)] x depth -> Linear to one logit.
``sn``: every D layer spectrally normalised (Miyato et al. 2018). ``pack``: D reads ``pack``
samples side by side and gives one logit per group (PacGAN, Lin et al. 2018).
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganzoo.core.discriminators import pack_samples, spectral_normalise
from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import GAN, Discriminator, Generator


def _check(data_shape: tuple[int, ...]) -> None:
    if len(data_shape) not in (1, 3) or min(data_shape) < 1:
        raise ConfigError(f"mlp needs (dim,) points or (C, H, W) images; got {data_shape}")


class MLPGenerator(Generator):
    def __init__(
        self,
        latent_dim: int,
        data_shape: tuple[int, ...],
        hidden: int = 256,
        depth: int = 3,
        batch_norm: bool = False,
    ) -> None:
        super().__init__(latent_dim, data_shape)
        _check(self.data_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU(inplace=True))
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.data_shape)))
        if len(self.data_shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPDiscriminator(Discriminator):
    def __init__(
        self,
        data_shape: tuple[int, ...],
        hidden: int = 256,
        depth: int = 3,
        dropout: float = 0.0,
        sn: bool = False,
        pack: int = 1,
    ) -> None:
        super().__init__(data_shape)
        _check(self.data_shape)
        self.pack = int(pack)
        layers: list[nn.Module] = []
        width = math.prod(self.data_shape) * self.pack
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        if sn:
            spectral_normalise(self.net)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(pack_samples(x.flatten(1), self.pack)).flatten()


# A 2D mixture needs a 2D latent (PacGAN's setting): with 64 latent dimensions the ring8
# runs in benchmarks/quality_2d.py tuning often ended with no sample near any mode.
AUTO_LATENT = {1: 2, 3: 64}


def build(
    data_shape: tuple[int, ...],
    latent_dim: int = 0,
    hidden: int = 256,
    depth: int = 3,
    batch_norm: bool = False,
    dropout: float = 0.0,
    sn: bool = False,
    pack: int = 1,
) -> GAN:
    if latent_dim == 0:
        latent_dim = AUTO_LATENT.get(len(data_shape), 64)
    if dropout >= 1:
        raise ConfigError(f"mlp option 'dropout' must be below 1; got {dropout}")
    return GAN(
        MLPGenerator(latent_dim, data_shape, hidden, depth, batch_norm),
        MLPDiscriminator(data_shape, hidden, depth, dropout, sn, pack),
    )
