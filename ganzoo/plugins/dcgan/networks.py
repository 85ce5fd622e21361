"""DCGAN networks as in Radford et al. 2015 and its reference code.

G: z -> 4x4 by a transposed conv, then stride-2 transposed convs that halve the channels and
double the size, batch norm and ReLU everywhere except the tanh output. D mirrors it with
stride-2 convs and LeakyReLU(0.2), no batch norm on its input layer, and a final 4x4 conv
that gives one raw logit. Weights start from N(0, 0.02) (batch norm scales from N(1, 0.02)).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import GAN, Discriminator, Generator

RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512)


def _stages(data_shape: tuple[int, ...]) -> int:
    if len(data_shape) != 3:
        raise ConfigError("dcgan needs images (channels, height, width), not points")
    channels, height, width = data_shape
    if height != width or height not in RESOLUTIONS:
        allowed = ", ".join(map(str, RESOLUTIONS))
        raise ConfigError(f"dcgan supports square resolutions {allowed}; got {height}x{width}")
    if channels not in (1, 3):
        raise ConfigError(f"dcgan supports 1 or 3 channels; got {channels}")
    # Number of stride-2 layers between 4x4 and the output size.
    return height.bit_length() - 3


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(Generator):
    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int = 64) -> None:
        super().__init__(latent_dim, data_shape)
        stages = _stages(self.data_shape)
        ch = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, self.data_shape[0], 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(Discriminator):
    def __init__(self, data_shape: tuple[int, ...], width: int = 64) -> None:
        super().__init__(data_shape)
        stages = _stages(self.data_shape)
        ch = width
        layers: list[nn.Module] = [
            nn.Conv2d(self.data_shape[0], ch, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def build(data_shape: tuple[int, ...], latent_dim: int = 100, width: int = 64) -> GAN:
    return GAN(
        DCGANGenerator(latent_dim, data_shape, width),
        DCGANDiscriminator(data_shape, width),
    )
