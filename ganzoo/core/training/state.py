"""The trainer's whole state as a checkpoint, and back.

Stored by name: every network (``<network>.*``), every averaged network
(``<network>_ema.*``), every optimiser group (``optim.<group>.*`` tensors and its
``optim.<group>.param_groups`` metadata), the training step's state (``step_state.*``), the
augmentation's state (``augment_state.*``, with its setting in the ``augment`` metadata),
RNG states and the running metric sums. The classic pair's names (``generator``,
``discriminator``, ``generator_ema``) are those of ganzoo 0.1 checkpoints, which still load.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from torch import Tensor

from ganzoo import __version__
from ganzoo.console import note
from ganzoo.core.checkpoints import Checkpoint, load_optimizer, module_tensors, optimizer_tensors
from ganzoo.core.checkpoints.model import ema_prefix, planned_augment, planned_model
from ganzoo.core.errors import CheckpointError
from ganzoo.core.limits import MAX_STEPS
from ganzoo.core.training import rng
from ganzoo.core.training.augment import describe_augment
from ganzoo.core.training.optimizers import implementation_as_saved

if TYPE_CHECKING:
    from ganzoo.core.training.trainer import Trainer


def _classes(trainer: Trainer) -> list[str] | None:
    store = trainer.plan.store
    if store.classes is None or "label" not in trainer.info.needs:
        return None
    return list(store.classes)


def state_tensors(trainer: Trainer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    plan, config = trainer.plan, trainer.config
    tensors: dict[str, Tensor] = {}
    for name, network in trainer.networks.items():
        tensors.update(module_tensors(name, network))
    for name, ema in trainer.emas.items():
        tensors.update(module_tensors(ema_prefix(name), ema.module))
    groups = {}
    for name, optimizer in trainer.optimizers.items():
        state, groups[name] = optimizer_tensors(f"optim.{name}", optimizer)
        tensors.update(state)
    for key, value in trainer.train_step.state_dict().items():
        tensors[f"step_state.{key}"] = value
    for key, value in trainer.augment.state_dict().items():
        tensors[f"augment_state.{key}"] = value
    tensors.update(rng.capture(trainer.noise))
    tensors.update({f"metrics.sum.{k}": v.reshape(()) for k, v in trainer.sums.items()})
    model_plugin, loss_plugin = plan.model_entry.plugin, plan.loss_entry.plugin
    metadata: dict[str, Any] = {
        "ganzoo_version": __version__,
        "model": trainer.model.name,
        "model_config": trainer.model.config,
        "model_plugin": model_plugin.name,
        "model_distribution": model_plugin.distribution,
        "model_plugin_version": model_plugin.version,
        "use": trainer.info.use,
        "loss": config.loss,
        "loss_config": plan.loss_config,
        "loss_plugin": loss_plugin.name,
        "loss_distribution": loss_plugin.distribution,
        "loss_plugin_version": loss_plugin.version,
        "step": str(trainer.step),
        "data_draws": str(trainer.draws),
        "dataset": config.dataset,
        "data_kind": plan.store.kind,
        "device_type": trainer.device.type,
        "data_shape": list(plan.store.shape),
        "dataset_description": plan.store.description,
        "train_config": config.to_dict(),
        "augment": config.augment,
        **{f"optim.{name}.param_groups": value for name, value in groups.items()},
        "metrics_count": str(max(trainer.counts.values(), default=0)),
        "metrics_counts": trainer.counts,
        "metrics_record": trainer.last_logged if trainer.logged_now() else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    augment_entry = plan.augment_entry
    if augment_entry is not None:
        metadata["augment_plugin"] = augment_entry.plugin.name
        metadata["augment_distribution"] = augment_entry.plugin.distribution
        metadata["augment_plugin_version"] = augment_entry.plugin.version
    classes = _classes(trainer)
    if classes is not None:
        metadata["classes"] = classes
    return tensors, metadata


def _metric_counts(checkpoint: Checkpoint, sums: dict[str, Tensor]) -> dict[str, int]:
    count = checkpoint.count("metrics_count") if "metrics_count" in checkpoint.raw else 0
    if "metrics_counts" not in checkpoint.raw:  # ganzoo 0.1: one count for every metric
        return {key: count for key in sums}
    counts = checkpoint.json("metrics_counts", dict)
    if (
        set(counts) != set(sums)
        or not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_STEPS
            for n in counts.values()
        )
        or max(counts.values(), default=0) != count
    ):
        raise CheckpointError(f"{checkpoint.path}: metrics_counts does not match its sums")
    return counts


def restore_state(trainer: Trainer, checkpoint: Checkpoint) -> None:
    """Check the file against the run, then load everything; a refused file changes nothing
    the run keeps (the trainer is discarded)."""
    described = planned_model(checkpoint)  # the file's own description, checked first
    model = trainer.model
    if described.name != model.name or described.config != model.config:
        raise CheckpointError(
            f"{checkpoint.path} holds model {described.name!r} {described.config}, the run "
            f"trains {model.name!r} {model.config}"
        )
    # planned_model checked every tensor against the same model; what it leaves open is
    # whether the averaged networks must be there, which this run's --ema decides.
    for name in trainer.info.ema:
        has = any(key.startswith(ema_prefix(name) + ".") for key in checkpoint.keys)
        if has != (name in trainer.emas):
            state = "holds" if has else "lacks"
            raise CheckpointError(
                f"{checkpoint.path} {state} the averaged {name}, but the run's --ema is "
                f"{trainer.config.ema:g}"
            )
    augment, _ = planned_augment(checkpoint)
    if augment != trainer.config.augment:
        raise CheckpointError(
            f"{checkpoint.path} was trained with --augment {describe_augment(augment)}, the "
            f"run has --augment {describe_augment(trainer.config.augment)}"
        )
    classes = _classes(trainer)
    if classes is not None and described.classes is not None and list(described.classes) != classes:
        raise CheckpointError(
            f"{checkpoint.path} was trained on classes {list(described.classes)[:8]}, the data "
            f"has {classes[:8]}"
        )
    step = checkpoint.step
    draws = checkpoint.count("data_draws")
    record = checkpoint.json("metrics_record") if "metrics_record" in checkpoint.raw else None
    if record is not None and not (isinstance(record, dict) and record.get("step") == step):
        raise CheckpointError(f"{checkpoint.path}: metrics_record is not a record of step {step}")
    sums = {
        key.removeprefix("metrics.sum."): value.to(trainer.device)
        for key, value in checkpoint.tensors("metrics.sum", strip=False).items()
    }
    counts = _metric_counts(checkpoint, sums)
    saved_device = checkpoint.raw.get("device_type", trainer.device.type)
    same_device = saved_device == trainer.device.type
    states = checkpoint.tensors("rng", strip=False)
    try:
        trainer.train_step.load_state_dict(checkpoint.tensors("step_state"))
    except (ValueError, TypeError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{checkpoint.path}: invalid training step state: {reason}") from None
    try:
        trainer.augment.load_state_dict(checkpoint.tensors("augment_state"))
    except (ValueError, TypeError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{checkpoint.path}: invalid augmentation state: {reason}") from None
    for name, network in trainer.networks.items():
        network.load_state_dict(checkpoint.tensors(name))
    for name, ema in trainer.emas.items():
        ema.module.load_state_dict(checkpoint.tensors(ema_prefix(name)))
    for name, optimizer in trainer.optimizers.items():
        prefix = f"optim.{name}"
        saved = checkpoint.json(f"{prefix}.param_groups", list)
        # Fused or not, on a GPU or a CPU: the same state, whichever wrote it.
        with implementation_as_saved(optimizer, saved):
            load_optimizer(checkpoint, prefix, optimizer)
    if not same_device:
        note(
            f"the checkpoint was written on {saved_device}, this run is on "
            f"{trainer.device.type}: the latent noise sequence restarts from the seed"
        )
    try:
        rng.restore(states, trainer.noise, same_device)
    except RuntimeError:
        raise CheckpointError(f"{checkpoint.path} holds an invalid RNG state") from None
    trainer.sums, trainer.counts = sums, counts
    trainer.last_logged = record
    trainer.step = step
    trainer.batches.draws = draws
