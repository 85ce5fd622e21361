"""The model a checkpoint describes, checked against the file before anything is allocated."""

from __future__ import annotations

from ganzoo.core.checkpoints.expect import expect_file
from ganzoo.core.checkpoints.reader import Checkpoint
from ganzoo.core.errors import CheckpointError, ConfigError, UnknownNameError
from ganzoo.core.interfaces import Model
from ganzoo.zoo.catalog import Catalog, get_catalog

EMA_PREFIX = "generator_ema"
MAX_CLASSES = 100_000
MAX_CLASS_NAME = 200


def ema_prefix(network: str) -> str:
    return f"{network}_ema"


def planned_model(ckpt: Checkpoint, catalog: Catalog | None = None) -> Model:
    """The described model built on the ``meta`` device (no memory), with every tensor of the
    file checked against it: networks, averaged networks, optimiser state, the training
    step's state, the augmentation's state. Raises ``CheckpointError`` with one sentence
    otherwise."""
    from ganzoo.core.build import build_model, build_step
    from ganzoo.core.training.optimizers import group_parameters

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
    info = catalog.model(name).info
    try:
        step = build_step(catalog.model(name), gan)
    except ConfigError as exc:
        raise CheckpointError(f"{ckpt.path}: cannot rebuild model {name!r}: {exc}") from None
    modules = {net: gan.network(net) for net in info.networks}
    averaged = {ema_prefix(net): gan.network(net) for net in info.ema}
    expect_file(
        ckpt,
        {**modules, **averaged},
        optional=frozenset(averaged),
        params=group_parameters(gan, info.optimizers),
        state=step.state_dict(),
        augment_state=planned_augment(ckpt, catalog)[1].state_dict(),
    )
    gan.classes = read_classes(ckpt, gan)
    return gan


def planned_augment(ckpt: Checkpoint, catalog: Catalog | None = None) -> tuple:
    """The augmentation the file was trained with (``--augment``, as config.json stores it,
    or None; files from before augmentations have none) and a fresh one built from that
    description, whose state is what the file's ``augment_state.*`` must look like."""
    from ganzoo.core.training.augment import build_augment, resolve_augment

    catalog = get_catalog() if catalog is None else catalog
    value = ckpt.json("augment") if "augment" in ckpt.raw else None
    if value is None:
        return None, build_augment(None, catalog)[0]
    try:
        name = value.get("name") if isinstance(value, dict) else None
        if isinstance(name, str) and name not in catalog.names("augment"):
            origin = ckpt.raw.get("augment_distribution", "an unknown plugin")[:100]
            raise CheckpointError(
                f"{ckpt.path} was trained with augmentation {name[:60]!r} from {origin}, "
                "which no installed plugin provides"
            )
        value = resolve_augment(value, catalog, strict=True)
        return value, build_augment(value, catalog)[0]
    except ConfigError as exc:
        raise CheckpointError(f"{ckpt.path}: invalid augmentation: {exc}") from None


def read_classes(ckpt: Checkpoint, model: Model) -> tuple[str, ...] | None:
    """The class names a conditional model was trained with, checked against its size."""
    if "classes" not in ckpt.raw:
        return None
    classes = ckpt.json("classes", list)
    if len(classes) > MAX_CLASSES or not all(
        isinstance(c, str) and 0 < len(c) <= MAX_CLASS_NAME for c in classes
    ):
        raise CheckpointError(f"{ckpt.path}: classes must be a list of short non-empty names")
    if len(set(classes)) != len(classes):
        raise CheckpointError(f"{ckpt.path}: class names must be distinct")
    generator = model._modules.get("generator")
    wanted = getattr(generator, "num_classes", 0)
    if wanted and len(classes) != wanted:
        raise CheckpointError(
            f"{ckpt.path} names {len(classes)} classes, its generator has {wanted}"
        )
    return tuple(classes)
