"""Turn names from the catalog into objects: models, losses and data stores."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ganzoo.core.data.fields import describe_fields
from ganzoo.core.data.store import DataRequest, DataStore, parse_spec
from ganzoo.core.errors import ConfigError, DataError, GanzooError
from ganzoo.core.interfaces import GAN, Loss, Model
from ganzoo.core.limits import (
    MAX_ACTIVATIONS_PER_SAMPLE,
    MAX_DATA_AXIS,
    MAX_PARAMETERS,
    MAX_RESOLUTION,
    MAX_SAMPLE_ELEMENTS,
    check_int,
)
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
    check_int(size, "--resolution", 1, MAX_RESOLUTION)
    return (channels, size, size)


def check_data_shape(value: Any) -> tuple[int, ...]:
    """A sample shape from a file: ``[dim]`` for points or ``[channels, height, width]``."""
    if not isinstance(value, list | tuple) or len(value) not in (1, 3):
        raise ConfigError(
            f"data_shape must be a list of 1 or 3 positive whole numbers; got {str(value)[:80]}"
        )
    shape = tuple(check_int(v, "each data_shape entry", 1, MAX_DATA_AXIS) for v in value)
    if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
        raise ConfigError(
            f"data_shape {list(shape)} has more than {MAX_SAMPLE_ELEMENTS:,} values per sample"
        )
    return shape


def _call_plugin(entry: Entry, what: str, factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Run plugin code: its own ganzoo errors pass; anything else names the plugin."""
    try:
        return resolve_factory(factory)(*args, **kwargs)
    except GanzooError:
        raise
    except (Exception, SystemExit) as exc:  # plugin code: never a traceback for the user
        reason = " ".join(str(exc).split())[:200] or "no message"
        raise ConfigError(
            f"{what} {entry.name!r} from plugin {entry.plugin.label} failed: "
            f"{type(exc).__name__}: {reason}"
        ) from None


def _activations(gan: Model) -> int | None:
    """Values one sample's forward passes through G and D produce, measured on ``meta``
    tensors; None when the model is not the classic pair or its code cannot run on
    ``meta`` (its parameter count check stands)."""
    if not isinstance(gan, GAN):
        return None
    total = 0

    def count(module: nn.Module, inputs: Any, output: Any) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel()

    leaves = [m for m in gan.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    # A packed D (PacGAN) needs whole groups: measure one group, count per sample.
    n = gan.discriminator.pack
    try:
        with torch.no_grad():
            G = gan.generator
            extra = ()
            if G.num_classes > 0:
                extra = (torch.zeros(n, dtype=torch.int64, device="meta"),)
            fake = G(G.sample_latent(n, device="meta"), *extra)
            gan.discriminator(fake, *extra)
    except Exception:
        return None
    finally:
        for handle in handles:
            handle.remove()
    return total // n


def _check_size(gan: Model, name: str) -> None:
    parameters = sum(p.numel() for p in gan.parameters())
    if parameters > MAX_PARAMETERS:
        raise ConfigError(
            f"model {name!r} with these options has {parameters:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} ganzoo builds; choose smaller options"
        )
    activations = _activations(gan)
    if activations is not None and activations > MAX_ACTIVATIONS_PER_SAMPLE:
        raise ConfigError(
            f"model {name!r} with these options computes {activations:,} values per sample, "
            f"more than the {MAX_ACTIVATIONS_PER_SAMPLE:,} ganzoo allows; choose smaller options"
        )


def _check_model(model: Any, entry: Entry) -> None:
    """The factory built a ``ganzoo.Model`` holding every network its descriptor names."""
    where = f"model {entry.name!r} from plugin {entry.plugin.label}"
    if not isinstance(model, Model):
        raise ConfigError(f"{where} did not build a ganzoo Model")
    for name in entry.info.networks:
        if not isinstance(model._modules.get(name), nn.Module):
            raise ConfigError(f"{where} built no network {name!r}, which it declares")


def check_batch_size(model: Model, batch_size: int) -> None:
    """Every discriminator that judges samples in groups (PacGAN's ``pack``) gets whole
    groups: refused before training, not at the first step."""
    for name, network in model.named_children():
        pack = getattr(network, "pack", 1)
        if batch_size % pack:
            raise ConfigError(
                f"--batch-size {batch_size} is not a multiple of -o pack={pack} (the "
                f"{name} judges {pack} samples together); choose a multiple of {pack}"
            )


def split_options(entry: Entry, config: dict[str, Any]) -> tuple[dict, dict]:
    """A model's resolved options -> (the networks' options, the training step's options)."""
    step_names = {option.name for option in entry.info.step_options}
    network = {k: v for k, v in config.items() if k not in step_names and k != "data_shape"}
    step = {k: v for k, v in config.items() if k in step_names}
    return network, step


def build_step(entry: Entry, model: Model) -> Any:
    """The family's training step with its options, its state sized for ``model`` (which
    may live on the ``meta`` device)."""
    from ganzoo.core.training.steps import AlternatingStep, TrainStep

    _, options = split_options(entry, model.config)
    factory = entry.info.train_step or AlternatingStep
    step = _call_plugin(entry, "training step of", factory, **options)
    if not isinstance(step, TrainStep):
        raise ConfigError(
            f"the training step of model {entry.name!r} from plugin {entry.plugin.label} "
            "is not a ganzoo TrainStep"
        )
    _call_plugin(entry, "training step of", step.init_state, model)
    return step


def build_model(
    name: str,
    data_shape: tuple[int, ...],
    options: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    *,
    strict: bool = False,
    meta_only: bool = False,
    sized: bool = False,
) -> tuple[Model, Entry]:
    """Build model ``name`` for ``data_shape``. It is built first on the ``meta`` device,
    where sizes cost nothing, and refused if too large; ``meta_only`` stops there, and
    ``sized`` (the caller already had it built with ``meta_only``) skips that step.

    ``strict``: the options were read from a file and must already have their JSON types.
    """
    entry = _catalog(catalog).model(name)
    owner = f"model {name!r}"
    resolved = resolve_options(entry.info.all_options, options or {}, owner, strict)
    data_shape = check_data_shape(data_shape)
    config = {"data_shape": list(data_shape), **resolved}
    network_options, _ = split_options(entry, config)
    if not sized:
        # The meta build must not consume the random stream that initialises the weights.
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            planned = _call_plugin(
                entry, "model", entry.info.factory, data_shape, **network_options
            )
        _check_model(planned, entry)
        _check_size(planned, name)
        if meta_only:
            planned.name, planned.config = name, config
            return planned, entry
    model = _call_plugin(entry, "model", entry.info.factory, data_shape, **network_options)
    _check_model(model, entry)
    model.name, model.config = name, config
    return model, entry


def build_loss(
    name: str, options: dict[str, Any] | None = None, catalog: Catalog | None = None
) -> tuple[Loss, dict[str, Any], Entry]:
    entry = _catalog(catalog).loss(name)
    resolved = resolve_options(entry.info.options, options or {}, f"loss {name!r}")
    loss = _call_plugin(entry, "loss", entry.info.factory, **resolved)
    if not isinstance(loss, Loss):
        raise ConfigError(f"loss {name!r} from plugin {entry.plugin.label} is not a ganzoo Loss")
    return loss, resolved, entry


def dataset_entry(spec: str, catalog: Catalog | None = None) -> tuple[Entry, str | None]:
    name, argument = parse_spec(spec)
    entry = _catalog(catalog).dataset(name)
    if entry.info.argument_required and not argument:
        raise DataError(f"dataset {name!r} needs an argument: {name}:{entry.info.argument}")
    if entry.info.argument is None and argument is not None:
        raise DataError(
            f"dataset {name!r} takes no argument; got {spec!r} "
            "(its size is --dataset-size, its seed --seed)"
        )
    return entry, argument


def check_fields(model: Entry, dataset: Entry) -> None:
    """The dataset source can give every field the model trains on (checked before any
    data is decoded)."""
    missing = set(model.info.needs) - set(dataset.info.provides)
    if missing:
        raise DataError(
            f"model {model.name!r} needs {describe_fields(model.info.needs)}; dataset "
            f"{dataset.name!r} provides {describe_fields(dataset.info.provides)}"
            + _suggest(model.info.needs)
        )


def _suggest(needs: tuple[str, ...]) -> str:
    if "source" in needs:
        return " (try paired:PATH or edges2shapes)"
    if "a" in needs:
        return " (try unpaired:PATH or shapestyles)"
    if "label" in needs:
        return " (try folder:PATH with class subfolders, shapes or ring8)"
    return ""


def load_dataset(spec: str, request: DataRequest, catalog: Catalog | None = None) -> DataStore:
    entry, _ = dataset_entry(spec, catalog)
    store = _call_plugin(entry, "dataset source", entry.info.factory, request)
    if not isinstance(store, DataStore) or store.kind != entry.info.data_kind:
        raise DataError(f"dataset source {entry.name!r} returned no {entry.info.data_kind} data")
    missing = set(request.needs) - store.provides
    if missing:
        raise DataError(
            f"dataset {spec!r} gave no {describe_fields(missing)}, which the model needs"
        )
    return store
