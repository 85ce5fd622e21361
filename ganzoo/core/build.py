"""Turn names from the catalog into objects: models, losses and data stores."""

from __future__ import annotations

from typing import Any

from ganzoo.core.data import DataRequest, DataStore, parse_spec
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.interfaces import GAN, Loss
from ganzoo.zoo.catalog import Catalog, Entry, get_catalog
from ganzoo.zoo.descriptors import resolve_factory, resolve_options


def _catalog(catalog: Catalog | None) -> Catalog:
    return get_catalog() if catalog is None else catalog


def data_shape_for(entry: Entry, data_kind: str, resolution: int | None, channels: int) -> tuple:
    """The sample shape a model is built for, from the data kind and the image geometry."""
    if data_kind not in entry.info.data_kinds:
        kinds = " or ".join(entry.info.data_kinds)
        raise ConfigError(f"model {entry.name!r} trains on {kinds} data, not {data_kind}")
    if data_kind == "points":
        return (2,)
    if channels not in (1, 3):
        raise ConfigError(f"--channels must be 1 or 3; got {channels}")
    size = entry.info.default_resolution if resolution is None else resolution
    if size < 1:
        raise ConfigError(f"--resolution must be positive; got {size}")
    return (channels, size, size)


def build_model(
    name: str,
    data_shape: tuple[int, ...],
    options: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> tuple[GAN, Entry]:
    entry = _catalog(catalog).model(name)
    resolved = resolve_options(entry.info.options, options or {}, f"model {name!r}")
    gan = resolve_factory(entry.info.factory)(tuple(data_shape), **resolved)
    if not isinstance(gan, GAN):
        raise ConfigError(f"model {name!r} from plugin {entry.plugin.label} did not build a GAN")
    gan.name = name
    gan.config = {"data_shape": list(data_shape), **resolved}
    return gan, entry


def build_loss(
    name: str, options: dict[str, Any] | None = None, catalog: Catalog | None = None
) -> tuple[Loss, dict[str, Any], Entry]:
    entry = _catalog(catalog).loss(name)
    resolved = resolve_options(entry.info.options, options or {}, f"loss {name!r}")
    loss = resolve_factory(entry.info.factory)(**resolved)
    if not isinstance(loss, Loss):
        raise ConfigError(f"loss {name!r} from plugin {entry.plugin.label} is not a ganzoo Loss")
    return loss, resolved, entry


def dataset_entry(spec: str, catalog: Catalog | None = None) -> tuple[Entry, str | None]:
    name, argument = parse_spec(spec)
    entry = _catalog(catalog).dataset(name)
    if entry.info.argument_required and not argument:
        raise DataError(f"dataset {name!r} needs an argument: {name}:{entry.info.argument}")
    return entry, argument


def load_dataset(spec: str, request: DataRequest, catalog: Catalog | None = None) -> DataStore:
    entry, _ = dataset_entry(spec, catalog)
    store = resolve_factory(entry.info.factory)(request)
    if not isinstance(store, DataStore) or store.kind != entry.info.data_kind:
        raise DataError(f"dataset source {entry.name!r} returned no {entry.info.data_kind} data")
    return store
