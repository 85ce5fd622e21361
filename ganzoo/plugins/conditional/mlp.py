"""A class-conditional fully connected GAN.

G: [z, embed(y)] -> the mlp generator's layers. D: phi = the mlp discriminator's hidden
layers, logit = linear(phi) + <embed(y), phi> (projection). ``sn``: D's linear layers and
its class embedding spectrally normalised (Miyato & Koyama's SN projection discriminator).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.core.discriminators import spectral_normalise
from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import GAN, Discriminator, Generator
from ganzoo.plugins.conditional.projection import Projection

AUTO_LATENT = {1: 2, 3: 64}


class ConditionalMLPGenerator(Generator):
    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], num_classes: int,
                 hidden: int, depth: int) -> None:  # fmt: skip
        super().__init__(latent_dim, data_shape, num_classes)
        self.embed = nn.Embedding(num_classes, hidden)
        layers: list[nn.Module] = []
        width = latent_dim + hidden
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.data_shape)))
        if len(self.data_shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(h).view(z.shape[0], *self.data_shape)


class ProjectionMLPDiscriminator(Discriminator):
    def __init__(self, data_shape: tuple[int, ...], num_classes: int, hidden: int,
                 depth: int, sn: bool = False) -> None:  # fmt: skip
        super().__init__(data_shape, num_classes)
        layers: list[nn.Module] = []
        width = math.prod(self.data_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2, inplace=True)]
            width = hidden
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(hidden, 1)
        self.projection = Projection(num_classes, hidden)
        if sn:
            spectral_normalise(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        phi = self.features(x.flatten(1))
        return self.out(phi).flatten() + self.projection(phi, labels)


def build(data_shape: tuple[int, ...], num_classes: int = 10, latent_dim: int = 0,
          hidden: int = 256, depth: int = 3, sn: bool = False) -> GAN:  # fmt: skip
    if len(data_shape) not in (1, 3):
        raise ConfigError(f"cmlp needs (dim,) points or (C, H, W) images; got {data_shape}")
    if latent_dim == 0:
        latent_dim = AUTO_LATENT[len(data_shape)]
    return GAN(
        ConditionalMLPGenerator(latent_dim, data_shape, num_classes, hidden, depth),
        ProjectionMLPDiscriminator(data_shape, num_classes, hidden, depth, sn),
    )
