"""Built-in fully connected GAN (Goodfellow et al. 2014) for images and 2D points."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="mlp",
            description="Vanilla fully connected GAN, for flattened images or 2D points",
            factory="ganzoo.plugins.mlp.networks:build",
            data_kinds=("image", "points"),
            default_resolution=32,
            options=(
                Option(
                    "latent_dim",
                    "int",
                    0,
                    "size of z; 0: 2 for points, 64 for images",
                    minimum=0,
                    maximum=65_536,
                ),
                Option(
                    "hidden", "int", 256, "units in each hidden layer", minimum=1, maximum=65_536
                ),
                Option("depth", "int", 3, "hidden layers in G and in D", minimum=1, maximum=64),
                Option("batch_norm", "bool", False, "batch norm after G's hidden layers"),
                Option(
                    "dropout",
                    "float",
                    0.0,
                    "dropout in D's hidden layers",
                    minimum=0.0,
                    maximum=1.0,
                ),
                Option(
                    "sn",
                    "bool",
                    False,
                    "spectral normalisation of every D layer (Miyato et al. 2018)",
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
            reference="Goodfellow et al. 2014, arXiv:1406.2661",
        )
    )
