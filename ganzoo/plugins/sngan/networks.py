"""SNGAN's ResNet networks (Miyato et al. 2018, appendix B, and their released code,
pfnet-research/sngan_projection), unconditional or class-conditional (Miyato & Koyama 2018).

G: z -> linear -> 4x4 map -> residual blocks, each BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3
with a 1x1-conv shortcut of the upsampled input, doubling the size -> BN, ReLU, conv3x3,
tanh. D: an "optimized" first block (conv-ReLU-conv-avgpool, shortcut avgpool-conv1x1),
then ReLU-conv-ReLU-conv blocks that halve the size (all but the last one or two) -> ReLU,
global *sum* pooling, linear to one logit. Every layer of D is spectrally normalised
(one power iteration per training forward). Conditional: G's block norms are class-
conditional batch norms; D adds the projection <embed(y), phi(x)> (embedding also SN).
``pack`` (unconditional only): D reads ``pack`` images stacked along the channels and gives
one logit per group (PacGAN, Lin et al. 2018).

Channels are multiples of c = ``width`` (64 gives the papers' networks): at 32 px the
CIFAR-10 networks (G 4c = 256 throughout, D 2c = 128 throughout); from 64 px the released
code's ImageNet/dog-and-cat networks, G halving from 16c to c, D doubling from c to 16c;
512 px follows BigGAN's table (Brock et al. 2018, appendix B), which extends the same rule.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.core.discriminators import pack_samples
from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import GAN, Discriminator, Generator
from ganzoo.plugins.conditional.dcgan import ConditionalBatchNorm2d
from ganzoo.plugins.conditional.projection import Projection

# G: channels (in units of c) of the 4x4 map, then after each upsampling block.
G_CHANNELS = {
    32: (4, 4, 4, 4),
    64: (16, 8, 4, 2, 1),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
    512: (16, 16, 8, 8, 4, 2, 1, 1),
}
# D: output channels (in units of c) of each block, and how many of the last keep the size.
D_CHANNELS = {
    32: ((2, 2, 2, 2), 2),
    64: ((1, 2, 4, 8, 16), 0),
    128: ((1, 2, 4, 8, 16, 16), 1),
    256: ((1, 2, 4, 8, 8, 16, 16), 1),
    512: ((1, 1, 2, 4, 8, 8, 16, 16), 1),
}
RESOLUTIONS = tuple(G_CHANNELS)
# The released code's initialisation: Glorot uniform, gain sqrt(2) on the residual convs
# (they feed ReLUs), 1 on shortcuts, the first linear, the output conv and D's head.
RESIDUAL_GAIN = math.sqrt(2)


def check_shape(data_shape: tuple[int, ...], name: str) -> int:
    """The resolution of ``data_shape`` if the family supports it."""
    if len(data_shape) != 3:
        raise ConfigError(f"{name} needs images (channels, height, width), not points")
    channels, height, width = data_shape
    if height != width or height not in RESOLUTIONS:
        allowed = ", ".join(map(str, RESOLUTIONS))
        raise ConfigError(f"{name} supports square resolutions {allowed}; got {height}x{width}")
    if channels not in (1, 3):
        raise ConfigError(f"{name} supports 1 or 3 channels; got {channels}")
    return height


def _glorot(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    nn.init.xavier_uniform_(layer.weight, gain)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _sn(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    # Initialised before normalising: the first power iterations run on the final weight.
    return spectral_norm(_glorot(layer, gain))


def _up(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class GBlock(nn.Module):
    def __init__(self, cin: int, cout: int, num_classes: int) -> None:
        super().__init__()
        self.norm1 = _norm(cin, num_classes)
        self.conv1 = _glorot(nn.Conv2d(cin, cout, 3, 1, 1), RESIDUAL_GAIN)
        self.norm2 = _norm(cout, num_classes)
        self.conv2 = _glorot(nn.Conv2d(cout, cout, 3, 1, 1), RESIDUAL_GAIN)
        self.shortcut = _glorot(nn.Conv2d(cin, cout, 1))

    def forward(self, x: Tensor, labels: Tensor | None) -> Tensor:
        h = self.conv1(_up(_normed(self.norm1, x, labels).relu()))
        h = self.conv2(_normed(self.norm2, h, labels).relu())
        # A 1x1 conv commutes with nearest upsampling: convolving first is 4x cheaper.
        return h + _up(self.shortcut(x))


def _norm(channels: int, num_classes: int) -> nn.Module:
    if num_classes == 0:
        return nn.BatchNorm2d(channels)
    norm = ConditionalBatchNorm2d(channels, num_classes)
    # Miyato & Koyama's code starts every class at scale 1, shift 0.
    nn.init.ones_(norm.scale.weight)
    return norm


def _normed(norm: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    return norm(x) if labels is None else norm(x, labels)


class SNGANGenerator(Generator):
    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], num_classes: int = 0,
                 width: int = 64, name: str = "sngan") -> None:  # fmt: skip
        super().__init__(latent_dim, data_shape, num_classes)
        channels = [m * width for m in G_CHANNELS[check_shape(self.data_shape, name)]]
        self.base = channels[0]
        self.linear = _glorot(nn.Linear(latent_dim, 16 * channels[0]))
        self.blocks = nn.ModuleList(
            GBlock(cin, cout, num_classes) for cin, cout in zip(channels, channels[1:])
        )
        # The last norm is unconditional in the released code too.
        self.norm = nn.BatchNorm2d(channels[-1])
        self.to_image = _glorot(nn.Conv2d(channels[-1], self.data_shape[0], 3, 1, 1))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.linear(z).view(z.shape[0], self.base, 4, 4)
        for block in self.blocks:
            h = block(h, labels)
        return self.to_image(self.norm(h).relu()).tanh()


class DBlock(nn.Module):
    """ReLU-conv-ReLU-conv (the hidden width is the input's, as in the released code), then
    average pooling when ``down``; ``first``: the optimized block, no ReLU on the image."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool = False) -> None:
        super().__init__()
        hidden = cout if first else cin
        self.first, self.down = first, down
        self.conv1 = _sn(nn.Conv2d(cin, hidden, 3, 1, 1), RESIDUAL_GAIN)
        self.conv2 = _sn(nn.Conv2d(hidden, cout, 3, 1, 1), RESIDUAL_GAIN)
        self.shortcut = _sn(nn.Conv2d(cin, cout, 1)) if (cin != cout or down) else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(self.conv1(x if self.first else x.relu()).relu())
        skip = x
        if self.down:
            h = F.avg_pool2d(h, 2)
            # A 1x1 conv commutes with average pooling: pooling first is 4x cheaper.
            skip = F.avg_pool2d(skip, 2)
        if self.shortcut is not None:
            skip = self.shortcut(skip)
        return h + skip


class SNGANDiscriminator(Discriminator):
    def __init__(self, data_shape: tuple[int, ...], num_classes: int = 0, width: int = 64,
                 name: str = "sngan", pack: int = 1) -> None:  # fmt: skip
        super().__init__(data_shape, num_classes)
        self.pack = int(pack)
        multiples, keep = D_CHANNELS[check_shape(self.data_shape, name)]
        channels = [self.data_shape[0] * self.pack] + [m * width for m in multiples]
        last = len(multiples) - keep
        self.blocks = nn.Sequential(
            *(
                DBlock(cin, cout, down=i < last, first=i == 0)
                for i, (cin, cout) in enumerate(zip(channels, channels[1:]))
            )
        )
        self.out = _sn(nn.Linear(channels[-1], 1))
        self.projection = None
        if num_classes > 0:
            self.projection = Projection(num_classes, channels[-1])
            _sn(self.projection.embed)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        # Sum, not mean, over positions: the papers' global sum pooling.
        h = self.blocks(pack_samples(x, self.pack)).relu().sum(dim=(2, 3))
        logits = self.out(h).flatten()
        if self.projection is not None:
            logits = logits + self.projection(h, labels)
        return logits


def build(data_shape: tuple[int, ...], latent_dim: int = 128, width: int = 64,
          pack: int = 1) -> GAN:  # fmt: skip
    return GAN(
        SNGANGenerator(latent_dim, data_shape, 0, width),
        SNGANDiscriminator(data_shape, 0, width, pack=pack),
    )


def build_conditional(data_shape: tuple[int, ...], num_classes: int = 10, latent_dim: int = 128,
                      width: int = 64) -> GAN:  # fmt: skip
    return GAN(
        SNGANGenerator(latent_dim, data_shape, num_classes, width, "csngan"),
        SNGANDiscriminator(data_shape, num_classes, width, "csngan"),
    )
