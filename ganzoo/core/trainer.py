"""The one shared trainer: device placement, mixed precision, optimisers, the step loop,
checkpoints, sample grids and the metrics log. What differs between GAN families lives in
the model's ``TrainStep`` and the loss, never here."""

from __future__ import annotations

import contextlib
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo import __version__
from ganzoo.console import note
from ganzoo.core import rng
from ganzoo.core.batches import EpochSampler
from ganzoo.core.checkpoints import (
    Checkpoint,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
    save_checkpoint,
)
from ganzoo.core.checkpoints.model import EMA_PREFIX, planned_model
from ganzoo.core.config import TrainConfig
from ganzoo.core.curves import save_loss_curves
from ganzoo.core.data import DataStore
from ganzoo.core.ema import EMA
from ganzoo.core.errors import CheckpointError, TrainingError
from ganzoo.core.images import save_grid, save_scatter
from ganzoo.core.interfaces import GAN, Loss
from ganzoo.core.progress import TrainingProgress
from ganzoo.core.run_folder import RunFolder
from ganzoo.core.steps import AlternatingStep, StepContext, TrainStep
from ganzoo.zoo.catalog import Entry
from ganzoo.zoo.descriptors import resolve_factory

# Data sets up to this size live on the GPU, so a batch is an index, not a host copy.
MAX_DEVICE_DATA_BYTES = 4 << 30
SCATTER_REFERENCE = 2000


@dataclass
class TrainResult:
    run_dir: Path
    samples: Path
    checkpoint: Path
    step: int
    interrupted: bool = False


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        gan: GAN,
        model_entry: Entry,
        loss: Loss,
        loss_entry: Entry,
        loss_config: dict[str, Any],
        store: DataStore,
        folder: RunFolder,
        device: torch.device,
    ) -> None:
        self.config = config
        self.gan = gan.to(device)
        self.G, self.D = self.gan.generator, self.gan.discriminator
        self.model_entry, self.loss_entry = model_entry, loss_entry
        self.loss, self.loss_config = loss, loss_config
        self.store, self.folder, self.device = store, folder, device
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.noise = torch.Generator(device).manual_seed(config.seed + 1)
        self.sampler = EpochSampler(len(store), config.batch_size, config.seed)
        on_device = store.tensor.numel() * store.tensor.element_size() <= MAX_DEVICE_DATA_BYTES
        self.data = store.tensor.to(device) if on_device else store.tensor
        fixed = torch.Generator().manual_seed(config.seed + 2)
        self.fixed_z = self.G.sample_latent(config.sample_count, generator=fixed, device="cpu")
        self.total = config.total_steps(len(store))
        config.fill_intervals(self.total)
        step_factory = model_entry.info.train_step
        self.train_step: TrainStep = (
            resolve_factory(step_factory)() if step_factory else AlternatingStep()
        )
        self.ema = EMA(self.G, config.ema) if config.ema > 0 else None
        self.step = 0
        self.draws = 0
        # Running sums of the step metrics since the last logged line, and that line: both
        # go into checkpoints, so a resumed run logs exactly what an uninterrupted one would.
        self.sums: dict[str, Tensor] = {}
        self.count = 0
        self.last_logged: dict[str, Any] | None = None
        self._stop_requested = False

    # --- state -------------------------------------------------------------------------

    def _next_real(self) -> Tensor:
        index = self.sampler.indices(self.draws)
        self.draws += 1
        batch = self.data[index.to(self.data.device)]
        return self.store.to_model_space(batch.to(self.device, non_blocking=True))

    def _latent(self, n: int) -> Tensor:
        return self.G.sample_latent(n, generator=self.noise)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def metadata(self, groups_g: list, groups_d: list) -> dict[str, Any]:
        model_plugin, loss_plugin = self.model_entry.plugin, self.loss_entry.plugin
        return {
            "ganzoo_version": __version__,
            "model": self.gan.name,
            "model_config": self.gan.config,
            "model_plugin": model_plugin.name,
            "model_distribution": model_plugin.distribution,
            "model_plugin_version": model_plugin.version,
            "loss": self.config.loss,
            "loss_config": self.loss_config,
            "loss_plugin": loss_plugin.name,
            "loss_distribution": loss_plugin.distribution,
            "loss_plugin_version": loss_plugin.version,
            "step": str(self.step),
            "data_draws": str(self.draws),
            "dataset": self.config.dataset,
            "data_kind": self.store.kind,
            "device_type": self.device.type,
            "data_shape": list(self.store.shape),
            "dataset_description": self.store.description,
            "train_config": self.config.to_dict(),
            "optim.generator.param_groups": groups_g,
            "optim.discriminator.param_groups": groups_d,
            "metrics_count": str(self.count),
            "metrics_record": self.last_logged if self._logged_now() else None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _logged_now(self) -> bool:
        return self.last_logged is not None and self.last_logged.get("step") == self.step

    def save_checkpoint(self) -> Path:
        optim_g, groups_g = optimizer_tensors("optim.generator", self.opt_g)
        optim_d, groups_d = optimizer_tensors("optim.discriminator", self.opt_d)
        tensors = {
            **module_tensors("generator", self.G),
            **module_tensors("discriminator", self.D),
            **optim_g,
            **optim_d,
            **rng.capture(self.noise),
            **{f"metrics.sum.{k}": v.detach().float().reshape(()) for k, v in self.sums.items()},
        }
        if self.ema is not None:
            tensors.update(module_tensors("generator_ema", self.ema.module))
        path = self.folder.checkpoint_path(self.step)
        save_checkpoint(path, tensors, self.metadata(groups_g, groups_d))
        self.folder.prune_checkpoints(self.config.keep)
        return path

    def restore(self, checkpoint: Checkpoint) -> None:
        """Load the whole training state, after checking every tensor and field of the file
        against this trainer's model; nothing is changed when the file is refused."""
        described = planned_model(checkpoint)  # the file's own description, checked first
        if described.name != self.gan.name or described.config != self.gan.config:
            raise CheckpointError(
                f"{checkpoint.path} holds model {described.name!r} {described.config}, the run "
                f"trains {self.gan.name!r} {self.gan.config}"
            )
        # planned_model checked every tensor against the same model; what it leaves open
        # is whether the averaged generator must be there, which this run's --ema decides.
        has_ema = any(key.startswith(EMA_PREFIX + ".") for key in checkpoint.keys)
        if has_ema != (self.ema is not None):
            state = "holds" if has_ema else "lacks"
            raise CheckpointError(
                f"{checkpoint.path} {state} the averaged generator, but the run's --ema is "
                f"{self.config.ema:g}"
            )
        modules = {"generator": self.G, "discriminator": self.D}
        if self.ema is not None:
            modules[EMA_PREFIX] = self.ema.module
        step = checkpoint.step
        draws = checkpoint.count("data_draws")
        count = checkpoint.count("metrics_count") if "metrics_count" in checkpoint.raw else 0
        record = checkpoint.json("metrics_record") if "metrics_record" in checkpoint.raw else None
        if record is not None and not (isinstance(record, dict) and record.get("step") == step):
            raise CheckpointError(
                f"{checkpoint.path}: metrics_record is not a record of step {step}"
            )
        saved_device = checkpoint.raw.get("device_type", self.device.type)
        same_device = saved_device == self.device.type
        states = checkpoint.tensors("rng", strip=False)
        for prefix, module in modules.items():
            module.load_state_dict(checkpoint.tensors(prefix))
        load_optimizer(checkpoint, "optim.generator", self.opt_g)
        load_optimizer(checkpoint, "optim.discriminator", self.opt_d)
        if not same_device:
            note(
                f"the checkpoint was written on {saved_device}, this run is on "
                f"{self.device.type}: the latent noise sequence restarts from the seed"
            )
        try:
            rng.restore(states, self.noise, same_device)
        except RuntimeError:
            raise CheckpointError(f"{checkpoint.path} holds an invalid RNG state") from None
        self.sums = {
            key.removeprefix("metrics.sum."): value.to(self.device)
            for key, value in checkpoint.tensors("metrics.sum", strip=False).items()
        }
        self.count = count
        self.last_logged = record
        self.step = step
        self.draws = draws

    def save_samples(self) -> Path:
        """The fixed-latent sample picture for this step (and the redrawn loss curves)."""
        save_loss_curves(self.folder.read_metrics(), self.folder.curves_path)
        generator = self.ema.module if self.ema is not None else self.G
        samples = generator.generate(self.fixed_z)
        path = self.folder.sample_path(self.step)
        if self.store.kind == "points":
            return save_scatter(samples, path, reference=self.store.tensor[:SCATTER_REFERENCE])
        return save_grid(samples, path)

    # --- loop --------------------------------------------------------------------------

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._stop_requested:
            raise KeyboardInterrupt
        # Finish the current step so the checkpoint is a consistent state, then stop.
        self._stop_requested = True

    def run(self) -> TrainResult:
        cfg = self.config
        ctx = StepContext(
            generator=self.G,
            discriminator=self.D,
            loss=self.loss,
            opt_g=self.opt_g,
            opt_d=self.opt_d,
            d_steps=cfg.d_steps,
            batch_size=cfg.batch_size,
            next_real=self._next_real,
            latent=self._latent,
            autocast=self._autocast,
            noise=self.noise,
        )
        self.G.train()
        self.D.train()
        last_ckpt: Path | None = None
        last_samples: Path | None = None
        previous = None
        try:
            previous = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C handling stays Python's default
            previous = None
        title = f"{self.gan.name} on {cfg.dataset.partition(':')[0]}"
        try:
            with TrainingProgress(self.total, self.step, cfg.log_every, title) as progress:
                while self.step < self.total and not self._stop_requested:
                    metrics = self.train_step(ctx)
                    if self.ema is not None:
                        self.ema.update(self.G)
                    self.step += 1
                    for key, value in metrics.items():
                        sums = self.sums
                        sums[key] = sums[key] + value.detach() if key in sums else value.clone()
                    self.count += 1
                    logged = None
                    if self.step % cfg.log_every == 0 or self.step == self.total:
                        logged = {k: float(v) / self.count for k, v in self.sums.items()}
                        self.sums, self.count = {}, 0
                        self._check_finite(logged, last_ckpt)
                        progress.update(self.step, logged)
                        self.last_logged = {
                            "step": self.step,
                            "epoch": round(self.sampler.epoch_of(self.draws), 4),
                            "it_per_s": round(progress.rate, 3),
                            **logged,
                        }
                        self.folder.append_metrics(self.last_logged)
                    else:
                        progress.update(self.step, None)
                    if self.step % cfg.sample_every == 0:
                        last_samples = self.save_samples()
                    if self.step % cfg.ckpt_every == 0:
                        last_ckpt = self.save_checkpoint()
                if self._stop_requested:
                    progress.message(f"interrupted: saving a checkpoint at step {self.step}")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if last_ckpt is None or last_ckpt != self.folder.checkpoint_path(self.step):
            last_ckpt = self.save_checkpoint()
        if last_samples is None or last_samples != self.folder.sample_path(self.step):
            last_samples = self.save_samples()
        return TrainResult(
            self.folder.root, last_samples, last_ckpt, self.step, self._stop_requested
        )

    def _check_finite(self, logged: dict[str, float], last_ckpt: Path | None) -> None:
        bad = [k for k, v in logged.items() if not math.isfinite(v)]
        if bad:
            kept = f"; the last good checkpoint is {last_ckpt}" if last_ckpt else ""
            raise TrainingError(
                f"{', '.join(bad)} became non-finite at step {self.step} "
                f"(try a lower learning rate){kept}"
            )
