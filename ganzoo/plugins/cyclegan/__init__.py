"""Built-in CycleGAN (Zhu, Park, Isola & Efros 2017): unpaired translation between two image
domains A and B with two generators, two PatchGAN discriminators, a cycle-consistency loss and
a history pool of generated images.

Only the descriptor lives here (no torch import): ``networks`` builds the four networks,
``step`` trains them.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.families import OptimizerGroup

_BETAS = (0.5, 0.999)  # the paper's Adam settings (section 4 / appendix 7.1)


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="cyclegan",
            description=(
                "Unpaired image-to-image translation A <-> B: ResNet generators, 70x70 "
                "PatchGAN discriminators, cycle-consistency and identity losses"
            ),
            factory="ganzoo.plugins.cyclegan.networks:build",
            data_kinds=("image",),
            # The paper trains at 256x256; 64 keeps a first run short.
            default_resolution=64,
            options=(
                Option(
                    "width",
                    "int",
                    64,
                    "channels of G's first layer and D's first layer (ngf = ndf)",
                    minimum=1,
                    maximum=1_024,
                ),
                Option(
                    "n_blocks",
                    "int",
                    0,
                    "residual blocks in each generator; 0: the paper's 6 up to 128 px, 9 above",
                    minimum=0,
                    maximum=64,
                ),
                Option(
                    "sn",
                    "bool",
                    False,
                    "spectral normalisation of every PatchGAN layer; drops their instance norm",
                ),
            ),
            step_options=(
                Option(
                    "cycle_weight",
                    "float",
                    10.0,
                    "λ: weight of the cycle-consistency L1 loss, each direction",
                    minimum=0.0,
                    maximum=1e6,
                ),
                Option(
                    "identity_weight",
                    "float",
                    0.5,
                    "identity L1 loss weight, relative to cycle_weight (0: off)",
                    minimum=0.0,
                    maximum=1e6,
                ),
                Option(
                    "pool_size",
                    "int",
                    50,
                    "generated images kept per direction for D (0: no pool)",
                    minimum=0,
                    maximum=10_000,
                ),
            ),
            reference="Zhu et al. 2017, arXiv:1703.10593",
            train_step="ganzoo.plugins.cyclegan.step:CycleGANStep",
            networks=("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"),
            optimizers=(
                OptimizerGroup(
                    "generators", ("generator_ab", "generator_ba"), "generator", 2e-4, _BETAS
                ),
                OptimizerGroup(
                    "discriminators",
                    ("discriminator_a", "discriminator_b"),
                    "discriminator",
                    2e-4,
                    _BETAS,
                ),
            ),
            ema=("generator_ab", "generator_ba"),
            use="translate",
            needs=("a", "b"),
            default_loss="least-squares",
            translators={"AtoB": "generator_ab", "BtoA": "generator_ba"},
        )
    )
