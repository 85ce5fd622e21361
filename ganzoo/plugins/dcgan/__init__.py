"""Built-in DCGAN model (Radford, Metz & Chintala 2015)."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.presets import FAST_ADAM, PresetInfo


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


# A few hundred pictures, trained long: D with spectral norm, hinge loss, DiffAugment on
# everything D sees, EMA of G (docs/benchmarks.md, "Small data"). Opt-in (--preset), not a
# default: for the first few thousand steps augmentation only slows learning, and plain
# DCGAN is ahead there.
_SMALL_DATA = {
    "loss": "hinge",
    "augment": "diffaugment:policy=color+translation+cutout",
    "ema": 0.999,
    "steps": 10_000,
    "batch_size": 32,
    "model_options": {"sn": True},
}


# The embedded shapes set, trained for two CPU minutes (the quick start until 2026-11-25,
# when pix2pix-quickstart took over): 32 px, a narrow network, small batches for more
# updates, the fast Adam (ten times DCGAN's learning rate with StyleGAN2's betas, falling to
# 0 over the second half), and a latent of 32 rather than 100. At 4,800 steps this beats the
# paper's settings by more than they gain from three times the steps (docs/benchmarks.md).
_QUICKSTART = {
    "loss": "non-saturating",  # so that naming another loss brings that loss's own settings
    "resolution": 32,
    "steps": 4800,
    "batch_size": 16,
    **FAST_ADAM,
    "model_options": {"width": 32, "latent_dim": 32},
}


@hookimpl
def register_presets(register):
    register(
        PresetInfo(
            name="dcgan-quickstart",
            description="the embedded shapes set in two CPU minutes: 32 px, fast Adam, decay",
            models=("dcgan",),
            datasets=("shapes",),
            settings=_QUICKSTART,
            evidence=(
                "shapes, 32 px, 4,800 steps, training seeds 0 and 1: FID 156.6 and 163.2, "
                "KID x1e3 74.2 and 83.7, against 231.2 and 251.0, 137.4 and 169.1 with DCGAN's "
                "lr 2e-4, betas 0.5/0.999, latent 100 (500 samples; docs/benchmarks.md, quick "
                "start)"
            ),
        )
    )
    register(
        PresetInfo(
            name="dcgan-small-data",
            description="a few hundred images, long runs: SN D, hinge, DiffAugment, EMA of G",
            models=("dcgan",),
            settings=_SMALL_DATA,
            evidence=(
                "300 procedural paintings at 32 px, 10,000 steps, batch 32, seeds 0-1: FID 76.2 "
                "and 87.5, KID x1e3 34.5 and 47.4, against plain DCGAN's 116.4 and 104.7, 94.2 "
                "and 79.7 (benchmarks/small_folder.py, docs/benchmarks.md)"
            ),
        )
    )
