"""The interfaces every model and loss plugin implements.

Generator: latent ``z`` -> samples in model space (images in [-1, 1], NCHW; or raw 2D points).
Discriminator: samples -> raw logits of shape ``(N,)``; sigmoid stays out of D so losses can
use numerically stable forms (softplus / BCE-with-logits).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn


class Generator(nn.Module, ABC):
    """Maps latent vectors of size ``latent_dim`` to samples of shape ``data_shape``."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.data_shape = tuple(int(s) for s in data_shape)

    @abstractmethod
    def forward(self, z: Tensor) -> Tensor:
        raise NotImplementedError  # abstract

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")

    def sample_latent(
        self, n: int, *, generator: torch.Generator | None = None, device: Any = None
    ) -> Tensor:
        """Standard normal latents; models with another prior override this."""
        device = self.device if device is None else device
        if generator is not None:
            device = generator.device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        """Samples for the latents ``z`` in eval mode (batch norm uses its running statistics,
        which stay untouched), returned as float32 on the CPU."""
        was_training = self.training
        self.eval()
        try:
            return self(z.to(self.device)).float().cpu()
        finally:
            self.train(was_training)

    def iter_samples(
        self, n: int, seed: int | None = None, batch_size: int = 256
    ) -> Iterator[Tensor]:
        """``n`` samples in batches of at most ``batch_size``, so any ``n`` fits in memory.

        Latents are drawn on the CPU, a full batch at a time whatever ``n`` is, so a seed
        gives the same samples on every device and a smaller ``n`` is a prefix of a larger.
        """
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        for start in range(0, n, batch_size):
            z = self.sample_latent(batch_size, generator=gen, device="cpu")
            yield self.generate(z[: min(batch_size, n - start)])

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256) -> Tensor:
        """``n`` samples in model space, on the CPU, reproducible for a given ``seed``."""
        chunks = list(self.iter_samples(n, seed, batch_size))
        return torch.cat(chunks) if chunks else torch.empty(0, *self.data_shape)


class Discriminator(nn.Module, ABC):
    """Maps samples of shape ``data_shape`` to one raw logit each."""

    def __init__(self, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError  # abstract


class Loss(ABC):
    """An adversarial objective on discriminator logits. Both methods return scalars to
    be *minimised* by the discriminator and the generator respectively.

    A loss may also carry a penalty on the discriminator that needs D itself and the real
    and generated batches (a gradient penalty), and says which numbers describe its training
    best (``diagnostics``): both have defaults, so a loss that needs neither stays two
    methods long.
    """

    @abstractmethod
    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError  # abstract

    @abstractmethod
    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError  # abstract

    def discriminator_penalty(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator
    ) -> Tensor | None:
        """A term added to the discriminator's loss, or None. ``generator`` is the run's
        seeded random source (for interpolation weights, say): resume stays exact."""
        return None

    def diagnostics(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        """Detached scalars logged each step. For losses that read D's output as a
        probability: the mean probability on real and on generated samples."""
        return {
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }


class GAN(nn.Module):
    """A generator and a discriminator built together, with the config that rebuilds them."""

    def __init__(self, generator: Generator, discriminator: Discriminator) -> None:
        super().__init__()
        if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
            raise TypeError("GAN needs a ganzoo Generator and a ganzoo Discriminator")
        self.generator = generator
        self.discriminator = discriminator
        self.name: str = ""
        self.config: dict[str, Any] = {}

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)
