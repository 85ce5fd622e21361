"""The Python API: list what is installed, create models, load trained generators.

>>> import ganzoo
>>> ganzoo.list_models()
['dcgan', 'mlp']
>>> gan = ganzoo.create("dcgan", resolution=64, channels=3)
>>> G = ganzoo.load("runs/.../checkpoints/step-0002000.safetensors")
>>> images = G.sample(16, seed=0)          # (16, 3, 64, 64) in [-1, 1]
"""

from __future__ import annotations

from typing import Any

from ganzoo.zoo.catalog import get_catalog


def list_models(pattern: str | None = None) -> list[str]:
    return [e.name for e in get_catalog().entries("model", pattern)]


def list_losses(pattern: str | None = None) -> list[str]:
    return [e.name for e in get_catalog().entries("loss", pattern)]


def list_datasets(pattern: str | None = None) -> list[str]:
    return [e.name for e in get_catalog().entries("dataset", pattern)]


def create(
    name: str,
    *,
    resolution: int | None = None,
    channels: int = 3,
    points: bool = False,
    **options: Any,
):
    """Build a fresh ``ganzoo.Model`` (a ``ganzoo.GAN`` for the classic pair) by name.

    Image models are built for ``(channels, resolution, resolution)`` (the model's default
    resolution when omitted); ``points=True`` builds a model for 2D points instead.
    Other keyword arguments are the model's options (see ``ganzoo list --json``).
    """
    from ganzoo.core.build import build_model, data_shape_for

    catalog = get_catalog()
    entry = catalog.model(name)
    kind = "points" if points else "image"
    if not points and "image" not in entry.info.data_kinds:
        kind = entry.info.data_kinds[0]
    data_shape = data_shape_for(entry, kind, resolution, channels)
    gan, _ = build_model(name, data_shape, options, catalog)
    return gan


def create_loss(name: str, **options: Any):
    """Build a ``ganzoo.Loss`` by name."""
    from ganzoo.core.build import build_loss

    return build_loss(name, options)[0]


def load(path: str, device: str = "cpu", ema: bool = True):
    """Rebuild what a checkpoint describes, load its weights, and return it in eval mode,
    ready for what its family is for (the checkpoint needs no other information).

    Families that generate (from noise or from a class) give their generator: ``sample(n,
    seed=..., label=...)``; ``generator.classes`` names the classes of a conditional one.
    With ``ema`` (the default) the averaged weights are used when the run kept them
    (``--ema``); ``.weights`` says which ("ema" or "raw") and ``.checkpoint`` keeps the
    metadata.
    """
    from ganzoo.core.inference.load import load_checkpoint

    return load_checkpoint(path, device=device, ema=ema)
