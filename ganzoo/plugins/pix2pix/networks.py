"""pix2pix networks as in Isola et al. 2017 (arXiv:1611.07004) and its reference code.

Generator: a U-Net. The encoder is ``log2(resolution)`` 4x4 stride-2 convolutions
(C64-C128-C256-C512-C512-..., capped at ``max_width``) with batch norm (none on the first
layer, none at the 1x1 bottleneck) and LeakyReLU(0.2); the decoder mirrors it with 4x4
stride-2 transposed convolutions, ReLU and batch norm, each decoder layer taking the matching
encoder layer's output concatenated to its input (the skip connections), dropout 0.5 in the
first three decoder blocks, and a tanh output.

Discriminator: the PatchGAN. ``d_layers`` 4x4 stride-2 convolutions (C64-C128-C256, no
batch norm on the first), one stride-1 C512, then a stride-1 convolution to one channel: a
map of raw logits, one per overlapping patch (70x70 pixels for ``d_layers`` = 3). It sees
the input and the image (target or output) concatenated along the channels. ``sn``: its
convolutions spectrally normalised (Miyato et al. 2018) and its batch norm dropped, as in
SN-PatchGAN (Yu et al. 2019), the inner convolutions then carrying biases.

Weights start from N(0, 0.02), batch-norm scales from N(1, 0.02).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.core.discriminators import spectral_normalise
from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import Model

MIN_RESOLUTION = 32
MAX_RESOLUTION = 1024
DROPOUT_BLOCKS = 3  # the first three decoder blocks, as in the paper


def _check_shape(data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, resolution) of a square power-of-two image shape pix2pix supports."""
    if len(data_shape) != 3:
        raise ConfigError("pix2pix translates images (channels, height, width), not points")
    channels, height, width = (int(s) for s in data_shape)
    if (
        height != width
        or height < MIN_RESOLUTION
        or height > MAX_RESOLUTION
        or height & (height - 1)
    ):
        raise ConfigError(
            f"pix2pix supports square power-of-two resolutions from {MIN_RESOLUTION} to "
            f"{MAX_RESOLUTION}; got {height}x{width}"
        )
    if channels not in (1, 3):
        raise ConfigError(f"pix2pix supports 1 or 3 channels; got {channels}")
    return channels, height


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _dropout(x: Tensor, p: float, training: bool, noise: torch.Generator | None) -> Tensor:
    """Inverted dropout whose mask comes from ``noise`` (the run's seeded random source),
    so a resumed run draws the same masks; without one, torch's global generator."""
    if not training or p == 0:
        return x
    if noise is None:
        return F.dropout(x, p, training=True)
    keep = torch.rand(x.shape, generator=noise, device=noise.device).to(x.device) >= p
    return x * keep.to(x.dtype) / (1.0 - p)


class _Down(nn.Module):
    """One encoder layer: [LeakyReLU(0.2)] -> 4x4 stride-2 conv -> [BatchNorm]."""

    def __init__(self, c_in: int, c_out: int, first: bool, norm: bool) -> None:
        super().__init__()
        self.first = first
        self.conv = nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)
        self.norm = nn.BatchNorm2d(c_out) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        if not self.first:
            x = F.leaky_relu(x, 0.2)
        return self.norm(self.conv(x))


class _Up(nn.Module):
    """One decoder layer: ReLU -> 4x4 stride-2 transposed conv -> BatchNorm [-> dropout],
    or for the output layer ReLU -> transposed conv (with bias) -> tanh."""

    def __init__(self, c_in: int, c_out: int, last: bool, dropout: float) -> None:
        super().__init__()
        self.last, self.dropout = last, float(dropout)
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=last)
        self.norm = nn.Identity() if last else nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor, noise: torch.Generator | None) -> Tensor:
        x = self.norm(self.conv(F.relu(x)))
        if self.last:
            return torch.tanh(x)
        return _dropout(x, self.dropout, self.training, noise)


def encoder_widths(resolution: int, width: int, max_width: int) -> list[int]:
    """Output channels of each encoder layer: width, 2*width, 4*width, ... capped."""
    depth = resolution.bit_length() - 1
    return [min(width * 2**i, max_width) for i in range(depth)]


class UNetGenerator(nn.Module):
    """source image -> translated image, both ``data_shape`` in [-1, 1]. The encoder takes
    the image down to 1x1 (``log2(resolution)`` layers); decoder layer ``i`` sees the
    decoder's output so far concatenated with encoder layer ``i``'s output."""

    def __init__(
        self,
        data_shape: tuple[int, ...],
        width: int = 64,
        max_width: int = 512,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        channels, resolution = _check_shape(data_shape)
        self.data_shape = (channels, resolution, resolution)
        self.in_channels = self.out_channels = channels
        widths = encoder_widths(resolution, width, max_width)
        depth = len(widths)
        inputs = [channels] + widths[:-1]
        # Encoder layer i: inputs[i] -> widths[i]; no norm on the first and the bottleneck.
        self.down = nn.ModuleList(
            _Down(inputs[i], widths[i], first=i == 0, norm=0 < i < depth - 1) for i in range(depth)
        )
        # Decoder layer i undoes encoder layer i; it runs from i = depth-1 (the bottleneck)
        # down to 0 (the output). All but the innermost see a skip connection too.
        ups = []
        for i in range(depth):
            c_in = widths[i] if i == depth - 1 else 2 * widths[i]
            block = depth - 1 - i  # 0 for the first decoder block
            p = dropout if (block < DROPOUT_BLOCKS and i > 0) else 0.0
            ups.append(_Up(c_in, inputs[i], last=i == 0, dropout=p))
        self.up = nn.ModuleList(ups)
        self.apply(init_weights)

    def forward(self, source: Tensor, noise: torch.Generator | None = None) -> Tensor:
        skips = []
        h = source
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        depth = len(self.down)
        for i in range(depth - 1, -1, -1):
            if i < depth - 1:
                h = torch.cat([skips[i], h], dim=1)
            h = self.up[i](h, noise)
        return h


def patch_layers(resolution: int, d_layers: int) -> int:
    """The stride-2 layers the PatchGAN uses: ``d_layers``, capped so that its logit map is
    at least 1x1 (its two stride-1 4x4 layers take 2 pixels off each side of a map of at
    least 4x4)."""
    return max(1, min(d_layers, resolution.bit_length() - 1 - 2))


class PatchDiscriminator(nn.Module):
    """(source, image) -> raw logits of shape (N, 1, h, w), one per patch."""

    def __init__(
        self,
        data_shape: tuple[int, ...],
        width: int = 64,
        max_width: int = 512,
        d_layers: int = 3,
        sn: bool = False,
    ) -> None:
        super().__init__()
        channels, resolution = _check_shape(data_shape)
        self.data_shape = (channels, resolution, resolution)
        self.layers_used = n = patch_layers(resolution, d_layers)
        ch = min(width, max_width)
        layers: list[nn.Module] = [
            nn.Conv2d(2 * channels, ch, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for i in range(1, n + 1):
            out = min(width * 2 ** min(i, 3), max_width)
            stride = 2 if i < n else 1
            layers.append(nn.Conv2d(ch, out, 4, stride, 1, bias=sn))
            if not sn:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)
        if sn:
            spectral_normalise(self.net)

    def forward(self, source: Tensor, image: Tensor) -> Tensor:
        return self.net(torch.cat([source, image], dim=1))


def build(
    data_shape: tuple[int, ...],
    width: int = 64,
    max_width: int = 512,
    dropout: float = 0.5,
    d_layers: int = 3,
    sn: bool = False,
) -> Model:
    return Model(
        generator=UNetGenerator(data_shape, width, max_width, dropout),
        discriminator=PatchDiscriminator(data_shape, width, max_width, d_layers, sn),
    )
