"""Fine-tuning: start a run from a trained checkpoint's weights (``--init-from``), with
fresh optimisers, optionally freezing the discriminator's first layers (``--freeze-d N``,
as StyleGAN2-ADA's transfer learning freezes D's highest-resolution blocks).

The source checkpoint is untrusted input like any other: it is read through the same checks
as ``ganzoo sample`` (``inference.load.load_model``), and its family and architecture must
equal the new run's, or the run stops in one line before any data is decoded.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

from ganzoo.core.errors import ConfigError
from ganzoo.core.interfaces import Model

_WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def init_source(path: str, model: str, model_config: dict[str, Any]) -> dict[str, Any]:
    """The networks of the checkpoint at ``path`` (raw weights, not the average) as state
    dicts by name, after checking that it holds a ``model`` with ``model_config``."""
    from ganzoo.core.inference.load import load_model

    source, info, checkpoint = load_model(path, device="cpu", ema=False)
    theirs = checkpoint.raw.get("model")
    if theirs != model:
        raise ConfigError(f"--init-from {path} holds a {theirs} model, not {model}")
    their_config = json.loads(json.dumps(source.config))
    ours = json.loads(json.dumps(model_config))
    for key in sorted(set(ours) | set(their_config)):
        if ours.get(key) != their_config.get(key):
            raise ConfigError(
                f"--init-from {path}: the architectures differ ({key} is "
                f"{their_config.get(key)!r} there, {ours.get(key)!r} here)"
            )
    return {name: source.network(name).state_dict() for name in info.networks}


def load_init_weights(model: Model, weights: dict[str, Any]) -> None:
    with torch.no_grad():
        for name, state in weights.items():
            model.network(name).load_state_dict(state)


def freeze_first_layers(network: nn.Module, count: int) -> int:
    """Freeze the first ``count`` weight layers (convolutions, linear layers) of ``network``
    from the input side, with every layer between them (their normalisation): their
    gradients are replaced by zeros, so Adam, started fresh, never moves them (its moments
    stay 0). Steps may still switch ``requires_grad`` on and off. Returns the number of
    tensors frozen."""
    if count == 0:
        return 0
    leaves = [m for m in network.modules() if not list(m.children())]
    weight_layers = [i for i, m in enumerate(leaves) if isinstance(m, _WEIGHT_LAYERS)]
    if count >= len(weight_layers):
        raise ConfigError(
            f"--freeze-d {count}: the discriminator has {len(weight_layers)} weight layers; "
            "freeze fewer than that"
        )
    end = weight_layers[count]  # the first layer that stays trainable
    frozen = 0
    for module in leaves[:end]:
        for parameter in module.parameters(recurse=False):
            parameter.register_hook(torch.zeros_like)
            frozen += 1
    return frozen
