"""Starting and resuming training runs: resolve names, validate, build, then train.

Everything that can be checked cheaply (names, options, model geometry) is checked before
the data set is decoded, so a typo fails in a second rather than after a long decode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganzoo import __version__, console
from ganzoo.console import note
from ganzoo.core import distributed
from ganzoo.core.build import (
    build_loss,
    build_model,
    build_step,
    check_batch_size,
    check_fields,
    data_shape_for,
    dataset_entry,
    load_dataset,
)
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.data.fields import default_dataset
from ganzoo.core.data.store import DataRequest, parse_spec
from ganzoo.core.device import resolve_device
from ganzoo.core.errors import CheckpointError, ConfigError, DataError, GanzooError
from ganzoo.core.training.augment import build_augment, resolve_augment
from ganzoo.core.training.config import TrainConfig
from ganzoo.core.training.finetune import freeze_first_layers, init_source, load_init_weights
from ganzoo.core.training.presets import apply_preset
from ganzoo.core.training.run import RunPlan
from ganzoo.core.training.run_folder import RunFolder, check_writable
from ganzoo.core.training.trainer import Trainer, TrainResult
from ganzoo.zoo.catalog import get_catalog


def _prepare(config: TrainConfig, folder: RunFolder | None, out: str | None) -> Trainer:
    catalog = get_catalog()
    model_entry = catalog.model(config.model)
    loss, loss_config, loss_entry = build_loss(config.loss, config.loss_options, catalog)
    ds_entry, argument = dataset_entry(config.dataset, catalog)
    check_fields(model_entry, ds_entry)
    data_shape = data_shape_for(
        model_entry, ds_entry.info.data_kind, config.resolution, config.channels
    )
    if len(data_shape) == 3:
        config.resolution = data_shape[1]
    ranks, device = _place(config)

    # Checked on the meta device before the data is decoded; built for real after it.
    options = dict(config.model_options)
    planned, _ = build_model(config.model, data_shape, options, catalog, meta_only=True)
    check_batch_size(planned, config.batch_size)
    # Defaults filled in again: a checkpoint's setting is compared with this one on resume.
    config.augment = resolve_augment(config.augment, catalog, strict=True)
    augment, augment_entry = build_augment(config.augment, catalog)
    _check_augment(config, model_entry, build_step(model_entry, planned), data_shape)

    request = DataRequest(
        argument=argument,
        resolution=config.resolution or 0,
        channels=config.channels,
        seed=config.seed,
        size=config.dataset_size,
        max_pixels=config.max_image_pixels,
        needs=frozenset(model_entry.info.needs),
        direction=config.direction,
        report=note,
    )
    # Rank 0 decodes first (a folder's cache), the others then read what it wrote.
    if not ranks.main:
        distributed.barrier(ranks)
    store = load_dataset(config.dataset, request, catalog)
    if ranks.main:
        distributed.barrier(ranks)
    if store.shape != tuple(data_shape):
        raise DataError(
            f"dataset {config.dataset!r} gave samples of shape {store.shape}, "
            f"the model needs {tuple(data_shape)}"
        )
    options = _class_count(model_entry, store, options)
    torch.manual_seed(config.seed)  # the same seed gives the same initial weights
    model, _ = build_model(config.model, data_shape, options, catalog, sized=False)
    if config.init_from is not None and folder is None:
        # A resumed run takes every weight from its own checkpoint instead.
        load_init_weights(model, init_source(config.init_from, config.model, model.config))
        note(f"starting from the weights of {config.init_from}, with fresh optimisers")
    for group in model_entry.info.optimizers:
        if group.role == "discriminator":
            for name in group.networks:
                freeze_first_layers(model.network(name), config.freeze_d)
    if config.sync_bn and ranks.active:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    step = build_step(model_entry, model)
    if folder is None:
        name = f"{config.model}-{parse_spec(config.dataset)[0]}"
        root = RunFolder.create(out, name, report=note).root if ranks.main else None
        folder = RunFolder(distributed.share_text(str(root), ranks, device))
    plan = RunPlan(
        config, model, model_entry, step, loss, loss_entry, loss_config, store, folder, device,
        augment=augment, augment_entry=augment_entry, ranks=ranks,
    )  # fmt: skip
    return Trainer(plan)


def _train(trainer: Trainer) -> TrainResult:
    try:
        return trainer.run()
    finally:
        distributed.leave()


def _place(config: TrainConfig) -> tuple[distributed.Ranks, torch.device]:
    """This process's rank (under torchrun) and training device; joins the process group."""
    ranks = distributed.requested()
    device = resolve_device(config.device)
    if not ranks.active:
        if config.sync_bn:
            raise ConfigError("--sync-bn is for distributed runs (torchrun); this is one process")
        return ranks, device
    if config.batch_size % ranks.world:
        raise ConfigError(
            f"--batch-size {config.batch_size} is the global batch and must split evenly over "
            f"the {ranks.world} processes"
        )
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", ranks.local_rank)
        if device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {ranks.local_rank} has no GPU: start at most "
                f"{torch.cuda.device_count()} processes per node"
            )
        torch.cuda.set_device(device)
    elif config.sync_bn:
        raise ConfigError("--sync-bn needs CUDA (SyncBatchNorm); on CPUs run without it")
    distributed.join(ranks, device)
    if not ranks.main:
        console.silence()
    return ranks, device


def _check_augment(config: TrainConfig, entry: Any, step: Any, data_shape: tuple) -> None:
    """``--augment`` needs images and a training step that applies it."""
    if config.augment is None:
        return
    name = config.augment["name"]
    if len(data_shape) != 3:
        raise ConfigError(
            f"--augment {name} transforms images; dataset {config.dataset!r} gives 2D points"
        )
    if not step.supports_augment:
        raise ConfigError(
            f"model {entry.name!r} trains with its own step, which does not apply --augment "
            "(families trained by the classic alternating step do, e.g. dcgan)"
        )


def _class_count(entry: Any, store: Any, options: dict[str, Any]) -> dict[str, Any]:
    """A family trained on labels gets its ``num_classes`` option from the data."""
    if "label" not in entry.info.needs:
        return options
    count = len(store.classes or ())
    given = options.get("num_classes")
    if given is not None and int(given) != count:
        raise ConfigError(f"-o num_classes={given} does not match the {count} classes of the data")
    return {**options, "num_classes": count}


def _write_config(trainer: Trainer) -> None:
    if not trainer.plan.ranks.main:
        return
    config, gan, store = trainer.config, trainer.model, trainer.plan.store
    model_entry = trainer.plan.model_entry
    trainer.folder.write_config(
        {
            "ganzoo_version": __version__,
            "train": config.to_dict(),
            "model_config": gan.config,
            "model_plugin": {
                "name": model_entry.plugin.name,
                "distribution": model_entry.plugin.distribution,
                "version": model_entry.plugin.version,
            },
            "dataset_description": store.description,
            "device": str(trainer.device),
            "total_steps": trainer.total,
        }
    )


def _absolute_path_spec(spec: str) -> str:
    """``folder:./art`` -> ``folder:/abs/art`` when the argument is an existing path, so the
    run can be resumed from any directory."""
    name, argument = parse_spec(spec)
    if argument and Path(argument).expanduser().exists():
        return f"{name}:{Path(argument).expanduser().resolve()}"
    return spec


def _apply_loss_defaults(values: dict[str, Any]) -> None:
    """The family's default loss when none is named, then the loss's own training defaults
    (WGAN-GP: 5 critic steps, betas (0, 0.9)) for the settings the user left unset;
    config.json then records them, so resume keeps them."""
    if values.get("loss") is None and isinstance(values.get("model"), str):
        family = get_catalog().model(values["model"]).info
        values["loss"] = family.default_loss or TrainConfig.loss
    loss = values.get("loss") or TrainConfig.loss
    if not isinstance(loss, str):
        return  # TrainConfig.check says what is wrong
    applied = []
    for key, value in get_catalog().loss(loss).info.train_defaults.items():
        if values.get(key) is None:
            values[key] = value
            applied.append(f"--{key.replace('_', '-')} {value:g}")
    if applied:
        note(f"loss {loss!r} trains with {', '.join(applied)} unless told otherwise")


DEFAULT_EMA = 0.999


def _apply_ema_default(values: dict[str, Any]) -> None:
    """EMA on by default for image families that name networks to average (decay 0.999,
    warmed up); off for 2D points, where the raw generator is what the benchmarks measure.
    An explicit ``ema`` (0 is ``--no-ema``) always wins; config.json records the choice."""
    if values.get("ema_rampup") is None:
        values["ema_rampup"] = True
    if values.get("ema") is not None or not isinstance(values.get("dataset"), str):
        return
    catalog = get_catalog()
    family = catalog.model(values["model"]).info
    try:
        kind = catalog.dataset(parse_spec(values["dataset"])[0]).info.data_kind
    except GanzooError:
        return  # an unknown dataset: reported, with suggestions, when the data are resolved
    values["ema"] = DEFAULT_EMA if family.ema and kind == "image" else 0.0


def start_run(model: str, options: dict[str, Any]) -> TrainResult:
    values = dict(options)
    out = values.pop("out", None)
    if not values.get("dataset"):
        family = get_catalog().model(model).info
        values["dataset"] = family.default_dataset or default_dataset(family.needs)
    if values.get("dataset"):
        values["dataset"] = _absolute_path_spec(values["dataset"])
    values["model"] = model
    if values.get("init_from"):
        values["init_from"] = str(Path(values["init_from"]).expanduser().resolve())
    preset_note = apply_preset(values, get_catalog())
    _apply_loss_defaults(values)
    _apply_ema_default(values)
    # Resolved once here, so config.json records every option with its type and resume
    # reads them back strictly.
    values["augment"] = resolve_augment(values.get("augment"), get_catalog())
    config = TrainConfig.from_dict(values)
    if out is not None:
        check_writable(out)
    trainer = _prepare(config, None, out)
    _write_config(trainer)
    if preset_note:
        note(preset_note)
    return _train(trainer)


def _usable(path: Path) -> str | None:
    """None when the checkpoint at ``path`` opens and its data matches its checksum, else
    the reason it does not."""
    try:
        Checkpoint(path).verify()
    except CheckpointError as exc:
        return str(exc)
    return None


def _choose_checkpoint(folder: RunFolder, run_dir: str, from_step: int | None) -> Checkpoint | None:
    found = folder.checkpoints()
    if from_step is not None:
        chosen = [path for step, path in found if step == from_step]
        if not chosen:
            steps = ", ".join(str(step) for step, _ in found) or "none"
            raise ConfigError(f"{run_dir} has no checkpoint at step {from_step} (it has: {steps})")
        path = chosen[0]
    elif found:
        path = found[-1][1]
    else:
        return None
    problem = _usable(path)
    if problem is not None:
        older = [step for step, p in found if p != path and _usable(p) is None]
        if from_step is None and older:
            listed = ", ".join(str(s) for s in reversed(older))
            raise CheckpointError(
                f"{problem}; good older checkpoints: steps {listed}; continue from one with "
                f"ganzoo train --resume {run_dir} --from {older[-1]}"
            )
        raise CheckpointError(problem)
    return Checkpoint(path)


def resume_run(
    run_dir: str, overrides: dict[str, Any], from_step: int | None = None
) -> TrainResult:
    """Continue a run. Everything is checked (settings, checkpoint, data) before the folder is
    touched, so a refused resume leaves it exactly as it was."""
    folder = RunFolder.open(run_dir)
    saved = folder.read_config().get("train")
    if not isinstance(saved, dict):
        raise ConfigError(f"{folder.config_path} has no training settings")
    checkpoint = _choose_checkpoint(folder, run_dir, from_step)
    values = {**saved, **overrides}
    if "steps" in overrides:
        values["epochs"] = None
    if "epochs" in overrides:
        values["steps"] = None
    config = TrainConfig.from_dict(values)
    trainer = _prepare(config, folder, None)
    if checkpoint is not None:
        trainer.restore(checkpoint)
    if trainer.step >= trainer.total:
        raise ConfigError(
            f"{run_dir} already reached step {trainer.step} of {trainer.total}; "
            "pass a larger --steps to train further"
        )
    # Accepted: from here on the folder changes (by rank 0, once every rank has read it).
    ranks = trainer.plan.ranks
    distributed.barrier(ranks)
    if ranks.main:
        folder.ensure_layout()
        folder.remove_temporaries()
        for moved in folder.supersede_after(trainer.step):
            note(f"moved {moved.name}, newer than step {trainer.step}, to {moved.parent}")
        dropped = folder.truncate_metrics(trainer.step, trainer.last_logged)
        if dropped:
            note(f"dropped {dropped} unreadable line(s) of {folder.metrics_path} (a torn write)")
    _write_config(trainer)
    if checkpoint is None:
        note(f"{run_dir} has no checkpoint yet: starting it again from step 0")
    else:
        note(f"resuming {run_dir} from step {trainer.step} ({checkpoint.path.name})")
    return _train(trainer)
