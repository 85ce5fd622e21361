"""Built-in pix2pix family (Isola et al. 2017): paired image-to-image translation.

A U-Net generator translates the source image; a PatchGAN discriminator judges
(source, image) pairs patch by patch; the generator also minimises the L1 distance to the
target. Only the descriptor lives here (no torch import), so ``ganzoo list`` stays cheap.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.families import OptimizerGroup
from ganzoo.zoo.presets import FAST_ADAM, PresetInfo

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


# The quick start (scripts/setup.sh): sketches to paintings on the embedded edges2shapes pairs
# in about two CPU minutes. 64 px so a shape is big enough to name; a narrow U-Net whose
# channels stop at 128 (the paper's 512 would spend the budget on the bottleneck); small
# batches for more updates; and the fast Adam of dcgan-quickstart, falling to 0 over the
# second half. Unconditional DCGAN on the shapes set is still at blobs after the same time
# (docs/benchmarks.md, quick start): given the layout as a sketch, pix2pix paints
# recognisable compositions in it.
_QUICKSTART = {
    "loss": "non-saturating",  # so that naming another loss brings that loss's own settings
    "resolution": 64,
    "steps": 1500,
    "batch_size": 16,
    **FAST_ADAM,
    "model_options": {"width": 16, "max_width": 128},
}


@hookimpl
def register_presets(register):
    register(
        PresetInfo(
            name="pix2pix-quickstart",
            description="the quick start: sketches to paintings in two CPU minutes, 64 px",
            models=("pix2pix",),
            datasets=("edges2shapes",),
            settings=_QUICKSTART,
            evidence=(
                "edges2shapes at 64 px, 1,500 steps, held-out pairs (benchmarks/pix2pix_edges.py), "
                "training seeds 0 and 2: L1 0.0677 and 0.0682, PSNR 18.08 and 17.96 dB, against "
                "0.0849 and 0.0920, 16.30 and 16.14 dB with the paper's Adam (lr 2e-4, betas "
                "0.5/0.999); 111 s on two CPU cores (docs/benchmarks.md, quick start)"
            ),
        )
    )
