"""Starting and resuming training runs: resolve names, validate, build, then train.

Everything that can be checked cheaply (names, options, model geometry) is checked before
the data set is decoded, so a typo fails in a second rather than after a long decode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganzoo import __version__
from ganzoo.console import note
from ganzoo.core.build import build_loss, build_model, data_shape_for, dataset_entry, load_dataset
from ganzoo.core.checkpoint import Checkpoint
from ganzoo.core.config import TrainConfig
from ganzoo.core.data import DataRequest, parse_spec
from ganzoo.core.device import resolve_device
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.run_folder import RunFolder
from ganzoo.core.trainer import Trainer, TrainResult
from ganzoo.zoo.catalog import get_catalog


def _prepare(config: TrainConfig, folder: RunFolder | None, out: str | None) -> Trainer:
    catalog = get_catalog()
    model_entry = catalog.model(config.model)
    loss, loss_config, loss_entry = build_loss(config.loss, config.loss_options, catalog)
    ds_entry, argument = dataset_entry(config.dataset, catalog)
    data_shape = data_shape_for(
        model_entry, ds_entry.info.data_kind, config.resolution, config.channels
    )
    if len(data_shape) == 3:
        config.resolution = data_shape[1]
    device = resolve_device(config.device)

    torch.manual_seed(config.seed)  # the same seed gives the same initial weights
    gan, _ = build_model(config.model, data_shape, config.model_options, catalog)

    request = DataRequest(
        argument=argument,
        resolution=config.resolution or 0,
        channels=config.channels,
        seed=config.seed,
        size=config.dataset_size,
        report=note,
    )
    store = load_dataset(config.dataset, request, catalog)
    if store.shape != tuple(data_shape):
        raise DataError(
            f"dataset {config.dataset!r} gave samples of shape {store.shape}, "
            f"the model needs {tuple(data_shape)}"
        )
    if len(store) < config.batch_size:
        raise DataError(
            f"dataset {config.dataset!r} has {len(store)} samples, fewer than --batch-size "
            f"{config.batch_size}; lower --batch-size"
        )
    if folder is None:
        name = f"{config.model}-{parse_spec(config.dataset)[0]}"
        folder = RunFolder.create(out, name)
    trainer = Trainer(
        config, gan, model_entry, loss, loss_entry, loss_config, store, folder, device
    )
    folder.write_config(
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
            "device": str(device),
            "total_steps": trainer.total,
        }
    )
    return trainer


def _absolute_path_spec(spec: str) -> str:
    """``folder:./art`` -> ``folder:/abs/art`` when the argument is an existing path, so the
    run can be resumed from any directory."""
    name, argument = parse_spec(spec)
    if argument and Path(argument).expanduser().exists():
        return f"{name}:{Path(argument).expanduser().resolve()}"
    return spec


def start_run(model: str, options: dict[str, Any]) -> TrainResult:
    values = dict(options)
    out = values.pop("out", None)
    if values.get("dataset"):
        values["dataset"] = _absolute_path_spec(values["dataset"])
    config = TrainConfig.from_dict({**values, "model": model})
    trainer = _prepare(config, None, out)
    return trainer.run()


def resume_run(run_dir: str, overrides: dict[str, Any]) -> TrainResult:
    folder = RunFolder.open(run_dir)
    saved = folder.read_config().get("train")
    if not isinstance(saved, dict):
        raise ConfigError(f"{folder.config_path} has no training settings")
    latest = folder.latest_checkpoint()
    if latest is None:
        raise ConfigError(f"{run_dir} has no checkpoint to resume from")
    checkpoint = Checkpoint(latest)
    values = {**saved, **overrides}
    if "steps" in overrides:
        values["epochs"] = None
    if "epochs" in overrides:
        values["steps"] = None
    config = TrainConfig.from_dict(values)
    trainer = _prepare(config, folder, None)
    trainer.restore(checkpoint)
    if trainer.step >= trainer.total:
        raise ConfigError(
            f"{run_dir} already reached step {trainer.step} of {trainer.total}; "
            "pass a larger --steps to train further"
        )
    folder.truncate_metrics(trainer.step)
    note(f"resuming {run_dir} from step {trainer.step} ({latest.name})")
    return trainer.run()
