"""The one shared trainer: device placement, mixed precision, optimisers, the step loop,
checkpoints, pictures and the metrics log. What differs between GAN families lives in the
family's descriptor, its ``TrainStep`` and the loss, never here."""

from __future__ import annotations

import contextlib
import math
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.core.checkpoints import Checkpoint, save_checkpoint
from ganzoo.core.data.batching import BatchSource
from ganzoo.core.errors import TrainingError
from ganzoo.core.interfaces import Generator
from ganzoo.core.progress import TrainingProgress
from ganzoo.core.training.curves import save_loss_curves
from ganzoo.core.training.ema import EMA
from ganzoo.core.training.optimizers import build_optimizers, decay_factor, set_lr_factor
from ganzoo.core.training.previews import default_rows, save_preview, save_real_grid
from ganzoo.core.training.regularizers import build_reg
from ganzoo.core.training.run import RunPlan
from ganzoo.core.training.state import restore_state, state_tensors
from ganzoo.core.training.steps import StepContext


@dataclass
class TrainResult:
    run_dir: Path
    samples: Path
    checkpoint: Path
    step: int
    interrupted: bool = False


class Trainer:
    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        config, device = plan.config, plan.device
        self.config, self.device, self.folder = config, device, plan.folder
        self.info = plan.model_entry.info
        self.model = plan.model.to(device)
        self.networks = {name: self.model.network(name) for name in self.info.networks}
        self.optimizers = build_optimizers(self.model, self.info.optimizers, config)
        self.base_lr = {n: o.param_groups[0]["lr"] for n, o in self.optimizers.items()}
        self.train_step = plan.step
        # The step sized its state for the model before it moved; size it again on the
        # training device (a restore, if any, comes after).
        self.train_step.init_state(self.model)
        self.noise = torch.Generator(device).manual_seed(config.seed + 1)
        self.batches = BatchSource(
            plan.store, self.info.needs, config.batch_size, config.seed, device, config.dataset
        )
        self.total = config.total_steps(
            len(self.batches), self.train_step.batches_per_step(config.d_steps)
        )
        config.fill_intervals(self.total)
        generator = self.networks.get("generator")
        self.fixed_z = None
        if isinstance(generator, Generator):
            fixed = torch.Generator().manual_seed(config.seed + 2)
            self.fixed_z = generator.sample_latent(
                config.sample_count, generator=fixed, device="cpu"
            )
        self.fixed = self.batches.fixed(config.sample_count, config.seed + 2)
        self.emas = {}
        if config.ema > 0:
            self.emas = {
                name: EMA(self.networks[name], config.ema, config.ema_rampup)
                for name in self.info.ema
            }
        self.regularizer = build_reg(config.reg)
        self.augment = plan.augment.to(device)
        self.step = 0
        # Running sums (and counts) of the step metrics since the last logged line, and
        # that line: all go into checkpoints, so a resumed run logs exactly what an
        # uninterrupted one would.
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}
        self.last_logged: dict[str, Any] | None = None
        self._stop_requested = False

    @property
    def draws(self) -> int:
        return self.batches.draws

    # --- state -------------------------------------------------------------------------

    def _latent(self, n: int) -> Tensor:
        generator = self.networks.get("generator")
        if not isinstance(generator, Generator):
            raise TrainingError("this family has no noise-fed generator to draw latents for")
        return generator.sample_latent(n, generator=self.noise)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def logged_now(self) -> bool:
        return self.last_logged is not None and self.last_logged.get("step") == self.step

    def save_checkpoint(self) -> Path:
        tensors, metadata = state_tensors(self)
        path = self.folder.checkpoint_path(self.step)
        save_checkpoint(path, tensors, metadata)
        self.folder.prune_checkpoints(self.config.keep)
        return path

    def restore(self, checkpoint: Checkpoint) -> None:
        """Load the whole training state, after checking every tensor and field of the file
        against this trainer's model; nothing is changed when the file is refused."""
        restore_state(self, checkpoint)

    def save_samples(self) -> Path:
        """The training-time picture for this step (and the redrawn loss curves)."""
        save_loss_curves(self.folder.read_metrics(), self.folder.curves_path)
        networks = dict(self.networks)
        networks.update({name: ema.module for name, ema in self.emas.items()})
        picture = self.train_step.preview(networks, self.fixed)
        if picture is None:
            picture = default_rows(self.info.use, networks, self.fixed, self.fixed_z)
        path = self.folder.sample_path(self.step)
        return save_preview(picture, path, self.plan.store.kind, self.plan.store.samples())

    # --- loop --------------------------------------------------------------------------

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._stop_requested:
            raise KeyboardInterrupt
        # Finish the current step so the checkpoint is a consistent state, then stop.
        self._stop_requested = True

    def _context(self) -> StepContext:
        cfg = self.config
        _, step_options = self.plan.split_options()
        return StepContext(
            networks=self.networks,
            optimizers=self.optimizers,
            loss=self.plan.loss,
            d_steps=cfg.d_steps,
            batch_size=cfg.batch_size,
            next_batch=self.batches.next,
            latent=self._latent,
            autocast=self._autocast,
            noise=self.noise,
            options=step_options,
            step=self.step,
            regularizer=self.regularizer,
            augment=self.augment,
        )

    def _accumulate(self, metrics: dict[str, Tensor]) -> None:
        for key, value in metrics.items():
            value = value.detach().float().reshape(())
            self.sums[key] = self.sums[key] + value if key in self.sums else value.clone()
            self.counts[key] = self.counts.get(key, 0) + 1

    def run(self) -> TrainResult:
        cfg = self.config
        ctx = self._context()
        for network in self.networks.values():
            network.train()
        last_ckpt: Path | None = None
        last_samples: Path | None = None
        save_real_grid(self.fixed, self.plan.store.kind, self.folder.samples_dir)
        previous = None
        try:
            previous = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C handling stays Python's default
            previous = None
        title = f"{self.model.name} on {cfg.dataset.partition(':')[0]}"
        try:
            with TrainingProgress(self.total, self.step, cfg.log_every, title) as progress:
                while self.step < self.total and not self._stop_requested:
                    ctx.step = self.step
                    if cfg.lr_decay > 0:
                        factor = decay_factor(self.step, self.total, cfg.lr_decay)
                        set_lr_factor(self.optimizers, self.base_lr, factor)
                    metrics = self.train_step(ctx)
                    metrics.update(self.augment.diagnostics())
                    for name, ema in self.emas.items():
                        ema.update(self.networks[name], self.step)
                    self.step += 1
                    self._accumulate(metrics)
                    if self.step % cfg.log_every == 0 or self.step == self.total:
                        logged = {k: float(v) / self.counts[k] for k, v in self.sums.items()}
                        self.sums, self.counts = {}, {}
                        self._check_finite(logged, last_ckpt)
                        progress.update(self.step, logged)
                        self.last_logged = {
                            "step": self.step,
                            "epoch": round(self.batches.epoch(), 4),
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
