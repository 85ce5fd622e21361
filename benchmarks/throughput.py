"""Training throughput: ganzoo's trainer against a hand-written PyTorch loop of the same DCGAN.

    .venv/bin/python benchmarks/throughput.py [--images 3000] [--source-size 96]
        [--resolution 64] [--width 64] [--batch-size 64] [--steps N] [--warmup N]
        [--repeats 5] [--workers 0] [--device auto|cpu|cuda] [--threads N]
        [--cli-repeats 5] [--profile] [--out docs/benchmarks.md|-]

Renders ``--images`` pictures of the embedded procedural ``shapes`` set at ``--source-size``
px into a temporary folder as JPEGs (quality 90), then, in one process:

* times ``ganzoo --help`` and ``ganzoo list`` (``python -m ganzoo``, median wall time of
  ``--cli-repeats`` runs after one untimed run);
* times the folder's first decode through the ``folder`` plugin (a cold cache: the decode
  cache lives in a temporary ``GANZOO_CACHE_DIR``) and the cached load after it (median);
* trains the same DCGAN (``--resolution``, ``--width``, latent 100) at the same batch size
  for the same steps, ``--repeats`` times each, alternating which goes first: ganzoo's
  trainer (``start_run("dcgan", ...)``: non-saturating loss, no EMA, no augmentation,
  ``--preset none``, fp32, Adam 2e-4 / (0.5, 0.999)) and ``plain_dcgan.train`` (ImageFolder
  decoding every file every epoch, ``BCEWithLogitsLoss``, one G forward a step).

Training speed is images per second, ``batch size * steps / seconds``, one step being one D
update and one G update. Each run does ``--warmup`` untimed steps, then ``--steps`` timed
ones, from the start of the first to the start of the one after the last (ganzoo) or the end
of the last (the plain loop, which has nothing after its step): the batch fetch, the updates
and ganzoo's per-step bookkeeping are in; start-up, the data decode and ganzoo's writes before
and after its loop are out. On CUDA the clock is read after synchronising. The default steps
are 16 after 4 on the CPU (a default run of minutes on two cores), 200 after 20 on CUDA.
Prints each run's figure, the medians, spreads and the ganzoo / plain ratio, then writes the
table between ``<!-- throughput_cpu:begin -->`` and ``<!-- throughput_cpu:end -->``
(``throughput_cuda`` on a GPU) in ``--out`` (text outside the markers is kept).
``--profile`` runs each loop once more under ``torch.profiler`` (not in the figures) and
prints where the time of its timed steps went. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from machine import machine
from plain_dcgan import BETAS, LATENT_DIM, LR, synchronize
from plain_dcgan import train as plain_train
from report import command_line, write_section

from ganzoo.core.data.store import DataRequest
from ganzoo.core.device import resolve_device
from ganzoo.core.paths import CACHE_ENV
from ganzoo.core.training.session import start_run
from ganzoo.core.training.trainer import Trainer
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.shapes import render

HEADING = "## Throughput: ganzoo's trainer vs a hand-written loop"
# A metrics line every 50 steps, as in any run of 1,000 steps or more (the default interval
# of a run as short as this one would log every few steps).
LOG_EVERY = 50
# (timed steps, warm-up steps) when not given, by device type.
DEFAULT_STEPS = {"cpu": (16, 4), "cuda": (200, 20)}
CLASS = "shapes"  # the one class subfolder ImageFolder needs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000, help="JPEGs in the folder")
    parser.add_argument("--source-size", type=int, default=96, help="their side in px")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="dcgan's width option")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps before them")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each loop")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (plain)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--cli-repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile one more run of each")
    parser.add_argument("--out", default="docs/benchmarks.md", help="PATH, or - to print only")
    args = parser.parse_args(argv)
    for name in ("images", "source_size", "batch_size", "repeats", "cli_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    if (args.warmup is not None and args.warmup < 0) or args.workers < 0:
        parser.error("--warmup and --workers must be at least 0")
    if args.images < args.batch_size:
        parser.error("--images must be at least --batch-size")
    return args


@contextlib.contextmanager
def private_cache(directory: Path) -> Iterator[None]:
    """Decodes go to ``directory``: the cache starts cold and the user's stays untouched."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(directory)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = before


def make_folder(root: Path, count: int, size: int) -> None:
    images = root / CLASS
    images.mkdir(parents=True)
    for index in range(count):
        render(0, index, size).save(images / f"{index:05d}.jpg", quality=90)


def time_cli(arguments: list[str], repeats: int) -> float:
    """Median wall seconds of ``python -m ganzoo ARGUMENTS``, after one untimed run (which
    warms the file cache and writes bytecode)."""
    command = [sys.executable, "-m", "ganzoo", *arguments]
    subprocess.run(command, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_decode(root: Path, resolution: int, repeats: int) -> tuple[float, float]:
    """Seconds of the first load (every file decoded) and the median cached load, by the
    ``folder`` plugin with the request the trainer makes, so its runs find the cache."""
    request = DataRequest(str(root), resolution, 3)
    start = time.perf_counter()
    store = folder.load(request)
    miss = time.perf_counter() - start
    assert store.cache == "miss", store.cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        store = folder.load(request)
        times.append(time.perf_counter() - start)
        assert store.cache == "hit", store.cache
    return miss, statistics.median(times)


class StepClock:
    """Stands in for a trainer's ``train_step`` (every attribute but the call is the step's
    own): reads the clock as each call starts (``stamps``), so the difference of two stamps
    covers whole loop iterations, the trainer's bookkeeping after each step included.
    Synchronising only at calls ``first`` and ``last`` leaves the GPU's queue between steps
    as it would be."""

    def __init__(self, step: Any, first: int, last: int, device: torch.device, profiler: Any):
        self.step, self.first, self.last = step, first, last
        self.device, self.profiler = device, profiler
        self.stamps: list[float] = []
        self.cache: str | None = None

    def __call__(self, ctx: Any) -> Any:
        calls = len(self.stamps)
        if calls in (self.first, self.last):
            synchronize(self.device)
            if self.profiler is not None:
                (self.profiler.start if calls == self.first else self.profiler.stop)()
        self.stamps.append(time.perf_counter())
        return self.step(ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["step"], name)

    def seconds(self) -> float:
        if len(self.stamps) <= self.last:
            raise RuntimeError(f"the trainer stopped after {len(self.stamps)} steps")
        return self.stamps[self.last] - self.stamps[self.first]


@contextlib.contextmanager
def clocked_trainer(
    first: int, last: int, device: torch.device, profiler: Any = None
) -> Iterator[list[StepClock]]:
    """While open, every ``Trainer.run`` puts a StepClock around its step (listed in the
    yielded list) and notes whether its data came from the decode cache."""
    original = Trainer.run
    clocks: list[StepClock] = []

    def run(trainer: Trainer) -> Any:
        clock = StepClock(trainer.train_step, first, last, device, profiler)
        clock.cache = trainer.plan.store.cache
        trainer.train_step = clock
        clocks.append(clock)
        return original(trainer)

    Trainer.run = run
    try:
        yield clocks
    finally:
        Trainer.run = original


def ganzoo_options(args: argparse.Namespace, data: Path, seed: int, out: Path) -> dict[str, Any]:
    # One step past the window, so its end is the start of a step (see StepClock).
    total = args.warmup + args.steps + 1
    return {
        "dataset": f"folder:{data}",
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "steps": total,
        "loss": "non-saturating",
        "ema": 0.0,
        "augment": None,
        "preset": "none",
        "precision": "fp32",
        "seed": seed,
        "device": str(args.device_resolved),
        "lr_g": LR,
        "lr_d": LR,
        "beta1": BETAS[0],
        "beta2": BETAS[1],
        "model_options": {"width": args.width, "latent_dim": LATENT_DIM},
        "log_every": LOG_EVERY,
        # After the loop, outside the window, the trainer still writes one of each.
        "sample_every": total + 1,
        "ckpt_every": total + 1,
        "out": str(out),
    }


def ganzoo_run(
    args: argparse.Namespace, data: Path, seed: int, out: Path, profiler: Any = None
) -> tuple[float, str | None]:
    """Seconds of ganzoo's timed steps, and whether the run's data load hit the cache."""
    first, last = args.warmup, args.warmup + args.steps
    device = args.device_resolved
    quiet = contextlib.redirect_stderr(io.StringIO())  # its notes and progress lines
    with clocked_trainer(first, last, device, profiler) as clocks, quiet:
        start_run("dcgan", ganzoo_options(args, data, seed, out))
    shutil.rmtree(out, ignore_errors=True)
    (clock,) = clocks
    return clock.seconds(), clock.cache


def plain_run(args: argparse.Namespace, data: Path, seed: int, profiler: Any = None) -> float:
    return plain_train(
        data,
        resolution=args.resolution,
        width=args.width,
        batch_size=args.batch_size,
        workers=args.workers,
        device=args.device_resolved,
        seed=seed,
        warmup=args.warmup,
        steps=args.steps,
        profiler=profiler,
    )


def summary(rates: list[float]) -> dict[str, Any]:
    return {"runs": rates, "median": statistics.median(rates), "min": min(rates), "max": max(rates)}


def profile(args: argparse.Namespace, data: Path, tmp: Path) -> None:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if args.device_resolved.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    runs = {
        "plain": lambda p: plain_run(args, data, 0, p),
        "ganzoo": lambda p: ganzoo_run(args, data, 0, tmp / "runs" / "profile", p),
    }
    for name, run in runs.items():
        profiler = torch.profiler.profile(activities=activities)
        run(profiler)
        print(f"\nprofile of {name}'s {args.steps} timed steps (not in the figures above):")
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    data = tmp / "images"
    start = time.perf_counter()
    make_folder(data, args.images, args.source_size)
    print(
        f"rendered {args.images} JPEGs ({args.source_size} px) in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    cli = {}
    for arguments in (["--help"], ["list"]):
        name = " ".join(["ganzoo", *arguments])
        cli[name] = time_cli(arguments, args.cli_repeats)
        print(f"{name:14s} {cli[name]:.3f} s (median of {args.cli_repeats})", flush=True)
    decode, cached = time_decode(data, args.resolution, args.repeats)
    print(
        f"first decode   {decode:.3f} s ({args.images} JPEGs -> {args.resolution} px); "
        f"cached load {cached * 1e3:.1f} ms (median of {args.repeats})",
        flush=True,
    )

    rates: dict[str, list[float]] = {"plain": [], "ganzoo": []}
    caches = []
    images = args.batch_size * args.steps
    for repeat in range(args.repeats):
        order = ["plain", "ganzoo"] if repeat % 2 == 0 else ["ganzoo", "plain"]
        for name in order:
            if name == "plain":
                seconds = plain_run(args, data, repeat)
            else:
                seconds, hit = ganzoo_run(args, data, repeat, tmp / "runs" / str(repeat))
                caches.append(hit)
            rates[name].append(images / seconds)
            print(
                f"repeat {repeat + 1}/{args.repeats} {name:6s} {images / seconds:9.1f} images/s "
                f"({args.steps} steps in {seconds:.2f} s)",
                flush=True,
            )
    if args.profile:
        profile(args, data, tmp)
    plain, ganzoo = summary(rates["plain"]), summary(rates["ganzoo"])
    return {
        "device": str(args.device_resolved),
        "plain": plain,
        "ganzoo": ganzoo,
        "ratio": ganzoo["median"] / plain["median"],
        "ganzoo_cache": caches,
        "cli": cli,
        "decode_s": decode,
        "cached_s": cached,
    }


def table(result: dict[str, Any], args: argparse.Namespace) -> str:
    n = args.repeats
    rows = [
        f"| loop | images/s (median of {n}) | min – max | ganzoo / plain |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "plain": f"hand-written (ImageFolder, {args.workers} workers)",
        "ganzoo": "ganzoo trainer",
    }
    for name, label in labels.items():
        s = result[name]
        ratio = f"{result['ratio']:.2f}" if name == "ganzoo" else "1"
        rows.append(f"| {label} | {s['median']:.1f} | {s['min']:.1f} – {s['max']:.1f} | {ratio} |")
    rows += ["", "| what | wall time |", "|---|---:|"]
    for name, seconds in result["cli"].items():
        rows.append(f"| `{name}` (median of {args.cli_repeats}) | {seconds:.3f} s |")
    rows.append(
        f"| first decode of {args.images} JPEGs ({args.source_size} px -> "
        f"{args.resolution} px) | {result['decode_s']:.2f} s |"
    )
    rows.append(f"| cached load of them (median of {n}) | {result['cached_s'] * 1e3:.1f} ms |")
    return "\n".join(rows)


def section_text(result: dict[str, Any], args: argparse.Namespace, wall: float) -> str:
    return "\n".join(
        [
            f"Command: `{command_line()}` — {time.strftime('%Y-%m-%d')}, wall time "
            f"{wall / 60:.1f} min.",
            "",
            f"Machine: {machine()}; device {result['device']}.",
            "",
            f"Both loops train dcgan (width {args.width}, latent 100) at {args.resolution} px, "
            f"batch size {args.batch_size}, fp32, Adam 2e-4 / (0.5, 0.999), the non-saturating "
            f"loss, no EMA, no augmentation, on the same folder of {args.images} JPEGs "
            f"(quality 90, the procedural `shapes` set at {args.source_size} px). The "
            "hand-written loop (`benchmarks/plain_dcgan.py`) decodes every file every epoch "
            "through torchvision's ImageFolder (Resize, CenterCrop, ToTensor, Normalize) and a "
            "shuffling DataLoader and runs G once a step; ganzoo's trainer reads the decoded "
            "folder from its cache and runs its alternating step (G once a step too, its "
            "fakes reused for G's update with D's weight gradients off).",
            "",
            f"Timed: {args.steps} steps after {args.warmup} untimed ones, per run; "
            f"{args.repeats} runs of each loop in one process, alternating which goes first. "
            "The window holds everything the loop does each step (fetching the batch, both "
            f"updates, ganzoo's metric bookkeeping and a log line every {LOG_EVERY} steps); "
            "it leaves out start-up (imports, model and optimiser construction, the data "
            "load) and ganzoo's run-folder writes before its loop and after it (the final "
            "checkpoint and picture). On CUDA the clock is read after synchronising. "
            "Images/s is batch size × steps / seconds; one step is one D and one G update.",
            "",
            table(result, args),
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.device_resolved = resolve_device(args.device)
    steps, warmup = DEFAULT_STEPS[args.device_resolved.type]
    args.steps = steps if args.steps is None else args.steps
    args.warmup = warmup if args.warmup is None else args.warmup
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with private_cache(tmp / "cache"):
            result = measure(args, tmp)
    wall = time.perf_counter() - start
    rows = table(result, args)
    print()
    print(rows)
    print(f"\nwall time: {wall:.0f} s")
    if args.out != "-":
        kind = args.device_resolved.type
        device = "CUDA" if kind == "cuda" else "CPU"
        write_section(
            Path(args.out), f"throughput_{kind}", section_text(result, args, wall),
            f"{HEADING} ({device})",
        )  # fmt: skip
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
