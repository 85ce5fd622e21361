"""The resolved settings of a training run, checked once, saved as the run's config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ganzoo.core.errors import ConfigError

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
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    ema: float = 0.0
    dataset_size: int | None = None
    log_every: int | None = None
    sample_every: int | None = None
    ckpt_every: int | None = None
    keep: int = 3
    sample_count: int = 64

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in values.items() if k in known and v is not None})
        config.check()
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        """Reject impossible values with the flag a user would type."""
        positive_ints = ("batch_size", "d_steps", "keep", "sample_count")
        optional_positive = ("steps", "dataset_size", "log_every", "sample_every", "ckpt_every")
        for name in positive_ints + optional_positive:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{_flag(name)} must be a positive whole number; got {value}")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        if self.epochs is not None and not self.epochs > 0:
            raise ConfigError(f"--epochs must be positive; got {self.epochs}")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{_flag(name)} must be positive; got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{_flag(name)} must be in [0, 1); got {getattr(self, name)}")
        if self.resolution is not None and self.resolution < 1:
            raise ConfigError(f"--resolution must be positive; got {self.resolution}")
        if self.channels not in (1, 3):
            raise ConfigError(f"--channels must be 1 or 3; got {self.channels}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema must be in [0, 1) (0 turns it off); got {self.ema}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"--precision must be fp32 or bf16; got {self.precision}")

    def total_steps(self, dataset_len: int) -> int:
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            per_epoch = max(1, dataset_len // self.batch_size)
            return max(1, round(self.epochs * per_epoch / self.d_steps))
        return DEFAULT_STEPS

    def fill_intervals(self, total: int) -> None:
        """Defaults that scale with the run: about 10 sample grids and 4 checkpoints."""
        if self.log_every is None:
            self.log_every = max(1, min(50, total // 20))
        if self.sample_every is None:
            self.sample_every = max(1, total // 10)
        if self.ckpt_every is None:
            self.ckpt_every = max(1, total // 4)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
