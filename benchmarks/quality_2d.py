"""Mode coverage of the built-in MLP GAN on ring8 and grid25, for every registered loss.

    .venv/bin/python benchmarks/quality_2d.py [--seeds 10] [--steps-ring 4000]
        [--steps-grid 6000] [--losses a,b] [--out docs/benchmarks.md] [--threads 1]

Trains ``mlp`` once per (data set, loss, seed), draws 2,500 samples from the final checkpoint
(``ganzoo.load(ckpt).sample(2500, seed=0)``) and scores them with ``mode_coverage``: modes
captured, % high-quality samples (within 3 std of the nearest mode) and the reverse KL of the
mode histogram against uniform (VEEGAN's and PacGAN's protocol). Prints one line per run and
the table of mean ± standard error over seeds, then writes the table between the markers
``<!-- quality_2d:begin -->`` / ``<!-- quality_2d:end -->`` of ``--out`` (text outside the
markers, such as the published figures, is kept). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import machine

import ganzoo
from ganzoo.core.errors import TrainingError
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.toy2d import mode_means
from ganzoo.plugins.metrics.modes import LITERATURE_SAMPLES, mode_coverage

BEGIN, END = "<!-- quality_2d:begin -->", "<!-- quality_2d:end -->"

# The same settings as tests/test_quality_2d.py; only the number of steps differs per data set.
SETTINGS = {
    "batch_size": 64,
    "lr_g": 5e-4,
    "lr_d": 5e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "d_steps": 1,
    "model_options": {"latent_dim": 2},
}
DATASETS = ("ring8", "grid25")


def train_and_score(dataset: str, loss: str, seed: int, steps: int) -> dict[str, float]:
    means, std = mode_means(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        options = {**SETTINGS, "dataset": dataset, "loss": loss, "seed": seed, "steps": steps}
        options.update(log_every=steps, sample_every=steps, ckpt_every=steps, out=tmp)
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # the progress lines
                result = start_run("mlp", options)
        except TrainingError:  # losses became non-finite: counted as a run that learnt nothing
            nothing = {"modes": 0.0, "modes_total": float(len(means)), "high_quality": 0.0}
            return {**nothing, "reverse_kl": math.inf, "diverged": 1.0}
        samples = ganzoo.load(str(result.checkpoint)).sample(LITERATURE_SAMPLES, seed=0)
    return {**mode_coverage(samples, means, std), "diverged": 0.0}


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def fmt(values: list[float], digits: int) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "undefined"
    mean, se = mean_se(finite)
    text = f"{mean:.{digits}f} ± {se:.{digits}f}"
    missing = len(values) - len(finite)
    if missing:
        text += f" ({missing} run{'s' if missing > 1 else ''} undefined)"
    return text


def table(results: dict[tuple[str, str], list[dict[str, float]]], steps: dict[str, int]) -> str:
    lines = [
        "| data set | steps | loss | seeds | modes | % high quality | reverse KL "
        "| worst seed (modes, % HQ) | diverged |",
        "| --- | ---: | --- | ---: | --- | --- | --- | --- | ---: |",
    ]
    for (dataset, loss), runs in results.items():
        total = int(runs[0]["modes_total"])
        worst = min(runs, key=lambda r: (r["modes"], r["high_quality"]))
        lines.append(
            f"| {dataset} | {steps[dataset]} | {loss} | {len(runs)} "
            f"| {fmt([r['modes'] for r in runs], 1)} / {total} "
            f"| {fmt([r['high_quality'] for r in runs], 1)} "
            f"| {fmt([r['reverse_kl'] for r in runs], 3)} "
            f"| {worst['modes']:.0f}, {worst['high_quality']:.1f} "
            f"| {sum(int(r['diverged']) for r in runs)} |"
        )
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    block = f"{BEGIN}\n{section}\n{END}"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per cell")
    parser.add_argument("--steps-ring", type=int, default=4000)
    parser.add_argument("--steps-grid", type=int, default=6000)
    parser.add_argument("--losses", default=None, help="comma-separated; default: every loss")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    losses = args.losses.split(",") if args.losses else ganzoo.list_losses()
    datasets = args.datasets.split(",")
    steps = {"ring8": args.steps_ring, "grid25": args.steps_grid}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    start = time.perf_counter()
    for dataset in datasets:
        for loss in losses:
            runs = results.setdefault((dataset, loss), [])
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                score = train_and_score(dataset, loss, seed, steps[dataset])
                runs.append(score)
                print(
                    f"{dataset} {loss} seed {seed}: modes {score['modes']:.0f}/"
                    f"{score['modes_total']:.0f}  high quality {score['high_quality']:.1f}%  "
                    f"reverse KL {score['reverse_kl']:.3f}  ({time.perf_counter() - t0:.1f} s)",
                    flush=True,
                )
    wall = time.perf_counter() - start

    python = os.path.relpath(sys.executable)
    python = "python" if python.startswith("..") else python
    command = " ".join([python, *map(shlex.quote, sys.argv)])
    rows = table(results, steps)
    settings = ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
    section = "\n".join(
        [
            f"Command: `{command}` — wall time {wall / 60:.1f} min for "
            f"{sum(len(r) for r in results.values())} training runs.",
            "",
            f"Machine: {machine()}.",
            "",
            f"Settings: `mlp`, {settings}; seeds 0..{args.seeds - 1}; 2,500 samples per run "
            "(`sample(2500, seed=0)`) from the final checkpoint. Mean ± standard error over seeds.",
            "",
            rows,
        ]
    )
    print()
    print(rows)
    print(f"\nwall time: {wall:.0f} s ({wall / 60:.1f} min)")
    write_section(Path(args.out), section)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
