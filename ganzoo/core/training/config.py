"""The resolved settings of a training run, checked once, saved as the run's config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ganzoo.core.data.fields import DIRECTIONS
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import (
    MAX_BATCH_SIZE,
    MAX_D_STEPS,
    MAX_DATASET_SIZE,
    MAX_EPOCHS,
    MAX_FREEZE_D,
    MAX_IMAGE_PIXELS_CEILING,
    MAX_KEEP,
    MAX_LR,
    MAX_RESOLUTION,
    MAX_SAMPLE_GRID,
    MAX_STEPS,
    check_float,
    check_int,
    check_seed,
)
from ganzoo.core.training.augment import check_augment
from ganzoo.core.training.regularizers import check_reg

DEFAULT_DATASET = "shapes"
DEFAULT_STEPS = 2000


@dataclass
class TrainConfig:
    model: str
    loss: str = "non-saturating"
    dataset: str = DEFAULT_DATASET
    resolution: int | None = None
    channels: int = 3
    model_options: dict[str, Any] = field(default_factory=dict)
    loss_options: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 64
    d_steps: int = 1
    # None: the family's optimiser group defaults (ganzoo.zoo.families.OptimizerGroup).
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    ema: float = 0.0
    # The learning rates fall in a straight line to 0 over this last fraction of the run.
    lr_decay: float = 0.0
    # Warm the average up: decay min(ema, (1 + t) / (10 + t)) at step t, so early averages
    # are not dominated by the random initial weights. Off for runs made before it existed.
    ema_rampup: bool = False
    dataset_size: int | None = None
    log_every: int | None = None
    sample_every: int | None = None
    ckpt_every: int | None = None
    keep: int = 3
    sample_count: int = 64
    max_image_pixels: int | None = None
    # Which side of a paired data set is the input: AtoB (A is) or BtoA.
    direction: str = "AtoB"
    # A lazy regulariser on D: {"name": "r1", "options": {"gamma": 10.0, "every": 16}}.
    reg: dict[str, Any] | None = None
    # An augmentation of what D sees, options resolved: {"name": "ada", "options": {...}}.
    augment: dict[str, Any] | None = None
    # Fine-tuning: the checkpoint the weights came from (absolute path), and how many of
    # D's first weight layers stay frozen.
    init_from: str | None = None
    freeze_d: int = 0
    # The preset whose settings filled what the user left unset (None: no preset applied);
    # a record only: the settings themselves are saved above.
    preset: str | None = None
    # Distributed runs: batch norm statistics over the whole global batch (SyncBatchNorm,
    # CUDA only) instead of each rank's slice.
    sync_bn: bool = False
    # Speed settings: none changes what is trained beyond float rounding (see "Speed on a
    # GPU" in docs/training.md). "auto" turns each on where it helps: on CUDA.
    # channels_last: NHWC weights and image batches for the convolutions.
    memory_format: str = "auto"
    # Adam's fused kernel (one launch for all parameters) instead of torch's foreach one.
    fused_adam: str = "auto"
    # device: the whole data set on the training device as uint8; host: batches gathered
    # on the host (on CUDA into pinned memory, copied one batch ahead); auto: device up to
    # MAX_DEVICE_DATA_BYTES.
    data_placement: str = "auto"
    # torch.compile the networks' forward passes (falls back to eager if it cannot).
    compile: bool = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        if not isinstance(values, dict):
            raise ConfigError("the training settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in values.items() if k in known and v is not None})
        config.check()
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        """Reject impossible values (wrong types too: config.json may have been edited) with
        the flag a user would type."""
        for name in ("model", "loss", "dataset", "device", "direction"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{_flag(name)} must be a non-empty string")
        for name in ("model_options", "loss_options"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ConfigError(f"{name} must be a mapping of option names to values")
        for name, (low, high) in _INT_RANGES.items():
            value = getattr(self, name)
            if value is not None or name in _REQUIRED_INTS:
                check_int(value, _flag(name), low, high)
        for name, (low, high, low_open, high_open) in _FLOAT_RANGES.items():
            value = getattr(self, name)
            if value is not None:
                value = check_float(
                    value, _flag(name), low, high, low_open=low_open, high_open=high_open
                )
                setattr(self, name, value)
        check_seed(self.seed)
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        if self.channels not in (1, 3):
            raise ConfigError(f"--channels must be 1 or 3; got {self.channels}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"--precision must be fp32 or bf16; got {self.precision}")
        for name, choices in SPEED_CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(
                    f"{_flag(name)} must be {', '.join(choices[:-1])} or {choices[-1]}; "
                    f"got {getattr(self, name)!r}"
                )
        if not isinstance(self.compile, bool):
            raise ConfigError("--compile must be true or false")
        check_int(self.freeze_d, "--freeze-d", 0, MAX_FREEZE_D)
        if self.preset is not None and not isinstance(self.preset, str):
            raise ConfigError("preset must be a preset name")
        if self.init_from is not None and not isinstance(self.init_from, str):
            raise ConfigError("--init-from must be a checkpoint path")
        if not isinstance(self.ema_rampup, bool):
            raise ConfigError("ema_rampup must be true or false")
        if not isinstance(self.sync_bn, bool):
            raise ConfigError("--sync-bn must be true or false")
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"--direction must be AtoB or BtoA; got {self.direction!r}")
        self.reg = check_reg(self.reg)
        self.augment = check_augment(self.augment)

    def total_steps(self, dataset_len: int, batches_per_step: int = 1) -> int:
        """``--steps``, or the steps in which the training step draws ``--epochs`` passes
        over the data, at ``batches_per_step`` batches a step."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            per_epoch = max(1, dataset_len // self.batch_size)
            total = max(1, round(self.epochs * per_epoch / max(1, batches_per_step)))
            if total > MAX_STEPS:
                raise ConfigError(
                    f"--epochs {self.epochs:g} means {total:,} steps, more than {MAX_STEPS:,}"
                )
            return total
        return DEFAULT_STEPS

    def fill_intervals(self, total: int) -> None:
        """Defaults that scale with the run: about 10 sample grids and 4 checkpoints."""
        if self.log_every is None:
            self.log_every = max(1, min(50, total // 20))
        if self.sample_every is None:
            self.sample_every = max(1, total // 10)
        if self.ckpt_every is None:
            self.ckpt_every = max(1, total // 4)


# The speed settings' values ("auto" first: the default).
SPEED_CHOICES = {
    "memory_format": ("auto", "channels_last", "contiguous"),
    "fused_adam": ("auto", "on", "off"),
    "data_placement": ("auto", "device", "host"),
}

# name -> (lowest, highest); None is allowed unless the name is in _REQUIRED_INTS.
_INT_RANGES = {
    "resolution": (1, MAX_RESOLUTION),
    "channels": (1, 3),
    "steps": (1, MAX_STEPS),
    "batch_size": (1, MAX_BATCH_SIZE),
    "d_steps": (1, MAX_D_STEPS),
    "dataset_size": (1, MAX_DATASET_SIZE),
    "log_every": (1, MAX_STEPS),
    "sample_every": (1, MAX_STEPS),
    "ckpt_every": (1, MAX_STEPS),
    "keep": (1, MAX_KEEP),
    "sample_count": (1, MAX_SAMPLE_GRID),
    "max_image_pixels": (1, MAX_IMAGE_PIXELS_CEILING),
}
_REQUIRED_INTS = {"channels", "batch_size", "d_steps", "keep", "sample_count"}
# name -> (low, high, low excluded, high excluded)
_FLOAT_RANGES = {
    "epochs": (0.0, MAX_EPOCHS, True, False),
    "lr_g": (0.0, MAX_LR, True, False),
    "lr_d": (0.0, MAX_LR, True, False),
    "beta1": (0.0, 1.0, False, True),
    "beta2": (0.0, 1.0, False, True),
    "ema": (0.0, 1.0, False, True),
    "lr_decay": (0.0, 1.0, False, False),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
