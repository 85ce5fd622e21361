"""The interfaces every model and loss plugin implements.

Model: a family's named networks (``Model(generator=G, discriminator=D)``, or CycleGAN's
four); ``GAN`` is the classic pair. Generator: latent ``z`` (and, when ``num_classes`` > 0,
class labels) -> samples in model space (images in [-1, 1], NCHW; or raw 2D points).
Discriminator: samples -> raw logits of shape ``(N,)`` (or one per patch); sigmoid stays
out of D so losses can use numerically stable forms (softplus / BCE-with-logits).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.core.limits import MAX_TRUNCATION


class Generator(nn.Module, ABC):
    """Maps latent vectors of size ``latent_dim`` to samples of shape ``data_shape``.

    A class-conditional generator passes ``num_classes`` > 0 and takes ``forward(z, labels)``
    with int64 labels in ``[0, num_classes)``.
    """

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_classes = int(num_classes)

    @abstractmethod
    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        raise NotImplementedError  # abstract

    def _run(self, z: Tensor, labels: Tensor | None) -> Tensor:
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("this generator is class-conditional: give it labels")
            return self(z, labels)
        return self(z)

    def check_labels(self, labels: Tensor) -> Tensor:
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if self.num_classes == 0:
            raise ValueError("this generator takes no class labels")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError(f"class labels must lie in [0, {self.num_classes})")
        return labels

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

    def truncate(self, z: Tensor, psi: float) -> Tensor:
        """The truncation trick (Brock et al. 2019; Karras et al. 2019) in latent space: these
        generators have no mapping network, so StyleGAN's ``w_avg + psi * (w - w_avg)`` is taken
        with ``w = z``, whose mean under the standard normal prior is 0: ``psi * z``. ``psi``
        1 is off (``z`` itself, bit for bit), 0 gives every latent the mean image. Models with
        another prior override this with their own mean."""
        if not 0.0 <= psi <= MAX_TRUNCATION:
            raise ValueError(f"truncation psi must lie in [0, {MAX_TRUNCATION:g}]; got {psi}")
        return z if psi == 1.0 else z * psi

    def seed_latents(self, seeds: Sequence[int], block: int = 256) -> Tensor:
        """One latent per seed, on the CPU: the first one ``sample(n, seed=s)`` uses (for
        ``block`` its batch size), so the image of seed ``s`` is ``sample(1, seed=s)`` and every
        command that names seeds shows the same picture for the same seed."""
        rows = [
            self.sample_latent(block, generator=torch.Generator().manual_seed(int(s)), device="cpu")
            for s in seeds
        ]
        return torch.cat([row[:1] for row in rows]) if rows else torch.empty(0, self.latent_dim)

    @torch.no_grad()
    def generate(
        self, z: Tensor, labels: Tensor | None = None, *, on_device: bool = False
    ) -> Tensor:
        """Samples for the latents ``z`` (and labels) in eval mode (batch norm uses its
        running statistics, which stay untouched), returned as float32 on the CPU; with
        ``on_device``, left on the generator's device, so a caller can turn them into uint8
        there and move a quarter of the bytes to the host."""
        was_training = self.training
        self.eval()
        try:
            if labels is not None:
                labels = labels.to(self.device)
            out = self._run(z.to(self.device), labels).float()
            return out if on_device else out.cpu()
        finally:
            self.train(was_training)

    def iter_samples(
        self,
        n: int,
        seed: int | None = None,
        batch_size: int = 256,
        label: int | None = None,
        truncation: float = 1.0,
        on_device: bool = False,
    ) -> Iterator[Tensor]:
        """``n`` samples in batches of at most ``batch_size``, so any ``n`` fits in memory.

        Latents are drawn on the CPU, a full batch at a time whatever ``n`` is, so a seed
        gives the same samples on every device and a smaller ``n`` is a prefix of a larger.
        A conditional generator makes class ``label``, or classes drawn uniformly (after the
        latents, from the same seed) when ``label`` is None. ``truncation`` is ``truncate``'s psi.
        Batches are float32 on the CPU, or with ``on_device`` on the generator's device.
        """
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        if label is not None:
            self.check_labels(torch.tensor([label]))
        for start in range(0, n, batch_size):
            z = self.sample_latent(batch_size, generator=gen, device="cpu")
            z = self.truncate(z, truncation)
            labels = None
            if self.num_classes > 0:
                if label is None:
                    labels = torch.randint(self.num_classes, (batch_size,), generator=gen)
                else:
                    labels = torch.full((batch_size,), int(label), dtype=torch.int64)
            keep = min(batch_size, n - start)
            yield self.generate(
                z[:keep], None if labels is None else labels[:keep], on_device=on_device
            )

    def sample(
        self,
        n: int,
        seed: int | None = None,
        batch_size: int = 256,
        label: int | None = None,
        truncation: float = 1.0,
    ) -> Tensor:
        """``n`` samples in model space, on the CPU, reproducible for a given ``seed``."""
        return self._gather(self.iter_samples(n, seed, batch_size, label, truncation), n)

    def interpolate(
        self,
        seeds: Sequence[int],
        frames: int,
        truncation: float = 1.0,
        label: int | None = None,
        batch_size: int = 64,
    ) -> Tensor:
        """A looping latent walk through the seeds' latents (``seed_latents``), by spherical
        interpolation, back from the last seed to the first: ``frames`` samples in model space
        on the CPU, frame 0 being seed ``seeds[0]``'s sample."""
        from ganzoo.core.inference.interpolation import walk

        return self._gather(walk(self, seeds, frames, truncation, label, batch_size), frames)

    def _gather(self, batches: Iterator[Tensor], n: int) -> Tensor:
        """The batches in one CPU tensor, filled as they come: the whole set is held once,
        never beside a list of its pieces."""
        out = None
        done = 0
        for batch in batches:
            if out is None:
                out = torch.empty(n, *batch.shape[1:], dtype=batch.dtype)
            out[done : done + len(batch)] = batch
            done += len(batch)
        return out if out is not None else torch.empty(0, *self.data_shape)


class Discriminator(nn.Module, ABC):
    """Maps samples of shape ``data_shape`` to one raw logit each (or one per patch).

    A class-conditional discriminator passes ``num_classes`` > 0 and takes
    ``forward(x, labels)``.
    """

    # Samples judged together per logit (PacGAN); training refuses a batch size that is
    # not a multiple of it.
    pack: int = 1

    def __init__(self, data_shape: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_classes = int(num_classes)

    @abstractmethod
    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
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


class Model(nn.Module):
    """A family's networks, each under its name: ``Model(generator=G, discriminator=D)``.

    ``name`` and ``config`` (the options that rebuild it) are filled in by ganzoo; the
    family's descriptor (``ModelInfo``) says how the networks are optimised and used.
    """

    def __init__(self, **networks: nn.Module) -> None:
        super().__init__()
        if not networks:
            raise TypeError("a Model needs at least one network")
        for name, network in networks.items():
            if not isinstance(network, nn.Module):
                raise TypeError(f"network {name!r} is not a torch.nn.Module")
            setattr(self, name, network)
        self.name: str = ""
        self.config: dict[str, Any] = {}

    def network(self, name: str) -> nn.Module:
        module = self._modules.get(name)
        if module is None:
            raise KeyError(f"the model has no network {name!r}")
        return module


class GAN(Model):
    """A generator and a discriminator built together: the classic family."""

    def __init__(self, generator: Generator, discriminator: Discriminator) -> None:
        if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
            raise TypeError("GAN needs a ganzoo Generator and a ganzoo Discriminator")
        super().__init__(generator=generator, discriminator=discriminator)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.generator._run(z, labels)
