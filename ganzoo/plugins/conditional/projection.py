"""The projection term of a class-conditional discriminator (Miyato & Koyama 2018, eq. 3):
logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>."""

from __future__ import annotations

from torch import Tensor, nn


class Projection(nn.Module):
    def __init__(self, num_classes: int, features: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        return (self.embed(labels) * features).sum(dim=1)
