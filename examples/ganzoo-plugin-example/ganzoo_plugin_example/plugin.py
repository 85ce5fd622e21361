"""The entry-point module: ganzoo imports it to list what this plugin provides.

It only describes; the factories are import strings that ganzoo resolves when a run needs
them, so ``ganzoo list`` never imports torch or builds a network because of this plugin.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import LossInfo, ModelInfo, Option


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="tinyconv",
            description="Small convolutional GAN for square power-of-two images, 8 to 128 px",
            factory="ganzoo_plugin_example.networks:build",
            data_kinds=("image",),
            options=(
                Option("latent_dim", "int", 64, help="size of the latent vector z", minimum=1),
                Option("width", "int", 32, help="feature maps at full resolution", minimum=4),
            ),
            default_resolution=32,
        )
    )


@hookimpl
def register_losses(register):
    register(
        LossInfo(
            name="least-squares-r1",
            description="Least-squares GAN loss (LSGAN) on raw D outputs, by default a=0, b=1, c=1",
            factory="ganzoo_plugin_example.losses:LeastSquaresLoss",
            options=(
                Option("a", "float", 0.0, help="target of D for fake samples"),
                Option("b", "float", 1.0, help="target of D for real samples"),
                Option("c", "float", 1.0, help="value G wants D to give its samples"),
                Option(
                    "r1", "float", 0.0, help="weight of an R1 penalty on real samples", minimum=0.0
                ),
            ),
            formula="D: min ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²];  G: min ½E[(D(G(z)) - c)²]",
            reference="Mao et al. 2017, Least Squares Generative Adversarial Networks",
        )
    )
