"""Class control of the conditional MLP on labelled ring8: the share of class-k samples
nearest to mode k, per seed.

    .venv/bin/python benchmarks/conditional_ring8.py [--seeds 0-9] [--steps 600]

Trains ``cmlp`` (``-o hidden=64 -o depth=2``, batch 128, non-saturating loss, the family's
default Adam) on ``ring8`` with the mode index as label, once per seed, then draws 500
samples of each class from the final checkpoint and counts how many land nearest to their
own mode. Prints a Markdown table (per seed: the mean over the 8 classes and the worst
class) and the mean over seeds. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.toy2d import RING8_MEANS


def seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(v) for v in text.split("-"))
        return list(range(low, high + 1))
    return [int(v) for v in text.split(",")]


def class_hits(checkpoint: Path, per_class: int) -> list[float]:
    generator = ganzoo.load(str(checkpoint))
    hits = []
    for k in range(len(RING8_MEANS)):
        nearest = torch.cdist(generator.sample(per_class, seed=1, label=k), RING8_MEANS)
        hits.append(float((nearest.argmin(1) == k).float().mean()))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--per-class", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, means = [], []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds(args.seeds):
            settings = dict(dataset="ring8", dataset_size=4096, batch_size=128, seed=seed,
                            steps=args.steps, model_options={"hidden": 64, "depth": 2},
                            out=Path(tmp) / f"seed{seed}")  # fmt: skip
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                result = start_run("cmlp", settings)
            hits = class_hits(result.checkpoint, args.per_class)
            means.append(sum(hits) / len(hits))
            rows.append(f"| {seed} | {100 * means[-1]:.1f} % | {100 * min(hits):.1f} % |")
    print(f"Command: `{shlex.join(['.venv/bin/python', *sys.argv])}`; "
          f"wall time {time.perf_counter() - start:.0f} s, 1 torch thread.\n")  # fmt: skip
    print("| seed | class-k samples nearest to mode k (mean of 8 classes) | worst class |")
    print("| ---: | ---: | ---: |")
    print("\n".join(rows))
    print(f"| mean | {100 * sum(means) / len(means):.1f} % | |")


if __name__ == "__main__":
    main()
