"""Discriminator options the built-in families share.

Spectral normalisation (Miyato et al. 2018, arXiv:1802.05957): each weight W is used as
W / sigma(W), sigma estimated by one power iteration per training forward (torch's
parametrization; its vectors u, v are buffers, so checkpoints carry them).

PacGAN packing (Lin et al. 2018, arXiv:1712.04086): D judges ``pack`` samples at once,
concatenated along the feature (channel) axis, and gives one logit per group.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

# Transposed convolutions are generator layers; torch's spectral_norm would take their
# dim 1 as the output axis, but no built-in discriminator has one.
_NORMALISED = (nn.Linear, nn.Conv2d, nn.Embedding)


def spectral_normalise(network: nn.Module) -> nn.Module:
    """``network`` with every linear, convolution and embedding weight spectrally
    normalised. Call it after the weights are initialised: an initialiser writing to a
    parametrized ``weight`` writes to a computed copy and changes nothing."""
    for module in [m for m in network.modules() if isinstance(m, _NORMALISED)]:
        spectral_norm(module)
    return network


def pack_samples(x: Tensor, pack: int) -> Tensor:
    """(N, F, ...) -> (N / pack, pack * F, ...): consecutive samples side by side along the
    feature or channel axis (the batch order is already random)."""
    n = x.shape[0]
    if n % pack:
        raise ValueError(f"a batch of {n} samples cannot be packed in groups of {pack}")
    return x.reshape(n // pack, pack * x.shape[1], *x.shape[2:])
