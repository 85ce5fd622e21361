"""tinyconv: a small convolutional GAN for square power-of-two images from 8 to 128 px.

G maps z to a 4x4 feature map with one linear layer, then doubles the size with
(nearest upsample, 3x3 conv, batch norm, ReLU) blocks up to the resolution and ends in a 3x3
conv and tanh. D mirrors it with strided 4x4 convs and LeakyReLU down to 4x4, then one
linear layer to a raw logit. Upsample + conv instead of transposed convs avoids their
checkerboard artefacts (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo import GAN, Discriminator, Generator
from ganzoo.core.errors import ConfigError

MIN_RESOLUTION = 8
MAX_RESOLUTION = 128
BASE = 4  # side of the feature map G starts from and D ends at
MAX_MULTIPLIER = 8  # caps the feature maps at low resolutions to width * 8


def check_shape(data_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(channels, resolution)`` of a supported ``data_shape``, else a ``ConfigError``."""
    if len(data_shape) != 3:
        raise ConfigError(
            f"tinyconv generates images of shape (channels, height, width); got {data_shape}"
        )
    channels, height, width = (int(s) for s in data_shape)
    if channels not in (1, 3):
        raise ConfigError(f"tinyconv supports 1 or 3 channels; got {channels}")
    if height != width:
        raise ConfigError(f"tinyconv needs square images; got {height}x{width}")
    if not (MIN_RESOLUTION <= height <= MAX_RESOLUTION) or height & (height - 1):
        raise ConfigError(f"tinyconv supports resolutions 8, 16, 32, 64 and 128; got {height}")
    return channels, height


def feature_widths(resolution: int, width: int) -> list[int]:
    """Feature maps at 4x4, 8x8, ..., ``resolution``: doubling towards low resolutions."""
    steps = resolution.bit_length() - BASE.bit_length()
    return [width * min(2 ** (steps - i), MAX_MULTIPLIER) for i in range(steps + 1)]


class TinyConvGenerator(Generator):
    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int = 32) -> None:
        super().__init__(latent_dim, data_shape)
        channels, resolution = check_shape(self.data_shape)
        widths = feature_widths(resolution, width)
        self.project = nn.Sequential(
            nn.Linear(self.latent_dim, widths[0] * BASE * BASE, bias=False),
            nn.Unflatten(1, (widths[0], BASE, BASE)),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        blocks = []
        for w_in, w_out in zip(widths, widths[1:]):
            blocks += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                # No bias: the batch norm that follows would cancel it.
                nn.Conv2d(w_in, w_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(w_out),
                nn.ReLU(inplace=True),
            ]
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Sequential(nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.to_image(self.blocks(self.project(z)))


class TinyConvDiscriminator(Discriminator):
    def __init__(self, data_shape: tuple[int, ...], width: int = 32) -> None:
        super().__init__(data_shape)
        channels, resolution = check_shape(self.data_shape)
        widths = feature_widths(resolution, width)[::-1]
        layers: list[nn.Module] = [
            nn.Conv2d(channels, widths[0], 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        # No batch norm in D: it would couple the logits of the samples in a batch.
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.to_logit = nn.Linear(widths[-1] * BASE * BASE, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.to_logit(self.features(x).flatten(1)).squeeze(1)


def build(data_shape: tuple[int, ...], latent_dim: int = 64, width: int = 32) -> GAN:
    """The factory named by the ``tinyconv`` ModelInfo: ganzoo calls it with the data shape
    and the resolved options."""
    return GAN(
        TinyConvGenerator(latent_dim, data_shape, width=width),
        TinyConvDiscriminator(data_shape, width=width),
    )
