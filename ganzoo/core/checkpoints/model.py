"""The model a checkpoint describes, checked against the file before anything is allocated."""

from __future__ import annotations

from ganzoo.core.checkpoints.expect import expect_file
from ganzoo.core.checkpoints.reader import Checkpoint
from ganzoo.core.errors import CheckpointError, ConfigError, UnknownNameError
from ganzoo.core.interfaces import GAN
from ganzoo.zoo.catalog import Catalog, get_catalog

NETWORKS = ("generator", "discriminator")
EMA_PREFIX = "generator_ema"


def planned_model(ckpt: Checkpoint, catalog: Catalog | None = None) -> GAN:
    """The described model built on the ``meta`` device (no memory), with every tensor of the
    file checked against it. Raises ``CheckpointError`` with one sentence otherwise."""
    from ganzoo.core.build import build_model

    catalog = get_catalog() if catalog is None else catalog
    ckpt.step  # noqa: B018 (a crafted step is refused on every path, not only on resume)
    name = ckpt.model
    try:
        catalog.model(name)
    except UnknownNameError:
        origin = ckpt.raw.get("model_distribution", "an unknown plugin")[:100]
        version = ckpt.raw.get("model_plugin_version", "")[:40]
        raise CheckpointError(
            f"{ckpt.path} needs model {name!r} from {origin} {version}".rstrip()
            + ", which no installed plugin provides"
        ) from None
    config = ckpt.json("model_config", dict)
    if "data_shape" not in config:
        raise CheckpointError(f"{ckpt.path}: model_config lacks the data shape")
    data_shape = config.pop("data_shape")
    try:
        gan, _ = build_model(name, data_shape, config, catalog, strict=True, meta_only=True)
    except ConfigError as exc:
        raise CheckpointError(f"{ckpt.path}: cannot rebuild model {name!r}: {exc}") from None
    kind = ckpt.data_kind
    if (kind == "points") != (len(gan.config["data_shape"]) == 1):
        raise CheckpointError(
            f"{ckpt.path}: data_kind {kind!r} does not fit data_shape {gan.config['data_shape']}"
        )
    expect_file(ckpt, model_modules(gan, ema=True), optional=frozenset({EMA_PREFIX}))
    return gan


def model_modules(gan: GAN, ema: bool):
    modules = {"generator": gan.generator, "discriminator": gan.discriminator}
    if ema:
        modules[EMA_PREFIX] = gan.generator
    return modules
