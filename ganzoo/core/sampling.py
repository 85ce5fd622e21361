"""``ganzoo sample``: a checkpoint in, a PNG grid (or 2D scatter) or a raw .npy out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.core.data import to_uint8_images
from ganzoo.core.errors import ConfigError
from ganzoo.core.images import save_grid, save_scatter


def sample_to_file(
    checkpoint: str,
    count: int,
    seed: int,
    output: str | None,
    fmt: str | None,
    device: str = "auto",
    nrow: int | None = None,
) -> Path:
    from ganzoo.api import load

    if fmt is None:
        fmt = "npy" if output and output.lower().endswith(".npy") else "png"
    if output is None:
        output = f"{Path(checkpoint).stem}-seed{seed}-n{count}.{fmt}"
    path = Path(output)
    if path.parent and not path.parent.exists():
        raise ConfigError(f"output folder {path.parent} does not exist")
    generator = load(checkpoint, device=device)
    samples = generator.sample(count, seed=seed)
    if fmt == "npy":
        if generator.data_kind == "image":
            # uint8 NHWC: what image tools expect; no pickle (allow_pickle=False).
            array = to_uint8_images(samples).permute(0, 2, 3, 1).numpy()
        else:
            array = samples.numpy().astype(np.float32)
        with path.open("wb") as handle:
            np.save(handle, array, allow_pickle=False)
        return path
    if generator.data_kind == "points":
        return save_scatter(samples, path)
    return save_grid(samples, path, nrow=nrow)
