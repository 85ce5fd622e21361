"""Built-in class-conditional families: a conditional DCGAN and a conditional MLP.

G is told the class (class-conditional batch norm in the DCGAN, an embedding in the MLP);
D is a projection discriminator (Miyato & Koyama 2018): its logit is an unconditional term
plus the inner product of a class embedding with D's features. ``num_classes`` is set from
the data's classes (``folder:`` class subfolders, the labelled ``shapes``, ``ring8``).
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option

_NUM_CLASSES = Option(
    "num_classes", "int", 10, "classes (set from the data's classes)", minimum=1, maximum=10_000
)
_REFERENCE = "Miyato & Koyama 2018, cGANs with Projection Discriminator, arXiv:1802.05637"
_SN = Option(
    "sn",
    "bool",
    False,
    "spectral normalisation of every D layer and D's class embedding; no batch norm in D",
)


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="cdcgan",
            description="Class-conditional DCGAN: conditional batch norm in G, projection D",
            factory="ganzoo.plugins.conditional.dcgan:build",
            data_kinds=("image",),
            default_resolution=64,
            use="class",
            needs=("x", "label"),
            options=(
                _NUM_CLASSES,
                Option("latent_dim", "int", 100, "size of z", minimum=1, maximum=65_536),
                Option(
                    "width",
                    "int",
                    64,
                    "channels of G's last and D's first layer",
                    minimum=1,
                    maximum=4_096,
                ),  # fmt: skip
                _SN,
            ),
            reference=f"{_REFERENCE}; Radford et al. 2015, arXiv:1511.06434",
        )
    )
    register(
        ModelInfo(
            name="cmlp",
            description="Class-conditional fully connected GAN, for 2D points or small images",
            factory="ganzoo.plugins.conditional.mlp:build",
            data_kinds=("points", "image"),
            default_resolution=32,
            use="class",
            needs=("x", "label"),
            options=(
                _NUM_CLASSES,
                Option(
                    "latent_dim",
                    "int",
                    0,
                    "size of z; 0: 2 for points, 64 for images",
                    minimum=0,
                    maximum=65_536,
                ),  # fmt: skip
                Option(
                    "hidden", "int", 256, "units in each hidden layer", minimum=1, maximum=65_536
                ),
                Option("depth", "int", 3, "hidden layers in G and in D", minimum=1, maximum=64),
                _SN,
            ),
            reference=_REFERENCE,
        )
    )
