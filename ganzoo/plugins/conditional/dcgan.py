"""A class-conditional DCGAN: DCGAN's layers, with the class told to G through
class-conditional batch norm (each class its own scale and shift, as in Miyato & Koyama
2018 and BigGAN) and to D through a projection on its pooled last features.

``sn``: D's convolutions and its class embedding spectrally normalised (as Miyato & Koyama's
SN projection discriminator) and D's batch norm dropped, as ``dcgan`` does."""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.core.discriminators import spectral_normalise
from ganzoo.core.interfaces import GAN, Discriminator, Generator
from ganzoo.plugins.conditional.projection import Projection
from ganzoo.plugins.dcgan.networks import _stages, discriminator_layers
from ganzoo.plugins.dcgan.networks import init_weights as _dcgan_init


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation; the affine-free norms of conditional batch norm have none."""
    if not (isinstance(module, nn.BatchNorm2d) and not module.affine):
        _dcgan_init(module)


class ConditionalBatchNorm2d(nn.Module):
    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.scale.weight, 1.0, 0.02)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        scale = self.scale(labels)[:, :, None, None]
        shift = self.shift(labels)[:, :, None, None]
        return self.norm(x) * scale + shift


class ConditionalDCGANGenerator(Generator):
    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], num_classes: int,
                 width: int = 64) -> None:  # fmt: skip
        super().__init__(latent_dim, data_shape, num_classes)
        stages = _stages(self.data_shape)
        ch = width * 2 ** (stages - 1)
        self.convs = nn.ModuleList([nn.ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False)])
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(ch, num_classes)])
        for _ in range(stages - 1):
            self.convs.append(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm2d(ch // 2, num_classes))
            ch //= 2
        self.to_image = nn.ConvTranspose2d(ch, self.data_shape[0], 4, 2, 1, bias=False)
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = z.view(z.shape[0], self.latent_dim, 1, 1)
        for conv, norm in zip(self.convs, self.norms):
            h = norm(conv(h), labels).relu()
        return self.to_image(h).tanh()


class ProjectionDCGANDiscriminator(Discriminator):
    def __init__(self, data_shape: tuple[int, ...], num_classes: int, width: int = 64,
                 sn: bool = False) -> None:  # fmt: skip
        super().__init__(data_shape, num_classes)
        stages = _stages(self.data_shape)
        ch = width * 2 ** (stages - 1)
        self.features = nn.Sequential(*discriminator_layers(self.data_shape[0], stages, width, sn))
        self.out = nn.Conv2d(ch, 1, 4, 1, 0, bias=sn)
        self.projection = Projection(num_classes, ch)
        self.apply(init_weights)
        if sn:
            spectral_normalise(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.features(x)
        # The features are averaged over the final 4x4 map: the same scale at every size.
        return self.out(h).flatten() + self.projection(h.mean(dim=(2, 3)), labels)


def build(data_shape: tuple[int, ...], num_classes: int = 10, latent_dim: int = 100,
          width: int = 64, sn: bool = False) -> GAN:  # fmt: skip
    return GAN(
        ConditionalDCGANGenerator(latent_dim, data_shape, num_classes, width),
        ProjectionDCGANDiscriminator(data_shape, num_classes, width, sn),
    )
