"""The one shared trainer: device placement, mixed precision, optimisers, the step loop,
checkpoints, pictures and the metrics log. What differs between GAN families lives in the
family's descriptor, its ``TrainStep`` and the loss, never here.

Nothing in the loop waits for the GPU between log steps: metrics are summed on the device
and read back (``float``) only when a line is logged, so the host queues the next steps
while the device runs the current one. On CUDA the weights and image batches are
channels_last and Adam is fused (``--memory-format``, ``--fused-adam``); ``--compile``
wraps the networks the step calls in ``torch.compile``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.core import distributed
from ganzoo.core.checkpoints import Checkpoint, save_checkpoint
from ganzoo.core.data.batching import BatchSource
from ganzoo.core.device import use_channels_last
from ganzoo.core.errors import TrainingError
from ganzoo.core.interfaces import Generator
from ganzoo.core.progress import TrainingProgress
from ganzoo.core.training import compiling, rng
from ganzoo.core.training.curves import save_loss_curves
from ganzoo.core.training.ema import EMA
from ganzoo.core.training.optimizers import build_optimizers, decay_factor, set_lr_factor
from ganzoo.core.training.previews import (
    default_rows,
    real_grid_path,
    save_preview,
    save_real_grid,
)
from ganzoo.core.training.regularizers import build_reg
from ganzoo.core.training.run import RunPlan
from ganzoo.core.training.state import restore_state, state_tensors
from ganzoo.core.training.steps import StepContext
from ganzoo.core.training.writer import BackgroundWriter, snapshot


@dataclass
class TrainResult:
    run_dir: Path
    samples: Path
    checkpoint: Path
    step: int
    interrupted: bool = False
    main: bool = True  # rank 0 (or the only process): the one that wrote the files
    real: Path | None = None  # the grid of training images beside the samples, if any


class Trainer:
    # Checkpoints and pictures are written by a background thread (False: in the loop, as
    # benchmarks/background_writes.py compares).
    write_in_background = True

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        config, device = plan.config, plan.device
        self.config, self.device, self.folder = config, device, plan.folder
        self.info = plan.model_entry.info
        self.ranks = plan.ranks
        self.model = plan.model.to(device)
        self.networks = {name: self.model.network(name) for name in self.info.networks}
        self.optimizers = build_optimizers(self.model, self.info.optimizers, config)
        if self.ranks.active:
            distributed.broadcast_module(self.model)
            for optimizer in self.optimizers.values():
                distributed.sync_optimizer(optimizer, self.ranks.world)
        # After the broadcast (collectives want the standard layout); the parameters stay
        # the same objects, so the optimisers (with no state yet) need nothing.
        self.channels_last = use_channels_last(
            config.memory_format, device, self.model, plan.store.kind
        )
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.base_lr = {n: o.param_groups[0]["lr"] for n, o in self.optimizers.items()}
        self.train_step = plan.step
        # The step sized its state for the model before it moved; size it again on the
        # training device (a restore, if any, comes after).
        self.train_step.init_state(self.model)
        self.noise = torch.Generator(device).manual_seed(config.seed + 1)
        # Under torchrun every rank draws the global batch's latents from the shared stream
        # above and keeps its slice. What a step draws for its own images (augmentations,
        # penalty mixes, image pools, masks, dropout) comes from a stream of the rank's own,
        # or every rank would apply the same draws to different images; it is reseeded from
        # (seed, rank, step) at each step, so a resume needs no state for it.
        self.step_noise = torch.Generator(device) if self.ranks.active else self.noise
        self.batches = BatchSource(
            plan.store, self.info.needs, config.batch_size, config.seed, device, config.dataset,
            self.ranks, placement=config.data_placement, channels_last=self.channels_last,
        )  # fmt: skip
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
        self._stop_agreed = False
        self.writer = BackgroundWriter(self.write_in_background)
        # What the step calls: the networks, or their compiled wrappers (which share the
        # parameters; checkpoints, EMA and pictures keep using the networks themselves).
        self.compile_pending = False
        self.step_networks = self.networks
        if config.compile:
            self.step_networks, self.compile_pending = compiling.compiled_networks(self)

    @property
    def draws(self) -> int:
        return self.batches.draws

    # --- state -------------------------------------------------------------------------

    def _latent(self, n: int) -> Tensor:
        generator = self.networks.get("generator")
        if not isinstance(generator, Generator):
            raise TrainingError("this family has no noise-fed generator to draw latents for")
        if not self.ranks.active:
            return generator.sample_latent(n, generator=self.noise)
        # The global batch's latents, as one process would draw them; this rank's slice.
        z = generator.sample_latent(n * self.ranks.world, generator=self.noise)
        return z[self.ranks.rank * n : (self.ranks.rank + 1) * n]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def logged_now(self) -> bool:
        return self.last_logged is not None and self.last_logged.get("step") == self.step

    def save_checkpoint(self) -> Path:
        """Hand this step's whole state to the writer (copied now, written in the
        background); the path it will have."""
        path, folder, keep = self.folder.checkpoint_path(self.step), self.folder, self.config.keep
        if self.ranks.active:
            self._check_in_step()
            if not self.ranks.main:
                return path
        tensors, metadata = state_tensors(self)
        tensors, metadata = snapshot(tensors), copy.deepcopy(metadata)

        def write() -> None:
            save_checkpoint(path, tensors, metadata)
            folder.prune_checkpoints(keep)

        self.writer.submit(write)
        return path

    def restore(self, checkpoint: Checkpoint) -> None:
        """Load the whole training state, after checking every tensor and field of the file
        against this trainer's model; nothing is changed when the file is refused."""
        restore_state(self, checkpoint)

    def save_samples(self) -> Path:
        """The training-time picture for this step (drawn now, written in the background
        with the redrawn loss curves); the path it will have."""
        if not self.ranks.main:
            return self.folder.sample_path(self.step)
        networks = dict(self.networks)
        networks.update({name: ema.module for name, ema in self.emas.items()})
        picture = self.train_step.preview(networks, self.fixed)
        if picture is None:
            picture = default_rows(self.info.use, networks, self.fixed, self.fixed_z)
        if isinstance(picture, list):
            picture = [row.detach().cpu() for row in picture]
        else:
            picture = picture.detach().cpu()
        path, folder = self.folder.sample_path(self.step), self.folder
        kind, reference = self.plan.store.kind, self.plan.store.samples()

        def write() -> None:
            save_loss_curves(folder.read_metrics(), folder.curves_path)
            save_preview(picture, path, kind, reference)

        self.writer.submit(write)
        return path

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
            networks=self.step_networks,
            optimizers=self.optimizers,
            loss=self.plan.loss,
            d_steps=cfg.d_steps,
            batch_size=self.batches.local,
            next_batch=self.batches.next,
            latent=self._latent,
            autocast=self._autocast,
            noise=self.step_noise,
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
        if self.ranks.main:
            save_real_grid(self.fixed, self.plan.store.kind, self.folder.samples_dir)
        previous = None
        try:
            previous = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: Ctrl-C handling stays Python's default
            previous = None
        title = f"{self.model.name} on {cfg.dataset.partition(':')[0]}"
        try:
            quiet = not self.ranks.main
            with TrainingProgress(self.total, self.step, cfg.log_every, title, quiet) as progress:
                while self.step < self.total and not self._stopping():
                    ctx.step = self.step
                    if self.ranks.active:
                        rng.reseed_rank(self.step_noise, cfg.seed, self.ranks.rank, self.step)
                    if cfg.lr_decay > 0:
                        factor = decay_factor(self.step, self.total, cfg.lr_decay)
                        set_lr_factor(self.optimizers, self.base_lr, factor)
                    metrics = compiling.guarded_step(self, ctx, progress.message)
                    metrics.update(self.augment.diagnostics())
                    for name, ema in self.emas.items():
                        ema.update(self.networks[name], self.step)
                    self.step += 1
                    self._accumulate(metrics)
                    if self.step % cfg.log_every == 0 or self.step == self.total:
                        if self.ranks.active:
                            # The global batch's means; and a Ctrl-C on any rank stops all
                            # of them here, at the same step.
                            self.sums = distributed.mean_over_ranks(self.sums, self.ranks.world)
                            self._stop_agreed = distributed.any_rank(
                                self._stop_requested, self.device
                            )
                            self._stop_requested = self._stop_agreed
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
                        if self.ranks.main:
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
            self.batches.close()
            # A checkpoint handed to the writer is finished before any error reaches the
            # user (its message may name it).
            self.writer.wait()
        if last_ckpt is None or last_ckpt != self.folder.checkpoint_path(self.step):
            last_ckpt = self.save_checkpoint()
        if last_samples is None or last_samples != self.folder.sample_path(self.step):
            last_samples = self.save_samples()
        self.writer.wait()
        real = real_grid_path(self.folder.samples_dir)
        return TrainResult(
            self.folder.root, last_samples, last_ckpt, self.step, self._stop_requested,
            self.ranks.main, real if real.is_file() else None,
        )  # fmt: skip

    def _stopping(self) -> bool:
        """Stop now? In a distributed run only once the ranks agreed, at a log step."""
        return self._stop_agreed if self.ranks.active else self._stop_requested

    def _check_in_step(self) -> None:
        """Every rank must hold the same weights; a rank that drifted would make the
        checkpoint one rank's run, not the run."""
        drift = distributed.check_in_step(list(self.networks.values()), self.device)
        if drift != 0.0:
            raise TrainingError(
                f"the {self.ranks.world} processes' weights differ at step {self.step} "
                f"(fingerprint spread {drift:.3g}); the ranks are out of step"
            )

    def _check_finite(self, logged: dict[str, float], last_ckpt: Path | None) -> None:
        bad = [k for k, v in logged.items() if not math.isfinite(v)]
        if bad:
            kept = f"; the last good checkpoint is {last_ckpt}" if last_ckpt else ""
            raise TrainingError(
                f"{', '.join(bad)} became non-finite at step {self.step} "
                f"(try a lower learning rate){kept}"
            )
