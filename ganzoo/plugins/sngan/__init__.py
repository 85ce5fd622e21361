"""Built-in SNGAN families: the ResNet generator and spectrally normalised ResNet
discriminator of Miyato et al. 2018 (``sngan``), and its class-conditional twin with
conditional batch norm in G and a projection discriminator (``csngan``, Miyato & Koyama
2018). Trained with the hinge loss and Adam (2e-4, betas (0, 0.9)), the papers' settings
for these networks. See docs/models.md.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.families import OptimizerGroup

_SNGAN = "Miyato et al. 2018, Spectral Normalization for GANs, arXiv:1802.05957"
_PROJECTION = "Miyato & Koyama 2018, cGANs with Projection Discriminator, arXiv:1802.05637"
# The papers' Adam settings for the ResNet networks with the hinge loss. They also take five
# D steps per G step (n_dis = 5), which is `--d-steps 5`: a family has no d_steps default.
_OPTIMIZERS = (
    OptimizerGroup("generator", ("generator",), "generator", 2e-4, (0.0, 0.9)),
    OptimizerGroup("discriminator", ("discriminator",), "discriminator", 2e-4, (0.0, 0.9)),
)
_OPTIONS = (
    Option("latent_dim", "int", 128, "size of z", minimum=1, maximum=65_536),
    Option(
        "width",
        "int",
        64,
        "c: channels are multiples of it (32 px: G 4c, D 2c; from 64 px: G 16c..c, D c..16c)",
        minimum=1,
        maximum=1_024,
    ),
)
_NUM_CLASSES = Option(
    "num_classes", "int", 10, "classes (set from the data's classes)", minimum=1, maximum=10_000
)


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="sngan",
            description="SNGAN: ResNet G, spectrally normalised ResNet D, hinge loss",
            factory="ganzoo.plugins.sngan.networks:build",
            data_kinds=("image",),
            default_resolution=32,
            default_loss="hinge",
            optimizers=_OPTIMIZERS,
            options=(
                *_OPTIONS,
                Option(
                    "pack",
                    "int",
                    1,
                    "PacGAN: samples D judges together (batch size a multiple of it)",
                    minimum=1,
                    maximum=16,
                ),
            ),
            reference=_SNGAN,
        )
    )
    register(
        ModelInfo(
            name="csngan",
            description="Class-conditional SNGAN: conditional batch norm in G, projection D",
            factory="ganzoo.plugins.sngan.networks:build_conditional",
            data_kinds=("image",),
            default_resolution=32,
            use="class",
            needs=("x", "label"),
            default_loss="hinge",
            optimizers=_OPTIMIZERS,
            options=(_NUM_CLASSES, *_OPTIONS),
            reference=f"{_PROJECTION}; {_SNGAN}",
        )
    )
