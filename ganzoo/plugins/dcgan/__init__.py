"""Built-in DCGAN model (Radford, Metz & Chintala 2015)."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="dcgan",
            description="Deep convolutional GAN: strided (transposed) convs with batch norm",
            factory="ganzoo.plugins.dcgan.networks:build",
            data_kinds=("image",),
            default_resolution=64,
            options=(
                Option("latent_dim", "int", 100, "size of z", minimum=1, maximum=65_536),
                Option(
                    "width",
                    "int",
                    64,
                    "channels of G's last and D's first layer",
                    minimum=1,
                    maximum=4_096,
                ),
                Option(
                    "sn",
                    "bool",
                    False,
                    "spectral normalisation of every D layer; drops D's batch norm (SNGAN)",
                ),
                Option(
                    "pack",
                    "int",
                    1,
                    "PacGAN: samples D judges together (batch size a multiple of it)",
                    minimum=1,
                    maximum=16,
                ),
            ),
            reference="Radford et al. 2015, arXiv:1511.06434",
        )
    )
