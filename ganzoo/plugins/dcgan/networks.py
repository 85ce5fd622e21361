"""DCGAN networks as in Radford et al. 2015 and its reference code.

G: z -> 4x4 by a transposed conv, then stride-2 transposed convs that halve the channels and
double the size, batch norm and ReLU everywhere except the tanh output. D mirrors it with
stride-2 convs and LeakyReLU(0.2), no batch norm on its input layer, and a final 4x4 conv
that gives one raw logit. Weights start from N(0, 0.02), biases (if any) from 0, batch norm
scales from N(1, 0.02).

``sn``: every D convolution spectrally normalised and D's batch norm dropped, as SNGAN's
discriminators have none (Miyato et al. 2018): batch norm divides by batch statistics,
which would undo the bound on each layer's gain. D's convolutions then carry biases.
``pack``: D reads ``pack`` images stacked along the channels and gives one logit per group
(PacGAN, Lin et al. 2018).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.core.discriminators import pack_samples, spectral_normalise
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
        if module.bias is not None:
            nn.init.zeros_(module.bias)
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


def discriminator_layers(in_channels: int, stages: int, width: int, sn: bool) -> list[nn.Module]:
    """D's stride-2 stages down to a 4x4 map of ``width * 2**(stages-1)`` channels; with
    ``sn`` no batch norm, and biases in its place."""
    ch = width
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, ch, 4, 2, 1, bias=sn),
        nn.LeakyReLU(0.2, inplace=True),
    ]
    for _ in range(stages - 1):
        layers.append(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=sn))
        if not sn:
            layers.append(nn.BatchNorm2d(ch * 2))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        ch *= 2
    return layers


class DCGANDiscriminator(Discriminator):
    def __init__(
        self, data_shape: tuple[int, ...], width: int = 64, sn: bool = False, pack: int = 1
    ) -> None:
        super().__init__(data_shape)
        stages = _stages(self.data_shape)
        self.pack = int(pack)
        layers = discriminator_layers(self.data_shape[0] * self.pack, stages, width, sn)
        layers.append(nn.Conv2d(width * 2 ** (stages - 1), 1, 4, 1, 0, bias=sn))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)
        if sn:
            spectral_normalise(self.net)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(pack_samples(x, self.pack)).flatten()


def build(
    data_shape: tuple[int, ...],
    latent_dim: int = 100,
    width: int = 64,
    sn: bool = False,
    pack: int = 1,
) -> GAN:
    return GAN(
        DCGANGenerator(latent_dim, data_shape, width),
        DCGANDiscriminator(data_shape, width, sn, pack),
    )
