"""Built-in inpainting family: fills holes in images (``use="restore"``).

A gated-convolution encoder-decoder with dilated convolutions in the middle (Iizuka et al.
2017; Yu et al. 2019) against an SN-PatchGAN (Yu et al. 2019), trained on any image set
with random rectangles and free-form brush strokes punched out on the device. The
generator is called ``generator(image, mask)`` (mask 1 = missing, pixels under it never
read) and returns a whole image; a restorer keeps the known pixels:
``out * mask + image * (1 - mask)``. See docs/models.md.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import ModelInfo, Option
from ganzoo.zoo.families import OptimizerGroup

REFERENCE = (
    "Iizuka, Simo-Serra & Ishikawa 2017, Globally and Locally Consistent Image Completion, "
    "SIGGRAPH; Yu et al. 2019, Free-Form Image Inpainting with Gated Convolution, "
    "arXiv:1806.03589"
)


@hookimpl
def register_models(register):
    register(
        ModelInfo(
            name="inpainting",
            description=(
                "Image completion: gated-conv encoder-decoder with dilated middle vs "
                "SN-PatchGAN, trained on random rectangles and brush strokes"
            ),
            factory="ganzoo.plugins.inpainting.networks:build",
            train_step="ganzoo.plugins.inpainting.step:InpaintingStep",
            data_kinds=("image",),
            default_resolution=64,
            use="restore",
            needs=("x",),
            networks=("generator", "discriminator"),
            # SN-PatchGAN is trained with the hinge loss (Yu et al. 2019, eq. 2), the loss
            # spectral norm was designed with (Miyato et al. 2018).
            default_loss="hinge",
            # DeepFill v2's Adam settings: lr 1e-4, betas (0.5, 0.999), for both networks.
            optimizers=(
                OptimizerGroup("generator", ("generator",), "generator", 1e-4, (0.5, 0.999)),
                OptimizerGroup(
                    "discriminator", ("discriminator",), "discriminator", 1e-4, (0.5, 0.999)
                ),
            ),
            ema=("generator",),
            options=(
                Option(
                    "width",
                    "int",
                    32,
                    "channels of G's first layer (its middle has 4x) and of D's first layer",
                    minimum=2,
                    maximum=1_024,
                ),
                Option(
                    "gated",
                    "bool",
                    True,
                    "gated convolutions in G (Yu et al. 2019); false: plain conv + ELU",
                ),
            ),
            step_options=(
                Option(
                    "l1_weight",
                    "float",
                    10.0,
                    "weight of the L1 reconstruction against the adversarial loss",
                    minimum=0.0,
                    maximum=1e6,
                ),
                Option(
                    "hole_weight",
                    "float",
                    6.0,
                    "L1 weight inside the hole relative to the known pixels (Liu et al. 2018)",
                    minimum=0.0,
                    maximum=1e6,
                ),
                Option(
                    "hole_min",
                    "float",
                    0.1,
                    "smallest fraction of an image a training hole covers",
                    minimum=0.01,
                    maximum=0.95,
                ),
                Option(
                    "hole_max",
                    "float",
                    0.4,
                    "largest fraction of an image a training hole covers",
                    minimum=0.01,
                    maximum=0.95,
                ),
                Option(
                    "rect_prob",
                    "float",
                    0.5,
                    "share of rectangular holes; the rest are free-form brush strokes",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            reference=REFERENCE,
        )
    )
