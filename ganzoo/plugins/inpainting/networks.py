"""Inpainting networks: a gated-convolution encoder-decoder and an SN-PatchGAN critic.

Generator (Iizuka et al. 2017's completion network, with Yu et al. 2019's gated
convolutions): ``generator(image, mask)`` takes images in [-1, 1] ``(N, C, H, W)`` and a
float mask ``(N, 1, H, W)`` with 1 where pixels are missing. It zeroes the missing pixels
itself (they never reach a weight), reads ``C + 1`` channels (the masked image and the
mask) and returns a whole image in [-1, 1]; a caller keeps the known pixels and takes the
output only inside the hole: ``out * mask + image * (1 - mask)``.

Layout at width ``w`` (Iizuka et al.'s Table 1 with w = 64 has 64/128/256 channels): 5x5
conv (w) -> stride-2 3x3 (2w) -> 3x3 (2w) -> stride-2 3x3 (4w) -> two 3x3 (4w) -> four
dilated 3x3 (4w; dilation 2, 4, 8, 16, capped at a quarter of the feature map) -> two 3x3
(4w) -> nearest 2x upsampling + 3x3 (2w) -> 3x3 (2w) -> upsampling + 3x3 (w) -> 3x3 (w/2)
-> 3x3 to C channels. The network reads the hole pre-filled by the push-pull pyramid (an
average of the nearest known pixels, from the known pixels only) and its last layer, near
zero at the start, adds a correction to that first guess, clamped to [-1, 1]: it learns
what a smooth fill gets wrong instead of the whole picture from scratch. Above 256 px one
more stride-2 stage per doubling keeps the middle at 64x64. Every convolution but the last
is gated (``gated=true``): half its outputs pass through ELU, the other half through a
sigmoid that weighs them per pixel and channel, so the network learns which positions hold
valid data (Yu et al. 2019, section 3.1); with ``gated=false`` they are plain convolutions
with ELU. No normalisation (as DeepFill v2).

Discriminator (SN-PatchGAN, Yu et al. 2019, section 3.2): stride-2 5x5 convolutions with
spectral norm and LeakyReLU(0.2), w, 2w, 4w, 4w, 4w, 4w channels (up to six, fewer for small
images, so the map is at least 4x4), then a 3x3 convolution to one logit per patch. It reads
the image and the mask (C + 1 channels), as DeepFill v2 does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import Model
from ganzoo.core.limits import MAX_ACTIVATIONS_PER_SAMPLE

MIN_SIZE, MAX_SIZE = 32, 1024
MIDDLE_MAX = 64  # the generator's middle (dilated) stage is at most this many pixels wide


def check_shape(data_shape: tuple[int, ...]) -> int:
    """The image side for ``data_shape``; refuses what the networks cannot take."""
    if len(data_shape) != 3:
        raise ConfigError("inpainting needs images (channels, height, width), not points")
    channels, height, width = data_shape
    sizes = [2**k for k in range(5, 11)]
    if height != width or height not in sizes:
        allowed = ", ".join(map(str, sizes))
        raise ConfigError(f"inpainting supports square resolutions {allowed}; got {height}x{width}")
    if channels not in (1, 3):
        raise ConfigError(f"inpainting supports 1 or 3 channels; got {channels}")
    return height


def hole_of(mask: Tensor) -> Tensor:
    """The mask as exactly 0 or 1 (a value above 0.5 is missing)."""
    return (mask > 0.5).to(torch.float32)


class GatedConv(nn.Module):
    """``elu(features) * sigmoid(gate)`` from one convolution with twice the outputs (Yu et
    al. 2019, eq. 1); a plain convolution with ELU when not gated."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1,
                 dilation: int = 1, gated: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.gated = gated
        padding = dilation * (kernel - 1) // 2
        outputs = 2 * cout if gated else cout
        self.conv = nn.Conv2d(cin, outputs, kernel, stride, padding, dilation)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        if not self.gated:
            return F.elu(y)
        features, gate = y.chunk(2, dim=1)
        return F.elu(features) * torch.sigmoid(gate)


class Upsample(nn.Module):
    """Nearest-neighbour 2x upsampling followed by a (gated) 3x3 convolution (DeepFill's
    ``gen_deconv``, free of the checkerboard of transposed convolutions)."""

    def __init__(self, cin: int, cout: int, gated: bool) -> None:
        super().__init__()
        self.conv = GatedConv(cin, cout, 3, gated=gated)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def push_pull(image: Tensor, known: Tensor) -> Tensor:
    """``image`` with its unknown pixels (``known`` = 0) filled from the known ones by the
    push-pull pyramid (Gortler et al. 1996): averages of the known pixels over ever larger
    blocks, each hole pixel taking the finest average that reaches it. Only known pixels
    carry weight, so what lies under the hole never counts. Sides must be powers of two."""
    if image.shape[-1] == 1:
        return image
    weight = F.avg_pool2d(known, 2)
    coarse_known = (weight > 0).to(image.dtype)
    coarse = F.avg_pool2d(image * known, 2) / weight.clamp(min=1e-6)
    filled = push_pull(coarse * coarse_known, coarse_known)
    up = F.interpolate(filled, scale_factor=2, mode="bilinear", align_corners=False)
    return image * known + up * (1 - known)


def dilations(middle: int) -> list[int]:
    """Iizuka et al.'s 2, 4, 8, 16, each capped at a quarter of the middle map's side."""
    cap = max(1, middle // 4)
    return [min(d, cap) for d in (2, 4, 8, 16)]


class InpaintingGenerator(nn.Module):
    """``forward(image, mask)`` -> a whole image; pixels under ``mask`` are never read."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 32, gated: bool = True) -> None:
        super().__init__()
        size = check_shape(data_shape)
        self.data_shape = tuple(int(s) for s in data_shape)
        channels = self.data_shape[0]
        w, w2, w4 = width, 2 * width, 4 * width
        extra = max(0, int(math.log2(size // 4)) - int(math.log2(MIDDLE_MAX)))
        middle = size // (4 * 2**extra)

        def conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, dil: int = 1):
            return GatedConv(cin, cout, kernel, stride, dil, gated)

        encoder = [conv(channels + 1, w, 5), conv(w, w2, 3, 2), conv(w2, w2), conv(w2, w4, 3, 2)]
        encoder += [conv(w4, w4, 3, 2) for _ in range(extra)]
        encoder += [conv(w4, w4), conv(w4, w4)]
        center = [conv(w4, w4, 3, 1, d) for d in dilations(middle)]
        center += [conv(w4, w4), conv(w4, w4)]
        decoder: list[nn.Module] = []
        for _ in range(extra):
            decoder += [Upsample(w4, w4, gated)]
        decoder += [Upsample(w4, w2, gated), conv(w2, w2)]
        decoder += [Upsample(w2, w, gated), conv(w, max(1, w // 2))]
        # The last layer gives a correction to the push-pull first guess (forward), not the
        # picture itself; it starts small, so an untrained generator returns about that guess
        # while every layer still gets a gradient from the first step.
        last = nn.Conv2d(max(1, w // 2), channels, 3, 1, 1)
        nn.init.normal_(last.weight, 0.0, 1e-3)
        nn.init.zeros_(last.bias)
        decoder += [last]
        self.encoder = nn.Sequential(*encoder)
        self.center = nn.Sequential(*center)
        self.decoder = nn.Sequential(*decoder)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        hole = hole_of(mask).to(image.dtype)
        # torch.where, not a product: even NaN or inf under the hole leaves no trace.
        known = torch.where(hole > 0, torch.zeros_like(image), image)
        guess = push_pull(known, 1 - hole)
        x = torch.cat([guess, hole], dim=1)
        return (guess + self.decoder(self.center(self.encoder(x)))).clamp(-1, 1)


def patch_layers(size: int) -> int:
    """Stride-2 layers of the critic: six (Yu et al.'s) but leaving a map of at least 4x4."""
    return min(6, int(math.log2(size)) - 2)


class PatchDiscriminator(nn.Module):
    """SN-PatchGAN on ``(image, mask)``: one raw logit per patch, ``(N, 1, h, w)``."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 32) -> None:
        super().__init__()
        size = check_shape(data_shape)
        self.data_shape = tuple(int(s) for s in data_shape)
        layers: list[nn.Module] = []
        cin = self.data_shape[0] + 1
        for index in range(patch_layers(size)):
            cout = width * min(4, 2**index)
            layers += [spectral_norm(nn.Conv2d(cin, cout, 5, 2, 2)), nn.LeakyReLU(0.2)]
            cin = cout
        layers.append(spectral_norm(nn.Conv2d(cin, 1, 3, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return self.net(torch.cat([image, hole_of(mask).to(image.dtype)], dim=1))


def _activations(model: Model, data_shape: tuple[int, ...]) -> int:
    """Values one sample's pass through G and D produces, counted on ``meta`` tensors."""
    total = 0

    def count(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal total
        if isinstance(output, Tensor):
            total += output.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            image = torch.zeros(1, *data_shape, device="meta")
            mask = torch.zeros(1, 1, *data_shape[1:], device="meta")
            model.discriminator(model.generator(image, mask), mask)
    finally:
        for handle in handles:
            handle.remove()
    return total


def build(data_shape: tuple[int, ...], width: int = 32, gated: bool = True) -> Model:
    data_shape = tuple(int(s) for s in data_shape)
    model = Model(
        generator=InpaintingGenerator(data_shape, width, gated),
        discriminator=PatchDiscriminator(data_shape, width),
    )
    # ganzoo measures the activations of the classic noise-fed pair only; this family
    # measures its own on the meta build (free there), before anything is allocated.
    if next(model.parameters()).device.type == "meta":
        values = _activations(model, data_shape)
        if values > MAX_ACTIVATIONS_PER_SAMPLE:
            raise ConfigError(
                f"model 'inpainting' with these options computes {values:,} values per "
                f"sample, more than the {MAX_ACTIVATIONS_PER_SAMPLE:,} ganzoo allows; "
                "choose a smaller width or resolution"
            )
    return model
