"""ganzoo: a plugin-based zoo of Generative Adversarial Networks.

Importing this package is cheap: torch is imported only when a model, a loss or a
checkpoint is actually used (``ganzoo --help`` and ``ganzoo list`` never import it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganzoo.zoo.markers import hookimpl, hookspec

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "hookimpl",
    "hookspec",
    "list_models",
    "list_losses",
    "list_datasets",
    "create",
    "create_loss",
    "load",
    "Generator",
    "Discriminator",
    "Loss",
    "Model",
    "TrainStep",
    "StepContext",
    "GAN",
]

if TYPE_CHECKING:  # pragma: no cover
    from ganzoo.api import create, create_loss, list_datasets, list_losses, list_models, load
    from ganzoo.core.interfaces import GAN, Discriminator, Generator, Loss

_LAZY = {
    "list_models": "ganzoo.api",
    "list_losses": "ganzoo.api",
    "list_datasets": "ganzoo.api",
    "create": "ganzoo.api",
    "create_loss": "ganzoo.api",
    "load": "ganzoo.api",
    "Generator": "ganzoo.core.interfaces",
    "Discriminator": "ganzoo.core.interfaces",
    "Loss": "ganzoo.core.interfaces",
    "GAN": "ganzoo.core.interfaces",
    "Model": "ganzoo.core.interfaces",
    "TrainStep": "ganzoo.core.training.steps",
    "StepContext": "ganzoo.core.training.steps",
}


def __getattr__(name: str) -> Any:
    # Lazy attributes keep `import ganzoo` (and so the CLI's start-up) free of torch.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
