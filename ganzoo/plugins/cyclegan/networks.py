"""CycleGAN networks as in Zhu et al. 2017 (appendix 7.2) and its reference code
(junyanz/pytorch-CycleGAN-and-pix2pix, ``ResnetGenerator`` and ``NLayerDiscriminator``).

Generator (Johnson et al. 2016's ResNet), in the paper's notation with k = ``width``:
``c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-C``. ``c7s1-k``: 7x7 conv, stride 1,
reflection padding 3; ``dk``: 3x3 conv, stride 2; ``Rk``: residual block of two 3x3 convs
with reflection padding; ``uk``: 3x3 transposed conv, stride 1/2. Every conv but the last
is followed by instance norm (no affine parameters, no running statistics) and ReLU; the
last by tanh. Convs carry biases (instance norm without affine parameters removes none).

Discriminator (70x70 PatchGAN, Isola et al. 2017): ``C64-C128-C256-C512`` of 4x4 convs
(stride 2, 2, 2, then 1), instance norm on all but the first, LeakyReLU(0.2), and a final
4x4 conv to one channel. Each output value judges a 70x70 patch of a 256x256 input; the
output is the raw map ``(N, 1, H', W')`` (H' = H/8 - 2: 30x30 at 256 px, 2x2 at 32 px).
Weights start from N(0, 0.02), biases from 0.

``sn``: the discriminators' convolutions spectrally normalised (Miyato et al. 2018) and their
instance norm dropped, as in SN-PatchGAN (Yu et al. 2019): a normalisation that divides by
the features' own statistics would undo the bound on each layer's gain.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.core.discriminators import spectral_normalise
from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import Model

RESOLUTIONS = (32, 64, 128, 256, 512, 1024)
# The paper: 6 residual blocks for 128x128 training images, 9 for 256x256 and higher.
SMALL_BLOCKS, LARGE_BLOCKS, SMALL_UP_TO = 6, 9, 128


def check_shape(data_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(channels, size)`` of a square image shape CycleGAN supports."""
    if len(data_shape) != 3:
        raise ConfigError("cyclegan needs images (channels, height, width), not points")
    channels, height, width = data_shape
    if height != width or height not in RESOLUTIONS:
        allowed = ", ".join(map(str, RESOLUTIONS))
        raise ConfigError(f"cyclegan supports square resolutions {allowed}; got {height}x{width}")
    if channels not in (1, 3):
        raise ConfigError(f"cyclegan supports 1 or 3 channels; got {channels}")
    return channels, height


def blocks_for(size: int, n_blocks: int = 0) -> int:
    """The residual blocks of a generator for ``size`` px images (``n_blocks`` 0: the
    paper's choice)."""
    if n_blocks > 0:
        return n_blocks
    return SMALL_BLOCKS if size <= SMALL_UP_TO else LARGE_BLOCKS


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Images of one domain (N, C, H, W) in [-1, 1] -> images of the other, same shape."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 64, n_blocks: int = 0) -> None:
        super().__init__()
        channels, size = check_shape(data_shape)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.n_blocks = blocks_for(size, n_blocks)
        k = width
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, k, 7),
            _norm(k),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):  # d2k, d4k
            layers += [
                nn.Conv2d(k * mult, k * mult * 2, 3, stride=2, padding=1),
                _norm(k * mult * 2),
                nn.ReLU(inplace=True),
            ]
        layers += [ResidualBlock(4 * k) for _ in range(self.n_blocks)]
        for mult in (4, 2):  # u2k, uk
            layers += [
                nn.ConvTranspose2d(k * mult, k * mult // 2, 3, 2, padding=1, output_padding=1),
                _norm(k * mult // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Images (N, C, H, W) -> a map of raw logits (N, 1, H/8 - 2, W/8 - 2), one per patch."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 64, sn: bool = False) -> None:
        super().__init__()
        channels, _ = check_shape(data_shape)
        self.data_shape = tuple(int(s) for s in data_shape)
        k = width
        layers: list[nn.Module] = [
            nn.Conv2d(channels, k, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for mult, stride in ((2, 2), (4, 2), (8, 1)):  # C128, C256, C512
            layers.append(nn.Conv2d(k * mult // 2, k * mult, 4, stride, 1))
            if not sn:
                layers.append(_norm(k * mult))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(8 * k, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)
        if sn:
            spectral_normalise(self.net)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def build(
    data_shape: tuple[int, ...], width: int = 64, n_blocks: int = 0, sn: bool = False
) -> Model:
    """The four networks: ``generator_ab`` (A -> B), ``generator_ba`` (B -> A),
    ``discriminator_a`` (judges domain A images) and ``discriminator_b`` (domain B)."""
    check_shape(data_shape)
    return Model(
        generator_ab=ResnetGenerator(data_shape, width, n_blocks),
        generator_ba=ResnetGenerator(data_shape, width, n_blocks),
        discriminator_a=PatchDiscriminator(data_shape, width, sn),
        discriminator_b=PatchDiscriminator(data_shape, width, sn),
    )
