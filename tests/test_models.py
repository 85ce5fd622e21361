"""DCGAN and MLP architectures: shapes, layer placement, unsupported geometry."""

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.core.errors import ConfigError


@pytest.mark.parametrize("resolution", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(resolution, channels):
    gan = ganzoo.create("dcgan", resolution=resolution, channels=channels, width=8)
    z = gan.generator.sample_latent(2)
    images = gan.generator(z)
    assert images.shape == (2, channels, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    logits = gan.discriminator(images)
    assert logits.shape == (2,)


def test_dcgan_layers_follow_the_paper():
    gan = ganzoo.create("dcgan", resolution=64, channels=3)
    g = list(gan.generator.net)
    d = list(gan.discriminator.net)
    # G: batch norm everywhere but the output, ReLU, tanh output.
    assert isinstance(g[-2], nn.ConvTranspose2d) and isinstance(g[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g) == 4
    assert all(not isinstance(m, nn.LeakyReLU) for m in g)
    assert sum(isinstance(m, nn.ReLU) for m in g) == 4
    # D: no batch norm on the input layer, LeakyReLU(0.2), a raw logit (no sigmoid).
    assert isinstance(d[0], nn.Conv2d) and isinstance(d[1], nn.LeakyReLU)
    assert all(m.negative_slope == 0.2 for m in d if isinstance(m, nn.LeakyReLU))
    assert isinstance(d[-1], nn.Conv2d)
    assert not any(isinstance(m, nn.Sigmoid) for m in d)
    strided = [m for m in d if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 4
    # The paper's 64x64 G: 100 -> 512x4x4 -> ... -> 3x64x64 with width 64.
    assert g[0].in_channels == 100 and g[0].out_channels == 512


def test_dcgan_rejects_unsupported_resolution():
    with pytest.raises(ConfigError, match="resolutions"):
        ganzoo.create("dcgan", resolution=48)
    with pytest.raises(ConfigError, match="1 or 3"):
        ganzoo.create("dcgan", resolution=32, channels=2)
    with pytest.raises(ConfigError, match="at least 1"):
        ganzoo.create("dcgan", resolution=32, width=0)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 24, 40)])
def test_mlp_images_of_any_size(shape):
    from ganzoo.plugins.mlp.networks import build

    gan = build(shape, hidden=32, depth=2)
    x = gan.generator(gan.generator.sample_latent(4))
    assert x.shape == (4, *shape)
    assert gan.discriminator(x).shape == (4,)


def test_mlp_points_are_unbounded():
    gan = ganzoo.create("mlp", points=True, hidden=16)
    assert gan.generator.data_shape == (2,)
    assert not any(isinstance(m, nn.Tanh) for m in gan.generator.modules())
    with torch.no_grad():
        for p in gan.generator.parameters():
            p.fill_(1.0)
    out = gan.generator(torch.ones(3, gan.generator.latent_dim))
    assert out.shape == (3, 2) and out.abs().max() > 1


def test_unknown_option_is_a_clear_error():
    with pytest.raises(ConfigError, match="no option 'depthh'"):
        ganzoo.create("mlp", depthh=3)
    with pytest.raises(ConfigError, match="must be a whole number"):
        ganzoo.create("mlp", hidden="wide")
