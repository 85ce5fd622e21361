"""Hook specifications. Every hook takes a ``register`` callback built by the host.

The host owns the callback, so it validates what a plugin gives, rejects duplicate names
(naming both plugins) and records which plugin gave what. New keyword arguments can be
added to ``register`` later without breaking old plugins.
"""

from ganzoo.zoo.markers import hookspec


@hookspec
def register_models(register):
    """Register GAN models: ``register(ModelInfo(...))`` once per model."""


@hookspec
def register_losses(register):
    """Register adversarial losses: ``register(LossInfo(...))`` once per loss."""


@hookspec
def register_datasets(register):
    """Register dataset sources: ``register(DatasetInfo(...))`` once per source scheme."""


@hookspec
def register_metrics(register):
    """Register evaluation metrics: ``register(MetricInfo(...))`` once per metric."""


@hookspec
def register_augmentations(register):
    """Register augmentations of what D sees: ``register(AugmentInfo(...))`` once each."""


@hookspec
def register_presets(register):
    """Register training settings that work: ``register(PresetInfo(...))`` once each."""
