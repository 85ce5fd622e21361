"""Built-in losses: minimax and non-saturating (Goodfellow 2014), hinge (Lim & Ye 2017;
Miyato et al. 2018), Wasserstein with gradient penalty (Gulrajani et al. 2017) and least
squares (Mao et al. 2017)."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import LossInfo, Option

_PAPER = "Goodfellow et al. 2014, Generative Adversarial Nets"
_BOUNDS = {"minimum": -1e6, "maximum": 1e6}


@hookimpl
def register_losses(register):
    register(
        LossInfo(
            name="minimax",
            description="Original saturating minimax GAN loss",
            factory="ganzoo.plugins.losses.adversarial:MinimaxLoss",
            formula=("D: min -E[log D(x)] - E[log(1 - D(G(z)))];  G: min E[log(1 - D(G(z)))]"),
            reference=_PAPER,
        )
    )
    register(
        LossInfo(
            name="non-saturating",
            description="Minimax D loss; G maximises log D(G(z)) (strong early gradients)",
            factory="ganzoo.plugins.losses.adversarial:NonSaturatingLoss",
            formula="D: min -E[log D(x)] - E[log(1 - D(G(z)))];  G: min -E[log D(G(z))]",
            reference=_PAPER,
        )
    )
    register(
        LossInfo(
            name="hinge",
            description="Hinge loss: D pushes real scores above 1 and fakes below -1",
            factory="ganzoo.plugins.losses.margin:HingeLoss",
            formula="D: min E[relu(1 - D(x))] + E[relu(1 + D(G(z)))];  G: min -E[D(G(z))]",
            reference="Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018, arXiv:1802.05957",
        )
    )
    register(
        LossInfo(
            name="wgan-gp",
            description="Wasserstein loss with a gradient penalty on interpolates",
            factory="ganzoo.plugins.losses.margin:WassersteinGPLoss",
            options=(
                Option(
                    "gp_weight",
                    "float",
                    10.0,
                    "λ of the gradient penalty",
                    minimum=0.0,
                    maximum=1e6,
                ),
            ),  # fmt: skip
            formula=(
                "D: min E[D(G(z))] - E[D(x)] + λ E[(||∇D(x̂)||₂ - 1)²], "
                "x̂ = εx + (1-ε)G(z), ε ~ U[0,1];  G: min -E[D(G(z))]"
            ),
            reference="Gulrajani et al. 2017, arXiv:1704.00028",
            # The paper's settings (Algorithm 1): five critic steps per G step, Adam with
            # α = 1e-4 and β = (0, 0.9).
            train_defaults={"d_steps": 5, "beta1": 0.0, "beta2": 0.9, "lr_g": 1e-4, "lr_d": 1e-4},
        )
    )
    register(
        LossInfo(
            name="least-squares",
            description="Least-squares GAN (LSGAN): D regresses raw outputs to b (real), a (fake)",
            factory="ganzoo.plugins.losses.least_squares:LeastSquaresLoss",
            options=(
                Option("a", "float", 0.0, "D's target for generated samples", **_BOUNDS),
                Option("b", "float", 1.0, "D's target for real samples", **_BOUNDS),
                Option("c", "float", 1.0, "what G wants D to output for its samples", **_BOUNDS),
            ),
            formula="D: min ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²];  G: min ½E[(D(G(z)) - c)²]",
            reference="Mao et al. 2017, arXiv:1611.04076",
        )
    )
