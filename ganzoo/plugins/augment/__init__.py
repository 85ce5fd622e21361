"""Built-in augmentations of what D sees: DiffAugment (Zhao et al. 2020) and ADA, adaptive
discriminator augmentation (Karras et al. 2020). Descriptors only: no torch here."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import AugmentInfo, Option

_PACKAGE = "ganzoo.plugins.augment"


@hookimpl
def register_augmentations(register):
    register(
        AugmentInfo(
            name="diffaugment",
            description="DiffAugment: colour, translation and cutout on every image D sees",
            factory=f"{_PACKAGE}.diffaugment:DiffAugment",
            options=(
                Option(
                    "policy",
                    "str",
                    "color+translation+cutout",
                    "transforms applied in order, joined by '+': color, translation, cutout",
                ),
                Option(
                    "translation",
                    "float",
                    0.125,
                    "largest shift, as a fraction of the side (zero padding)",
                    minimum=0.0,
                    maximum=0.5,
                ),
                Option(
                    "cutout",
                    "float",
                    0.5,
                    "side of the erased square, as a fraction",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),  # fmt: skip
            formula=(
                "D(T(x)) and D(T(G(z))) in both updates, T differentiable and random: "
                "color (brightness + U[-0.5,0.5], saturation x U[0,2], contrast x U[0.5,1.5]), "
                "translation (integer, up to 1/8 of the side), cutout (a square of half the side)"
            ),
            reference="Zhao et al. 2020, Differentiable Augmentation for Data-Efficient GAN "
            "Training, arXiv:2006.10738",
        )
    )
    register(
        AugmentInfo(
            name="ada",
            description="Adaptive discriminator augmentation: probability p steered by D's "
            "overfitting on reals",
            factory=f"{_PACKAGE}.ada:ADA",
            options=(
                Option(
                    "target",
                    "float",
                    0.6,
                    "r_t = E[sign(D(real))] that p steers towards",
                    minimum=0.0,
                    maximum=1.0,
                ),
                Option(
                    "interval",
                    "int",
                    4,
                    "D updates between adjustments of p",
                    minimum=1,
                    maximum=1_000_000,
                ),
                Option(
                    "speed",
                    "int",
                    20_000,
                    "real images for p to move from 0 to 1",
                    minimum=1,
                    maximum=1_000_000_000,
                ),
                Option("p", "float", 0.0, "p at the start", minimum=0.0, maximum=1.0),
                Option("adaptive", "bool", True, "adjust p (false: p stays as given)"),
                Option(
                    "ops",
                    "str",
                    "blit+geom+color",
                    "transforms joined by '+': groups blit, geom, color or single ones "
                    "(xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness, "
                    "contrast, lumaflip, hue, saturation)",
                ),
            ),  # fmt: skip
            formula=(
                "each transform applied to each image with probability p; every `interval` "
                "D updates p += sign(r_t - target) * (images seen) / speed, clamped to [0, 1], "
                "r_t = E[sign(D(x))]"
            ),
            reference="Karras et al. 2020, Training Generative Adversarial Networks with "
            "Limited Data, arXiv:2006.06676",
        )
    )
