"""Built-in losses: the saturating minimax loss and the non-saturating loss (Goodfellow 2014)."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import LossInfo

_PAPER = "Goodfellow et al. 2014, Generative Adversarial Nets"


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
