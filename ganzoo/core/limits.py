"""The documented limits on what a user, a checkpoint or a run folder may ask ganzoo to do.

Every number a user can type, and every number a file from elsewhere can carry, is checked
against a range here before anything is built, decoded or written, so an absurd value is one
sentence instead of an hour of swapping. docs/security.md lists these values.
"""

from __future__ import annotations

import math
from typing import Any

from ganzoo.core.errors import ConfigError

MAX_SEED = 2**63 - 1
MAX_STEPS = 1_000_000_000
MAX_EPOCHS = 1_000_000.0
MAX_BATCH_SIZE = 65_536
MAX_D_STEPS = 100
MAX_LR = 10.0
MAX_KEEP = 1_000_000
MAX_SAMPLE_GRID = 1_024  # the training run's fixed-latent picture
MAX_DATASET_SIZE = 100_000_000
MAX_PROCEDURAL_BYTES = 4 << 30  # a generated data set (shapes, ring8, ...) held in memory
MAX_RESOLUTION = 4_096

# A model whose two networks hold more parameters than this, or whose forward pass keeps
# more activation values per sample, is refused before a byte of it is allocated.
MAX_PARAMETERS = 1_000_000_000
MAX_ACTIVATIONS_PER_SAMPLE = 1 << 28
# A sample (an image or a point) holds at most this many values, in at most this many axes.
MAX_SAMPLE_ELEMENTS = 3 * MAX_RESOLUTION * MAX_RESOLUTION
MAX_DATA_AXIS = 65_536

# ganzoo sample / ganzoo eval
MAX_SAMPLES = 10_000_000  # npy output streams to disk in batches
MAX_GRID_PIXELS = 1 << 25  # a PNG grid is for looking at: 32 MP, e.g. 7,000 images at 64 px
# ganzoo sample --seeds / ganzoo interpolate (a GIF is held whole: at most MAX_GRID_PIXELS)
MAX_SEEDS = 10_000  # one latent per seed, each drawn from its own generator
MAX_FRAMES = 100_000
MAX_TRUNCATION = 2.0  # psi: 0 is the mean image, 1 is off, above 1 exaggerates
MAX_EVAL_SAMPLES = 200_000
MAX_EVAL_BYTES = 8 << 30  # the generated set is held (float32) while metrics read it
MAX_EVAL_REFERENCE = 1_000_000
MAX_EVAL_BATCH = 4_096
# The largest image a dataset folder may hold (decoded size: a JPEG decodes reduced). A few
# hundred MB at most while it is converted; --max-image-pixels raises it up to the ceiling.
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000
MAX_IMAGE_PIXELS_CEILING = 1_000_000_000  # --max-image-pixels may raise the budget this far

# Checkpoint files
MAX_HEADER_BYTES = 16 << 20
MAX_TENSORS = 100_000


def check_int(value: Any, what: str, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be a whole number; got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{what} must be between {low:,} and {high:,}; got {value:,}")
    return value


def check_float(
    value: Any,
    what: str,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the given range (ints are accepted; bools are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number; got {value}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ConfigError(f"{what} must be in {left}{low:g}, {high:g}{right}; got {value:g}")
    return value


def check_data_bytes(count: int, per_sample: int, what: str) -> None:
    """Refuse a generated data set that would not fit the documented memory bound."""
    if count * per_sample > MAX_PROCEDURAL_BYTES:
        raise ConfigError(
            f"{what}: {count:,} samples of {per_sample:,} bytes would take more than "
            f"{MAX_PROCEDURAL_BYTES >> 30} GiB; lower --dataset-size or --resolution"
        )


def check_seed(value: Any, what: str = "--seed") -> int:
    return check_int(value, what, 0, MAX_SEED)


# --freeze-d: D's first weight layers frozen when fine-tuning (the check against the real
# network's depth comes when it is built).
MAX_FREEZE_D = 64
