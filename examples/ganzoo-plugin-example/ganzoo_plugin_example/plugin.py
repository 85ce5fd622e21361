"""The entry-point module: ganzoo imports it to list what this plugin provides.

It only describes; the factories are import strings that ganzoo resolves when a run needs
them, so ``ganzoo list`` never imports torch or builds a network because of this plugin.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import LossInfo, ModelInfo, Option
from ganzoo.zoo.presets import PresetInfo

# tinyconv and tinyada build the same networks from the same options.
_NETWORK_OPTIONS = (
    Option("latent_dim", "int", 64, help="size of the latent vector z", minimum=1),
    Option("width", "int", 32, help="feature maps at full resolution", minimum=4),
)


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="tinyconv",
            description="Small convolutional GAN for square power-of-two images, 8 to 128 px",
            factory="ganzoo_plugin_example.networks:build",
            data_kinds=("image",),
            options=_NETWORK_OPTIONS,
            default_resolution=32,
        )
    )
    # A family with its own training step, step options and state: everything the trainer
    # needs to know about it is here, as plain data; the step lives in ada.py.
    register(
        ModelInfo(
            name="tinyada",
            description="tinyconv trained with adaptive discriminator augmentation (small ADA)",
            factory="ganzoo_plugin_example.networks:build",
            data_kinds=("image",),
            options=_NETWORK_OPTIONS,
            step_options=(
                Option(
                    "target",
                    "float",
                    0.6,
                    help="the r_t = E[sign D(real)] that p steers towards (more: less augmenting)",
                    minimum=0.0,
                    maximum=1.0,
                ),
                Option(
                    "interval",
                    "int",
                    4,
                    help="steps between adjustments of p",
                    minimum=1,
                    maximum=1_000_000,
                ),
                Option(
                    "speed",
                    "int",
                    5000,
                    help="real images it takes p to move from 0 to 1 (the paper: 500000)",
                    minimum=1,
                    maximum=1_000_000_000,
                ),
                Option(
                    "padding",
                    "str",
                    "reflect",
                    help="how a translation fills the border it uncovers",
                    choices=("reflect", "zeros"),
                ),
            ),
            default_resolution=32,
            reference="Karras et al. 2020, Training GANs with Limited Data, arXiv:2006.06676",
            train_step="ganzoo_plugin_example.ada:AdaStep",
            networks=("generator", "discriminator"),
            ema=("generator",),
            use="noise",
            needs=("x",),
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


@hookimpl
def register_presets(register):
    # Named only (no ``datasets``): a plugin's preset becomes a default only where its
    # author measured that it works. This one shows the mechanism; it makes no quality claim.
    register(
        PresetInfo(
            name="tinyconv-r1",
            description="tinyconv with this plugin's least-squares loss and an R1 penalty",
            models=("tinyconv", "tinyada"),
            settings={
                "loss": "least-squares-r1",
                "loss_options": {"r1": 1.0},
                "lr_g": 2e-4,
                "lr_d": 2e-4,
            },
            evidence="an example of a plugin's preset: not tuned, no quality claim",
        )
    )
