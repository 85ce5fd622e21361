"""GPU training speed, one technique at a time: an ablation against a hand-written loop.

    .venv/bin/python benchmarks/gpu_ablation.py [--batch-sizes 256] [--i2i-batch-sizes
        64,256,1024] [--families dcgan,pix2pix,cyclegan] [--steps 200] [--warmup 30]
        [--i2i-steps 50] [--i2i-warmup 10] [--repeats 3] [--images 4096] [--workers 8]
        [--peak-tflops 790] [--out docs/benchmarks.md|-]

Needs a CUDA GPU; on a machine without one it says so in one line and exits with code 2.

DCGAN (width 64, latent 100) at 64x64, at each of ``--batch-sizes``, in one process:

* the hand-written loop of ``benchmarks/plain_dcgan.py`` (ImageFolder decoding ``--images``
  JPEGs every epoch through a DataLoader with ``--workers`` workers, fp32, torch's default
  Adam, ``.to(device)`` of each batch);
* ganzoo's trainer with every speed setting off: fp32, batches gathered on the host and
  streamed to the GPU (pinned memory, one batch ahead), the contiguous layout, torch's
  default (foreach) Adam, no compilation (``--data-placement host --memory-format
  contiguous --fused-adam off``);
* then adding one technique at a time, each row keeping the ones above it: the data set on
  the GPU as uint8 (``--data-placement device``), bf16 autocast (``--precision bf16``),
  channels_last (``--memory-format channels_last``), fused Adam (``--fused-adam on``) and
  ``--compile``.

The image-to-image families (``pix2pix`` on ``edges2shapes``, ``cyclegan`` on
``shapestyles``) at 128x128 and each of ``--i2i-batch-sizes`` get the ganzoo rows of a
shorter ladder: everything off, the CUDA defaults (data on the GPU, channels_last, fused
Adam; fp32), + bf16, + ``--compile``. A configuration that runs out of GPU memory is
reported as such.

Every ganzoo run is ``start_run`` with ``--preset none``, no EMA and no augmentation, the
family's default loss; its clock is ``throughput.StepClock``'s: ``--steps`` timed steps
after ``--warmup`` untimed ones (compilation happens in those), synchronised at both ends.
Images/s is batch size x steps / seconds (one step is one D and one G update; CycleGAN's
step takes one image of each domain, counted once), the median of ``--repeats`` runs.

FLOPs per image: ``torch.utils.flop_counter.FlopCounterMode`` over one training step of the
family (both updates, forward and backward; matrix products and convolutions, which is
what it counts), divided by the batch size. TFLOP/s = FLOPs per image x images/s, also as a
fraction of ``--peak-tflops`` (790: the bf16 dense peak the issue takes for an H100; the
fp32 rows are measured against the same figure). Writes the table between
``<!-- throughput_gpu:begin -->`` and ``<!-- throughput_gpu:end -->`` in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from machine import machine
from plain_dcgan import BETAS, LATENT_DIM, LR
from plain_dcgan import train as plain_train
from report import command_line, write_section
from throughput import clocked_trainer, make_folder, private_cache
from torch.utils.flop_counter import FlopCounterMode

from ganzoo.core.build import build_loss, build_model, build_step, split_options
from ganzoo.core.training import session
from ganzoo.core.training.config import TrainConfig
from ganzoo.core.training.optimizers import build_optimizers
from ganzoo.core.training.steps import StepContext
from ganzoo.zoo.catalog import get_catalog

SECTION = "throughput_gpu"
HEADING = "## Throughput on a GPU: what each technique adds"
PEAK_TFLOPS = 790.0
LOG_EVERY = 50
DCGAN_WIDTH = 64
DCGAN_RESOLUTION = 64
I2I_RESOLUTION = 128
I2I_DATASETS = {"pix2pix": "edges2shapes", "cyclegan": "shapestyles"}

EVERYTHING_OFF = {
    "precision": "fp32",
    "data_placement": "host",
    "memory_format": "contiguous",
    "fused_adam": "off",
    "compile": False,
}
# (row label, what it changes), each row keeping the changes above it.
DCGAN_LADDER = (
    ("fp32, everything off", {}),
    ("+ data on the GPU (uint8)", {"data_placement": "device"}),
    ("+ bf16 autocast", {"precision": "bf16"}),
    ("+ channels_last", {"memory_format": "channels_last"}),
    ("+ fused Adam", {"fused_adam": "on"}),
    ("+ --compile", {"compile": True}),
)
I2I_LADDER = (
    ("fp32, everything off", {}),
    (
        "CUDA defaults (fp32)",
        {"data_placement": "auto", "memory_format": "auto", "fused_adam": "auto"},
    ),  # fmt: skip
    ("+ bf16 autocast", {"precision": "bf16"}),
    ("+ --compile", {"compile": True}),
)


class NoGPU(SystemExit):
    """Raised by ``main`` where torch sees no CUDA device."""


def ladder(steps: tuple[tuple[str, dict[str, Any]], ...]) -> list[tuple[str, dict[str, Any]]]:
    """Each row's full speed settings: everything off, then each change added to the last."""
    settings, out = dict(EVERYTHING_OFF), []
    for label, change in steps:
        settings = {**settings, **change}
        out.append((label, dict(settings)))
    return out


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"expected batch sizes like 64,256; got {text!r}")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=parse_sizes, default=[256], help="DCGAN's")
    parser.add_argument("--i2i-batch-sizes", type=parse_sizes, default=[64, 256, 1024])
    parser.add_argument("--families", default="dcgan,pix2pix,cyclegan")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per DCGAN run")
    parser.add_argument("--warmup", type=int, default=30, help="untimed steps before them")
    parser.add_argument("--i2i-steps", type=int, default=50, help="timed steps, pix2pix/cyclegan")
    parser.add_argument("--i2i-warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--images", type=int, default=4096, help="DCGAN's JPEGs; i2i pairs")
    parser.add_argument("--workers", type=int, default=8, help="DataLoader workers (plain)")
    parser.add_argument("--peak-tflops", type=float, default=PEAK_TFLOPS)
    parser.add_argument("--out", default="docs/benchmarks.md", help="PATH, or - to print only")
    args = parser.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = set(args.families) - {"dcgan", *I2I_DATASETS}
    if unknown or not args.families:
        parser.error(f"--families: dcgan, pix2pix, cyclegan; got {args.families}")
    for name in ("steps", "i2i_steps", "repeats", "images"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.warmup, args.i2i_warmup, args.workers) < 0 or args.peak_tflops <= 0:
        parser.error("--warmup, --i2i-warmup and --workers must be >= 0, --peak-tflops > 0")
    largest = max([*args.batch_sizes, *args.i2i_batch_sizes])
    if args.images < largest:
        parser.error(f"--images must be at least the largest batch size ({largest})")
    return args


# --- FLOPs ---------------------------------------------------------------------------------


def _random_field(name: str, shape: tuple[int, ...], n: int, gen: torch.Generator) -> torch.Tensor:
    if name not in ("x", "source", "target", "a", "b"):
        raise ValueError(f"no stand-in for the field {name!r}")
    return torch.rand((n, *shape), generator=gen, device=gen.device) * 2 - 1


def step_flops(
    model: str,
    data_shape: tuple[int, ...],
    batch_size: int,
    device: torch.device,
    model_options: dict[str, Any] | None = None,
) -> int:
    """FLOPs of one training step of ``model`` (its family's step with its default loss: the
    D and G updates, forward and backward) on a batch of random images, as
    ``FlopCounterMode`` counts them (matrix products and convolutions)."""
    catalog = get_catalog()
    entry = catalog.model(model)
    torch.manual_seed(0)
    gan, _ = build_model(model, data_shape, model_options or {}, catalog)
    gan = gan.to(device).train()
    loss, _, _ = build_loss(entry.info.default_loss or "non-saturating", {}, catalog)
    step = build_step(entry, gan)
    networks = {name: gan.network(name) for name in entry.info.networks}
    optimizers = build_optimizers(gan, entry.info.optimizers, TrainConfig(model=model))
    gen = torch.Generator(device).manual_seed(0)
    batch = {name: _random_field(name, data_shape, batch_size, gen) for name in entry.info.needs}
    generator = networks.get("generator")

    def latent(n: int) -> torch.Tensor:
        return generator.sample_latent(n, generator=gen)

    ctx = StepContext(
        networks=networks, optimizers=optimizers, loss=loss, d_steps=1, batch_size=batch_size,
        next_batch=lambda: batch, latent=latent, autocast=contextlib.nullcontext, noise=gen,
        options=split_options(entry, gan.config)[1],
    )  # fmt: skip
    with FlopCounterMode(display=False) as counter:
        step(ctx)
    return counter.get_total_flops()


# --- runs ----------------------------------------------------------------------------------


@contextlib.contextmanager
def reused_data() -> Iterator[None]:
    """Procedural data sets made once per request, not once per run (rendering thousands of
    128 px pairs takes longer than training on them; the timed steps never include it)."""
    original, made = session.load_dataset, {}

    def load(spec: str, request: Any, catalog: Any = None) -> Any:
        key = (spec, request.resolution, request.channels, request.size, request.seed,
               request.direction, request.needs)  # fmt: skip
        if key not in made:
            made[key] = original(spec, request, catalog)
        return made[key]

    session.load_dataset = load
    try:
        yield
    finally:
        session.load_dataset = original


def ganzoo_seconds(
    model: str,
    options: dict[str, Any],
    warmup: int,
    steps: int,
    device: torch.device,
    out: Path,
    notes: list[str],
) -> float:
    """Seconds of ``steps`` timed steps of a ganzoo run after ``warmup`` untimed ones; the
    run's ``--compile`` notes (a fallback to eager) go to ``notes``."""
    total = warmup + steps + 1  # one past the window: its end is the start of a step
    run = dict(
        options, steps=total, ema=0.0, augment=None, preset="none", device=str(device),
        log_every=LOG_EVERY, sample_every=total + 1, ckpt_every=total + 1, out=str(out),
    )  # fmt: skip
    captured = io.StringIO()
    try:
        # Its notes and progress lines are kept out of the report.
        with (
            clocked_trainer(warmup, warmup + steps, device) as clocks,
            contextlib.redirect_stderr(captured),
        ):
            session.start_run(model, run)
    finally:
        shutil.rmtree(out, ignore_errors=True)
        notes += [line for line in captured.getvalue().splitlines() if "--compile" in line]
    (clock,) = clocks
    return clock.seconds()


def timed(measure: Callable[[], float], images: int) -> float | None:
    """Images/s of one run, or None when it ran out of GPU memory."""
    try:
        seconds = measure()
    except torch.OutOfMemoryError:
        return None
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return images / seconds


def _shown(rate: float | None) -> str:
    return "out of GPU memory" if rate is None else f"{rate:10.1f} images/s"


def summary(rates: list[float | None]) -> dict[str, Any]:
    done = [r for r in rates if r is not None]
    if not done:
        return {"runs": rates, "median": None, "min": None, "max": None}
    return {"runs": rates, "median": statistics.median(done), "min": min(done), "max": max(done)}


def family_rows(
    model: str,
    base: dict[str, Any],
    rungs: tuple,
    timing: tuple[int, int, int],
    device: torch.device,
    tmp: Path,
) -> list[dict[str, Any]]:
    """One row per configuration of the ladder ``rungs``: images/s of ``model`` trained
    with ``base`` options; ``timing`` is (warm-up steps, timed steps, repeats). Every run
    of DCGAN has its own seed; the others train on one data set (seed 0), made once."""
    warmup, steps, repeats = timing
    batch_size = base["batch_size"]
    rows = []
    for label, settings in ladder(rungs):
        rates: list[float | None] = []
        notes: list[str] = []
        for repeat in range(repeats):
            seed = repeat if model == "dcgan" else 0
            options = dict(base, seed=seed, **settings)
            out = tmp / "runs" / f"{model}-{batch_size}-{len(rows)}-{repeat}"
            rate = timed(
                lambda options=options, out=out, notes=notes: ganzoo_seconds(
                    model, options, warmup, steps, device, out, notes
                ),
                batch_size * steps,
            )
            rates.append(rate)
            print(f"{model} b{batch_size} {label:28s} {repeat + 1}/{repeats} {_shown(rate)}",
                  flush=True)  # fmt: skip
            if rate is None:
                break  # the same configuration will not fit the next time either
        for note in sorted(set(notes)):
            print(f"  {note}", flush=True)
        # A --compile run that fell back to eager did not measure compilation.
        fell_back = any("compiling failed" in n or "cannot compile" in n for n in notes)
        label = f"{label} (fell back to eager)" if fell_back else label
        rows.append({"label": label, "settings": settings, **summary(rates)})
    return rows


def plain_row(
    args: argparse.Namespace, data: Path, batch_size: int, device: torch.device
) -> dict[str, Any]:
    rates: list[float | None] = []
    for repeat in range(args.repeats):

        def measure(seed: int = repeat) -> float:
            return plain_train(
                data, resolution=DCGAN_RESOLUTION, width=DCGAN_WIDTH, batch_size=batch_size,
                workers=args.workers, device=device, seed=seed, warmup=args.warmup,
                steps=args.steps,
            )  # fmt: skip

        rate = timed(measure, batch_size * args.steps)
        rates.append(rate)
        print(f"dcgan b{batch_size} {'plain loop':28s} {repeat + 1}/{args.repeats} "
              f"{_shown(rate)}", flush=True)  # fmt: skip
    label = f"hand-written loop ({args.workers} DataLoader workers)"
    return {"label": label, "settings": None, **summary(rates)}


def measure(args: argparse.Namespace, device: torch.device, tmp: Path) -> list[dict[str, Any]]:
    """Every table: one per family and batch size."""
    tables = []
    if "dcgan" in args.families:
        data = tmp / "images"
        make_folder(data, args.images, DCGAN_RESOLUTION)
        base = {
            "dataset": f"folder:{data}", "resolution": DCGAN_RESOLUTION, "loss": "non-saturating",
            "lr_g": LR, "lr_d": LR, "beta1": BETAS[0], "beta2": BETAS[1],
            "model_options": {"width": DCGAN_WIDTH, "latent_dim": LATENT_DIM},
        }  # fmt: skip
        shape = (3, DCGAN_RESOLUTION, DCGAN_RESOLUTION)
        for batch_size in args.batch_sizes:
            flops = step_flops("dcgan", shape, batch_size, device, base["model_options"])
            rows = [plain_row(args, data, batch_size, device)]
            timing = (args.warmup, args.steps, args.repeats)
            options = dict(base, batch_size=batch_size)
            rows += family_rows("dcgan", options, DCGAN_LADDER, timing, device, tmp)
            tables.append({"model": "dcgan", "batch_size": batch_size, "resolution":
                           DCGAN_RESOLUTION, "flops_per_image": flops / batch_size,
                           "rows": rows})  # fmt: skip
    with reused_data():
        for model in (m for m in I2I_DATASETS if m in args.families):
            base = {"dataset": I2I_DATASETS[model], "resolution": I2I_RESOLUTION,
                    "dataset_size": args.images}  # fmt: skip
            shape = (3, I2I_RESOLUTION, I2I_RESOLUTION)
            for batch_size in args.i2i_batch_sizes:
                try:
                    flops = step_flops(model, shape, batch_size, device) / batch_size
                except torch.OutOfMemoryError:
                    flops = None
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                timing = (args.i2i_warmup, args.i2i_steps, args.repeats)
                options = dict(base, batch_size=batch_size)
                rows = family_rows(model, options, I2I_LADDER, timing, device, tmp)
                tables.append({"model": model, "batch_size": batch_size, "resolution":
                               I2I_RESOLUTION, "flops_per_image": flops, "rows": rows})  # fmt: skip
    return tables


# --- report --------------------------------------------------------------------------------


def _number(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(tables: list[dict[str, Any]], repeats: int, peak_tflops: float) -> str:
    """One markdown table: each family and batch size, each configuration."""
    lines = [
        f"| model | batch | configuration | images/s (median of {repeats}) | min – max | "
        f"× plain loop | × everything off | TFLOP/s | of {peak_tflops:g} TFLOP/s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in tables:
        rows = entry["rows"]
        plain = next((r["median"] for r in rows if r["settings"] is None), None)
        off = next((r["median"] for r in rows if r["settings"] == EVERYTHING_OFF), None)
        flops = entry["flops_per_image"]
        for row in rows:
            rate = row["median"]
            if rate is None:
                cells = ["out of GPU memory", "—", "—", "—", "—", "—"]
            else:
                achieved = None if flops is None else flops * rate / 1e12
                cells = [
                    f"{rate:,.0f}",
                    f"{row['min']:,.0f} – {row['max']:,.0f}",
                    _number(None if plain is None else rate / plain, ".2f"),
                    _number(None if off is None else rate / off, ".2f"),
                    _number(achieved, ".1f"),
                    _number(None if achieved is None else 100 * achieved / peak_tflops, ".1f")
                    + ("" if achieved is None else " %"),
                ]
            size = f"{entry['model']} {entry['resolution']} px"
            lines.append(f"| {size} | {entry['batch_size']} | {row['label']} | "
                         + " | ".join(cells) + " |")  # fmt: skip
    lines.append("")
    for entry in tables:
        if entry["flops_per_image"] is not None:
            lines.append(
                f"- {entry['model']} at {entry['resolution']} px, batch {entry['batch_size']}: "
                f"{entry['flops_per_image'] / 1e9:.2f} GFLOP per image per training step"
            )
    return "\n".join(lines)


def section_text(tables: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    return "\n".join(
        [
            f"Command: `{command_line()}` — {time.strftime('%Y-%m-%d')}, wall time "
            f"{wall / 60:.1f} min.",
            "",
            f"Machine: {machine()}.",
            "",
            "Rows below a family's first add one technique each and keep the ones above. "
            '"Everything off": fp32, batches gathered on the host and streamed to the GPU '
            "(pinned, one batch ahead), contiguous layout, torch's default Adam, no "
            "compilation. The hand-written loop is `benchmarks/plain_dcgan.py` (ImageFolder "
            f"decoding {args.images} JPEGs every epoch, {args.workers} DataLoader workers). "
            f"DCGAN: {args.steps} timed steps after {args.warmup}; pix2pix and CycleGAN: "
            f"{args.i2i_steps} after {args.i2i_warmup}; the median of {args.repeats} runs. "
            "TFLOP/s counts matrix products and convolutions "
            "(`torch.utils.flop_counter`) of one training step, forward and backward; the "
            f"fraction is of {args.peak_tflops:g} TFLOP/s, the bf16 dense peak, for every "
            "row.",
            "",
            table(tables, args.repeats, args.peak_tflops),
        ]
    )


def require_cuda() -> torch.device:
    if not torch.cuda.is_available():
        print(
            "gpu_ablation.py measures training on a CUDA GPU, and torch sees none here",
            file=sys.stderr,
        )
        raise NoGPU(2)
    return torch.device("cuda")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    device = require_cuda()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with private_cache(tmp / "cache"):
            tables = measure(args, device, tmp)
    wall = time.perf_counter() - start
    print()
    print(table(tables, args.repeats, args.peak_tflops))
    print(f"\nwall time: {wall:.0f} s")
    if args.out != "-":
        write_section(Path(args.out), SECTION, section_text(tables, args, wall), HEADING)
        print(f"wrote {args.out}")
    return tables


if __name__ == "__main__":
    main()
