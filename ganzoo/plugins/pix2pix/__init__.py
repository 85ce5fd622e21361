"""Built-in pix2pix family (Isola et al. 2017): paired image-to-image translation.

A U-Net generator translates the source image; a PatchGAN discriminator judges
(source, image) pairs patch by patch; the generator also minimises the L1 distance to the
target. Only the descriptor lives here (no torch import), so ``ganzoo list`` stays cheap.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.families import OptimizerGroup

_PACKAGE = "ganzoo.plugins.pix2pix"


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="pix2pix",
            description="Paired translation: U-Net generator, PatchGAN on (input, output), +L1",
            factory=f"{_PACKAGE}.networks:build",
            data_kinds=("image",),
            # The paper trains at 256; 64 keeps a CPU run to minutes (any power of two
            # from 32 to 1024 works: --resolution 256 for the paper's setting).
            default_resolution=64,
            options=(
                Option(
                    "width",
                    "int",
                    64,
                    "channels of G's first and D's first layer (doubling per layer)",
                    minimum=1,
                    maximum=1_024,
                ),
                Option(
                    "max_width",
                    "int",
                    512,
                    "cap on the channels of any layer",
                    minimum=1,
                    maximum=4_096,
                ),
                Option(
                    "dropout",
                    "float",
                    0.5,
                    "dropout in G's first three decoder blocks (training only)",
                    minimum=0.0,
                    maximum=0.9,
                ),
                Option(
                    "d_layers",
                    "int",
                    3,
                    "PatchGAN stride-2 layers (3: 70x70 patches); at most log2(resolution)-2",
                    minimum=1,
                    maximum=8,
                ),
                Option(
                    "sn",
                    "bool",
                    False,
                    "spectral normalisation of every PatchGAN layer; drops its batch norm",
                ),
            ),
            step_options=(
                Option(
                    "l1_weight",
                    "float",
                    100.0,
                    "weight of the L1 term in G's loss (the paper's lambda)",
                    minimum=0.0,
                    maximum=1e6,
                ),
            ),
            reference="Isola et al. 2017, arXiv:1611.07004",
            train_step=f"{_PACKAGE}.step:Pix2PixStep",
            networks=("generator", "discriminator"),
            optimizers=(
                OptimizerGroup("generator", ("generator",), "generator", 2e-4, (0.5, 0.999)),
                OptimizerGroup(
                    "discriminator", ("discriminator",), "discriminator", 2e-4, (0.5, 0.999)
                ),
            ),
            ema=("generator",),
            use="translate",
            needs=("source", "target"),
            default_loss="non-saturating",
            translators={"": "generator"},
        )
    )
