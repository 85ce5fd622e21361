"""Built-in fully connected GAN (Goodfellow et al. 2014) for images and 2D points."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.presets import PresetInfo


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


# Chosen by measurement on ring8 (docs/benchmarks.md, "2D mixtures"): latent 2, Adam 5e-4 and
# an average of G's weights. Without the average the same run gives 89.8 % high-quality
# samples; with it 92.8 %, on every one of 10 seeds.
_POINTS = {
    "loss": "non-saturating",
    "steps": 4000,
    "batch_size": 64,
    "d_steps": 1,
    "lr_g": 5e-4,
    "lr_d": 5e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "ema": 0.999,
    "model_options": {"latent_dim": 2},
}


# grid25's 25 modes need more: 10,000 steps of batch 256 with the learning rates falling to 0
# over the second half (10 seeds: 23.8 of 25 modes, 93.3 % high quality; seeds 0-4 with
# batch 64 and no decay: 22.8 and 88.5 %; PacGAN packing of 2 dropped high quality to 6.3 %).
_GRID = {**_POINTS, "steps": 10_000, "batch_size": 256, "lr_decay": 0.5}


@hookimpl
def register_presets(register):
    register(
        PresetInfo(
            name="mlp-2d",
            description="2D point mixtures: small latent, fast Adam, EMA of G",
            models=("mlp",),
            datasets=("points",),
            settings=_POINTS,
            evidence=(
                "ring8, seeds 0-9: 8.0 of 8 modes, 92.8 % high-quality samples "
                "(benchmarks/quality_2d.py, docs/benchmarks.md)"
            ),
        )
    )
    register(
        PresetInfo(
            name="mlp-grid25",
            description="grid25: larger batches, longer, learning rates decayed to 0",
            models=("mlp",),
            datasets=("grid25",),
            settings=_GRID,
            evidence=(
                "grid25, seeds 0-9: 23.8 of 25 modes, 93.3 % high-quality samples "
                "(benchmarks/quality_2d.py, docs/benchmarks.md)"
            ),
        )
    )
