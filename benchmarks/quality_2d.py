"""Mode coverage of the built-in MLP GAN on ring8 and grid25, beside the published tables.

    .venv/bin/python benchmarks/quality_2d.py [--seeds 10] [--recipes defaults,losses]
        [--losses a,b] [--settings JSON] [--steps-ring 4000] [--steps-grid 6000] [--workers 1]
        [--out docs/benchmarks.md] [--section quality_2d] [--threads 1]

Recipe ``defaults`` trains exactly what ``ganzoo train mlp --dataset ring8 --seed S`` trains:
no setting but the data set and the seed, so the preset that matches decides the rest.
Recipe ``losses`` trains every registered loss (or ``--losses``) with fixed settings
(``SETTINGS``, no preset) and ``--steps-ring`` / ``--steps-grid`` steps. ``--settings JSON``
adds recipe ``custom``: those training settings (``start_run`` keys; ``steps`` defaults to
``--steps-ring`` / ``--steps-grid``), no preset, to measure a candidate preset.

Each run's final checkpoint gives 2,500 samples (``ganzoo.load(ckpt).sample(2500, seed=0)``),
scored with ``mode_coverage``: modes captured, % high-quality samples (within 3 std of the
nearest mode) and the reverse KL of the mode histogram against uniform (VEEGAN's and PacGAN's
protocol). Prints one line per run, the table of mean ± standard error over seeds, and the
defaults beside PacGAN's and VEEGAN's published rows (``PUBLISHED``); writes both between the
markers ``<!-- SECTION:begin -->`` / ``<!-- SECTION:end -->`` of ``--out`` (``--section``,
default ``quality_2d``; text outside the markers is kept). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import math
import tempfile
import time
from pathlib import Path

import torch
from machine import machine
from report import command_line, mean_se, write_section

import ganzoo
from ganzoo.core.errors import TrainingError
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.toy2d import mode_means
from ganzoo.plugins.metrics.modes import LITERATURE_SAMPLES, mode_coverage

# Recipe "losses": fixed settings (the ring8 tuning below chose them), no preset.
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
DEFAULTS = "defaults"
CUSTOM = "custom"

# Published rows, mean ± standard error where the paper gives one: (ring8 modes, ring8 % HQ,
# grid25 modes, grid25 % HQ). PacGAN: Lin et al. 2018 (NeurIPS, arXiv:1712.04086), Table 1,
# 10 trials. VEEGAN: Srivastava et al. 2017 (NeurIPS, arXiv:1705.07761), Table 1, 5 runs.
PUBLISHED = (
    ("GAN (PacGAN Table 1)", "6.3 ± 0.5", "98.2 ± 0.2", "17.3 ± 0.8", "94.8 ± 0.7"),
    ("ALI (PacGAN Table 1)", "6.6 ± 0.3", "97.6 ± 0.4", "24.1 ± 0.4", "95.7 ± 0.6"),
    ("PacGAN2 (PacGAN Table 1)", "7.9 ± 0.1", "95.6 ± 2.0", "23.8 ± 0.7", "91.3 ± 0.8"),
    ("PacGAN3 (PacGAN Table 1)", "7.8 ± 0.1", "97.7 ± 0.3", "24.6 ± 0.4", "94.2 ± 0.4"),
    ("PacGAN4 (PacGAN Table 1)", "7.8 ± 0.1", "95.9 ± 1.4", "24.8 ± 0.2", "93.6 ± 0.6"),
    ("GAN (VEEGAN Table 1)", "1", "99.3", "3.3", "0.5"),
    ("ALI (VEEGAN Table 1)", "2.8", "0.13", "15.8", "1.6"),
    ("Unrolled GAN (VEEGAN Table 1)", "7.6", "35.6", "23.6", "16"),
    ("VEEGAN (VEEGAN Table 1)", "8", "52.9", "24.6", "40"),
)


def recipe_options(dataset: str, recipe: str, steps: int, custom: str) -> dict:
    """``defaults``: only the data set (the preset decides); ``custom``: the ``--settings``
    JSON, no preset; a loss name: ``SETTINGS``."""
    if recipe == DEFAULTS:
        return {"dataset": dataset}
    if recipe == CUSTOM:
        return {"steps": steps, **json.loads(custom), "dataset": dataset, "preset": "none"}
    return {**SETTINGS, "dataset": dataset, "loss": recipe, "steps": steps, "preset": "none"}


def train_and_score(job: tuple[str, str, int, int, int, str]) -> dict[str, float]:
    dataset, recipe, seed, steps, threads, custom = job
    torch.set_num_threads(threads)
    means, std = mode_means(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        options = {**recipe_options(dataset, recipe, steps, custom), "seed": seed, "out": tmp}
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # the progress lines
                result = start_run("mlp", options)
            steps_done = result.step
        except TrainingError:  # losses became non-finite: counted as a run that learnt nothing
            nothing = {"modes": 0.0, "modes_total": float(len(means)), "high_quality": 0.0}
            return {**nothing, "reverse_kl": math.inf, "diverged": 1.0, "steps": float("nan")}
        samples = ganzoo.load(str(result.checkpoint)).sample(LITERATURE_SAMPLES, seed=0)
    return {**mode_coverage(samples, means, std), "diverged": 0.0, "steps": steps_done}


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


def table(results: dict[tuple[str, str], list[dict[str, float]]]) -> str:
    lines = [
        "| data set | steps | recipe | seeds | modes | % high quality | reverse KL "
        "| worst seed (modes, % HQ) | diverged |",
        "| --- | ---: | --- | ---: | --- | --- | --- | --- | ---: |",
    ]
    for (dataset, recipe), runs in results.items():
        total = int(runs[0]["modes_total"])
        worst = min(runs, key=lambda r: (r["modes"], r["high_quality"]))
        steps = max((r["steps"] for r in runs if math.isfinite(r["steps"])), default=0)
        lines.append(
            f"| {dataset} | {steps:.0f} | {recipe} | {len(runs)} "
            f"| {fmt([r['modes'] for r in runs], 1)} / {total} "
            f"| {fmt([r['high_quality'] for r in runs], 1)} "
            f"| {fmt([r['reverse_kl'] for r in runs], 3)} "
            f"| {worst['modes']:.0f}, {worst['high_quality']:.1f} "
            f"| {sum(int(r['diverged']) for r in runs)} |"
        )
    return "\n".join(lines)


def comparison(results: dict[tuple[str, str], list[dict[str, float]]]) -> str:
    """ganzoo's defaults as the first row, then the published rows, one column per figure."""
    ours = ["ganzoo defaults (`ganzoo train mlp --dataset D`)"]
    for dataset in DATASETS:
        runs = results.get((dataset, DEFAULTS))
        if runs is None:
            ours += ["not run", "not run"]
        else:
            ours += [fmt([r["modes"] for r in runs], 1), fmt([r["high_quality"] for r in runs], 1)]
    lines = [
        "| method | ring8 modes (of 8) | ring8 % high quality | grid25 modes (of 25) "
        "| grid25 % high quality |",
        "| --- | --- | --- | --- | --- |",
        "| " + " | ".join(ours) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in PUBLISHED]
    return "\n".join(lines)


def preset_lines(datasets: list[str]) -> list[str]:
    """Which preset ``defaults`` used on each data set, and its settings."""
    from ganzoo.zoo.catalog import get_catalog

    catalog = get_catalog()
    lines = []
    for dataset in datasets:
        entry = catalog.default_preset("mlp", dataset, "points")
        text = f"`{entry.name}`: `{entry.info.summary()}`" if entry else "no preset"
        lines.append(f"- {dataset}: {text}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per cell")
    parser.add_argument("--recipes", default=DEFAULTS, help="defaults, losses or both")
    parser.add_argument("--losses", default=None, help="comma-separated; default: every loss")
    parser.add_argument(
        "--settings",
        default=None,
        help="recipe 'custom': training settings as JSON, e.g. "
        '\'{"batch_size": 256, "ema": 0.999, "lr_decay": 0.5}\' (no preset)',
    )
    parser.add_argument("--steps-ring", type=int, default=4000, help="recipe losses only")
    parser.add_argument("--steps-grid", type=int, default=6000, help="recipe losses only")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--workers", type=int, default=1, help="training runs at once")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument(
        "--section", default="quality_2d", help="marker name of the section --out gets"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    recipes = args.recipes.split(",")
    labels = [DEFAULTS] if DEFAULTS in recipes else []
    if "losses" in recipes:
        labels += args.losses.split(",") if args.losses else ganzoo.list_losses()
    if args.settings is not None:
        json.loads(args.settings)  # a typo fails here, not in every worker
        labels.append(CUSTOM)
    datasets = args.datasets.split(",")
    steps = {"ring8": args.steps_ring, "grid25": args.steps_grid}
    jobs = [
        (dataset, label, seed, steps[dataset], args.threads, args.settings or "{}")
        for dataset in datasets
        for label in labels
        for seed in range(args.seeds)
    ]
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.workers) as pool:
        for job, score in zip(jobs, pool.map(train_and_score, jobs), strict=True):
            dataset, label, seed = job[:3]
            results.setdefault((dataset, label), []).append(score)
            print(
                f"{dataset} {label} seed {seed}: modes {score['modes']:.0f}/"
                f"{score['modes_total']:.0f}  high quality {score['high_quality']:.1f}%  "
                f"reverse KL {score['reverse_kl']:.3f}",
                flush=True,
            )
    wall = time.perf_counter() - start

    command = command_line()
    rows = table(results)
    settings = ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
    lines = [
        f"Command: `{command}` — wall time {wall / 60:.1f} min for {len(jobs)} training runs "
        f"({args.workers} at a time).",
        "",
        f"Machine: {machine()}.",
        "",
        f"Seeds 0..{args.seeds - 1}; 2,500 samples per run (`sample(2500, seed=0)`) from the "
        "final checkpoint; mean ± standard error over seeds.",
    ]
    if DEFAULTS in labels:
        lines += ["", "Recipe `defaults` (no flag but the data set and the seed) used:"]
        lines += preset_lines(datasets)
    if any(label not in (DEFAULTS, CUSTOM) for label in labels):
        lines += ["", f"Loss recipes: `mlp`, `--preset none`, {settings}."]
    if CUSTOM in labels:
        lines += ["", f"Recipe `custom`: `mlp`, `--preset none`, `{args.settings}`."]
    lines += ["", rows]
    if DEFAULTS in labels:
        lines += ["", "Beside the published tables:", "", comparison(results)]
    section = "\n".join(lines)
    print()
    print(section)
    print(f"\nwall time: {wall:.0f} s ({wall / 60:.1f} min)")
    write_section(Path(args.out), args.section, section)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
