"""Augmenting what the discriminator sees (``--augment NAME:KEY=VALUE,...``).

An augmentation plugin (``register_augmentations``, ``AugmentInfo``) gives an ``Augment``:
a differentiable, random image transform that a training step applies to every image D
sees, real and generated, in D's update and in G's. Because both kinds of image pass
through the same transforms, D cannot tell them apart by the augmentation and G is not
pushed to produce augmented-looking images (DiffAugment, Zhao et al. 2020; ADA, Karras et
al. 2020). An augmentation may adapt (ADA's probability p): it is told D's outputs on the
real images after each D update and keeps what it carries in ``state_dict()``, which every
checkpoint saves as ``augment_state.*``.

This module imports no torch: the settings (``config.py``) read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganzoo.core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from ganzoo.zoo.catalog import Catalog, Entry


class Augment:
    """Interface of an augmentation.

    ``__call__(images, generator)`` transforms a batch (N, C, H, W) in model space, on the
    training device, differentiably (G's update backpropagates through it), drawing every
    random number from ``generator`` (the run's seeded source, saved with each checkpoint,
    so a resumed run draws exactly what an uninterrupted one would).

    Optional: ``update(real_logits)`` after each D update, with D's (detached) outputs on
    the real images it saw; ``state_dict()``/``load_state_dict()`` for what it carries
    between steps (tensors only; a bad value raises ValueError, before anything changes);
    ``to(device)`` moves that state to the training device; ``diagnostics()`` gives scalars
    logged with the step's metrics.
    """

    def __call__(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError  # abstract

    def update(self, real_logits: Tensor) -> None:
        return None

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if state:
            raise ValueError(f"this augmentation keeps no state; got {sorted(state)[0]!r}")

    def to(self, device: Any) -> Augment:
        return self

    def diagnostics(self) -> dict[str, Tensor]:
        return {}


class Identity(Augment):
    """No augmentation: what a step sees when the run has no ``--augment``. It draws no
    random numbers, so runs without augmentation are unchanged by its existence."""

    def __call__(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        return images


def parse_augment(spec: str) -> dict[str, Any]:
    """``"ada:target=0.7,speed=20000"`` -> ``{"name": "ada", "options": {"target": "0.7",
    "speed": "20000"}}`` (values as given; ``resolve_augment`` checks them)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("--augment must be NAME or NAME:KEY=VALUE,...")
    name, _, rest = spec.strip().partition(":")
    given: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--augment {spec!r}: expected KEY=VALUE, got {pair!r}")
        given[key.strip().replace("-", "_")] = value.strip()
    return {"name": name.strip(), "options": given}


def check_augment(value: Any) -> dict[str, Any] | None:
    """The shape of the setting as config.json stores it: None or ``{"name": str,
    "options": {str: value}}`` (a ``NAME:KEY=VALUE`` string is parsed first)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_augment(value)
    if not isinstance(value, dict) or set(value) - {"name", "options"}:
        raise ConfigError("augment must be a mapping with a name and options")
    name, options = value.get("name"), value.get("options", {})
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ConfigError("--augment must name an augmentation")
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ConfigError("augment options must be a mapping of option names to values")
    return {"name": name, "options": dict(options)}


def resolve_augment(value: Any, catalog: Catalog, strict: bool = False) -> dict[str, Any] | None:
    """The setting with its options resolved against the plugin's (defaults filled in,
    types converted and range-checked). ``strict``: read from a file, so every value must
    already have its JSON type."""
    from ganzoo.zoo.descriptors import resolve_options

    value = check_augment(value)
    if value is None:
        return None
    entry = catalog.augment(value["name"])
    owner = f"augmentation {entry.name!r}"
    options = resolve_options(entry.info.options, value["options"], owner, strict)
    return {"name": entry.name, "options": options}


def build_augment(value: Any, catalog: Catalog) -> tuple[Augment, Entry | None]:
    """The run's augmentation (``Identity`` without one) and its catalog entry; the
    options must already be resolved (config.json's, or ``resolve_augment``'s)."""
    from ganzoo.core.build import _call_plugin

    value = resolve_augment(value, catalog, strict=True)
    if value is None:
        return Identity(), None
    entry = catalog.augment(value["name"])
    augment = _call_plugin(entry, "augmentation", entry.info.factory, **value["options"])
    if not isinstance(augment, Augment):
        raise ConfigError(
            f"augmentation {entry.name!r} from plugin {entry.plugin.label} is not a ganzoo Augment"
        )
    return augment, entry


def describe_augment(value: dict[str, Any] | None) -> str:
    """``ada:speed=50000,target=0.6`` (what ``--augment`` would say), or ``none``."""
    if value is None:
        return "none"
    pairs = ",".join(f"{k}={v}" for k, v in sorted(value["options"].items()))
    return f"{value['name']}:{pairs}" if pairs else value["name"]
