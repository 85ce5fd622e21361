"""How long a checkpoint and a sample grid hold up the step loop: written in the loop (the
baseline) against handed to ganzoo's background writer.

    .venv/bin/python benchmarks/background_writes.py [--model dcgan] [--resolution 64]
        [--width 64] [--batch-size 16] [--steps 60] [--every 10] [--repeats 3]
        [--out docs/benchmarks.md|-]

Trains ``--model`` on the embedded default data with a checkpoint and a picture every
``--every`` steps, ``--repeats`` times each way, alternating, in one process. The clock is
read as each step starts, so a loop iteration's time is its step plus whatever the trainer
did after it. The stall of a write is the iteration that wrote it minus the median iteration
that wrote nothing; the figure is the median stall over every write of every run (the last
step's writes, after the loop, are not counted). Prints the stalls, the checkpoint size, and
the ratio inline / background, and writes them between ``<!-- background_writes:begin -->``
and ``<!-- background_writes:end -->`` in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from machine import machine
from report import command_line, write_section
from throughput import clocked_trainer

from ganzoo.core.training.session import start_run
from ganzoo.core.training.trainer import Trainer

HEADING = "## Checkpoint and picture writes off the step loop (CPU-2)"


def run_once(args: argparse.Namespace, background: bool, out: Path) -> tuple[list[float], int]:
    """The stalls of one run's writes (seconds) and its last checkpoint's size in bytes."""
    options = {
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "ckpt_every": args.every,
        "sample_every": args.every,
        "keep": 3,
        "log_every": args.every,
        "preset": "none",
        "model_options": {"width": args.width},
        "out": str(out),
    }
    Trainer.write_in_background = background
    try:
        quiet = contextlib.redirect_stderr(io.StringIO())
        with clocked_trainer(0, args.steps - 1, torch.device("cpu")) as clocks, quiet:
            result = start_run(args.model, options)
    finally:
        Trainer.write_in_background = True
    (clock,) = clocks
    gaps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:])]
    # gaps[i] is step i+1's iteration: it wrote after steps that are multiples of --every.
    writing = [i for i in range(len(gaps)) if (i + 1) % args.every == 0]
    quiet = statistics.median(g for i, g in enumerate(gaps) if i not in writing)
    return [gaps[i] - quiet for i in writing], result.checkpoint.stat().st_size


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.steps <= args.every or min(args.every, args.repeats) < 1:
        parser.error("--steps must exceed --every, and both --every and --repeats be >= 1")
    stalls: dict[str, list[float]] = {"inline": [], "background": []}
    size = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = ["inline", "background"] if repeat % 2 == 0 else ["background", "inline"]
            for name in order:
                found, size = run_once(args, name == "background", Path(tmp) / f"{name}{repeat}")
                stalls[name] += found
                shown = ", ".join(f"{s * 1e3:.0f}" for s in found)
                print(f"repeat {repeat + 1}/{args.repeats} {name:10s} stalls ms: {shown}")
    inline, background = (statistics.median(stalls[k]) for k in ("inline", "background"))
    ratio = inline / max(background, 1e-9)
    rows = [
        "| writes | median stall per checkpoint + picture | writes counted |",
        "| --- | ---: | ---: |",
        f"| in the loop (baseline) | {inline * 1e3:.0f} ms | {len(stalls['inline'])} |",
        f"| background writer | {background * 1e3:.0f} ms | {len(stalls['background'])} |",
    ]
    text = "\n".join(
        [
            f"Command: `{command_line()}` — {time.strftime('%Y-%m-%d')}, wall time "
            f"{(time.perf_counter() - start) / 60:.1f} min. Machine: {machine()}.",
            "",
            f"{args.model} width {args.width} at {args.resolution} px, batch {args.batch_size},"
            f" a checkpoint ({size / 1e6:.1f} MB) and a picture every {args.every} steps. The "
            "stall is the loop iteration that wrote minus the median one that did not; the "
            "background writer's is the copy of the state and the picture's forward pass.",
            "",
            *rows,
            "",
            f"Inline / background: **{ratio:.1f}x** less time the loop waits per write.",
        ]
    )
    print("\n" + text)
    if args.out != "-":
        write_section(Path(args.out), "background_writes", text, HEADING)
        print(f"wrote {args.out}")
    return {"inline": inline, "background": background, "ratio": ratio, "bytes": size}


if __name__ == "__main__":
    main()
