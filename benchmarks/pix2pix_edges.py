"""pix2pix on edges2shapes: held-out L1 and PSNR against two trivial baselines.

    .venv/bin/python benchmarks/pix2pix_edges.py [--directions BtoA,AtoB] [--resolution 32]
        [--width 16] [--steps 2000] [--batch-size 16] [--train-size 16384] [--test-size 500]
        [--train-seed 0] [--test-seed 1] [--loss non-saturating] [--l1-weight 100]
        [--ema 0] [--max-width 512] [--lr LR] [--beta1 B1] [--beta2 B2]
        [--lr-decay 0] [--threads 1] [--runs-dir DIR]

Unset, ``--lr``/``--beta1``/``--beta2`` leave Adam to the loss (WGAN-GP's own) or to pix2pix
(the paper's 2e-4, 0.5/0.999); the run never takes a preset, so each row means what its flags
say.

For each direction, trains ``pix2pix`` on ``edges2shapes`` pairs generated with
``--train-seed`` (``--direction AtoB``: edge map -> picture; ``BtoA``: picture -> edge map),
then translates held-out pairs generated with ``--test-seed`` (another stream of layouts:
none was seen in training) with the final checkpoint's generator in eval mode (running
batch-norm statistics, no dropout: what ``ganzoo translate`` does). Every prediction is
quantised to 8 bits, like a saved image, and compared with the true target:

* L1: mean absolute error per channel value, on the [0, 1] scale (lower is better);
* PSNR: 10 log10(1 / MSE) per image, averaged over the held-out images (higher is better).

Baselines: the mean training target (the best constant prediction in squared error) and the
input itself (the identity translation). Prints a markdown table with the command line and
the wall time. Nothing is downloaded.

What to expect: both directions are well posed. The sketch is a function of the picture,
and edges2shapes paints like a colouring book (each kind of shape its own hue, its shade
set by its size, one paper ground), so the picture is a function of the sketch too, up to
what a 32-pixel line drawing can show. pix2pix beats both baselines clearly in each.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import torch
from machine import machine
from report import command_line
from safetensors import safe_open

from ganzoo.core.build import build_model
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets import edges2shapes


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1]."""
    return images.float() / 255.0


def quantise(model_space: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> 8-bit values -> [0, 1], as a saved picture would hold them."""
    return torch.round((model_space.clamp(-1, 1) + 1) * 127.5) / 255.0


def scores(prediction: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Mean L1 and mean per-image PSNR of predictions in [0, 1] against the truth."""
    diff = prediction - truth
    mse = diff.square().flatten(1).mean(1).clamp_min(1e-10)
    return {"l1": diff.abs().mean().item(), "psnr": (10 * torch.log10(1.0 / mse)).mean().item()}


def load_generator(checkpoint: Path, data_shape: tuple[int, ...], options: dict) -> torch.nn.Module:
    """The run's generator (its average when the run kept one), in eval mode."""
    model, _ = build_model("pix2pix", data_shape, options)
    generator = model.generator
    with safe_open(str(checkpoint), framework="pt") as handle:
        keys = list(handle.keys())
        prefix = (
            "generator_ema." if any(k.startswith("generator_ema.") for k in keys) else "generator."
        )
        state = {k[len(prefix) :]: handle.get_tensor(k) for k in keys if k.startswith(prefix)}
    generator.load_state_dict(state)
    return generator.eval()


@torch.no_grad()
def translate(generator: torch.nn.Module, sources: torch.Tensor, batch: int = 100) -> torch.Tensor:
    out = [
        generator(to_unit(sources[i : i + batch]) * 2 - 1) for i in range(0, len(sources), batch)
    ]
    return quantise(torch.cat(out))


def _or_default(value: float | None) -> str:
    return "default" if value is None else f"{value:g}"


TASKS = {"AtoB": "edge map -> picture", "BtoA": "picture -> edge map"}
TARGETS = {"AtoB": "picture", "BtoA": "edge map"}
MEAN_OVER = 4096  # training pairs the mean picture is taken over (a prefix of the set)


def train(direction: str, args: argparse.Namespace, runs: str) -> tuple[torch.nn.Module, float]:
    """Train pix2pix one way; its generator and the training wall time."""
    res, channels = args.resolution, 3
    options = {"width": args.width, "max_width": args.max_width, "l1_weight": args.l1_weight}
    settings = dict(
        dataset="edges2shapes",
        direction=direction,
        resolution=res,
        channels=channels,
        dataset_size=args.train_size,
        batch_size=args.batch_size,
        steps=args.steps,
        seed=args.train_seed,
        loss=args.loss,
        ema=args.ema,
        lr_decay=args.lr_decay,
        # Every setting is on the command line: no preset fills in the rest.
        preset="none",
        model_options=options,
        log_every=max(1, args.steps // 10),
        sample_every=args.steps,
        ckpt_every=args.steps,
    )
    # Unset: the loss's own Adam (WGAN-GP's), else pix2pix's (the paper's 2e-4, 0.5/0.999).
    optimiser = {"lr_g": args.lr, "lr_d": args.lr, "beta1": args.beta1, "beta2": args.beta2}
    settings.update({k: v for k, v in optimiser.items() if v is not None})
    out = Path(runs) / f"pix2pix-edges2shapes-{direction}-{res}px-seed{args.train_seed}"
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the progress lines
        result = start_run("pix2pix", dict(settings, out=out))
    elapsed = time.perf_counter() - t0
    return load_generator(result.checkpoint, (channels, res, res), options), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directions", default="BtoA,AtoB", help="AtoB, BtoA or both")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="pix2pix -o width")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--train-size", type=int, default=16384, help="training pairs")
    parser.add_argument("--test-size", type=int, default=500, help="held-out pairs")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--loss", default="non-saturating")
    parser.add_argument("--l1-weight", type=float, default=100.0)
    parser.add_argument("--ema", type=float, default=0.0)
    parser.add_argument("--max-width", type=int, default=512, help="pix2pix -o max_width")
    parser.add_argument("--lr", type=float, default=None, help="Adam lr of G and D")
    parser.add_argument("--beta1", type=float, default=None)
    parser.add_argument("--beta2", type=float, default=None)
    parser.add_argument("--lr-decay", type=float, default=0.0, help="--lr-decay FRACTION")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--runs-dir", default=None, help="keep the run folders here")
    args = parser.parse_args()
    directions = args.directions.split(",")
    if not directions or any(d not in TASKS for d in directions):
        parser.error("--directions takes AtoB, BtoA or AtoB,BtoA")
    if args.train_seed == args.test_seed:
        parser.error("--test-seed must differ from --train-seed (held-out pairs)")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    res, channels = args.resolution, 3
    # Pairs of another seed: layouts never seen in training. Both sides of the training
    # prefix give the mean training picture and the mean training edge map.
    sides = dict(zip("AB", edges2shapes.generate(args.test_size, res, channels, args.test_seed)))
    seen = edges2shapes.generate(min(args.train_size, MEAN_OVER), res, channels, args.train_seed)
    means = {side: to_unit(t).mean(0, keepdim=True) for side, t in zip("AB", seen)}

    rows, times = [], {}
    with contextlib.ExitStack() as stack:
        runs = args.runs_dir or stack.enter_context(tempfile.TemporaryDirectory())
        for direction in directions:
            src, tgt = ("A", "B") if direction == "AtoB" else ("B", "A")
            generator, times[direction] = train(direction, args, runs)
            truth = to_unit(sides[tgt])
            predictions = {
                f"pix2pix ({args.steps} steps)": translate(generator, sides[src]),
                f"mean training {TARGETS[direction]}": quantise(means[tgt] * 2 - 1).expand_as(
                    truth
                ),
                "the input itself (identity)": to_unit(sides[src]),
            }
            for name, prediction in predictions.items():
                rows.append((TASKS[direction], direction, name, scores(prediction, truth)))
    wall = time.perf_counter() - start

    command = command_line()
    trained = ", ".join(f"{d} {t / 60:.1f} min" for d, t in times.items())
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}. Wall time {wall / 60:.1f} min (training: {trained}).",
        "",
        f"pix2pix {res}x{res}, width {args.width}, max_width {args.max_width}, batch "
        f"{args.batch_size}, loss {args.loss}, l1_weight {args.l1_weight:g}, ema {args.ema:g}, "
        f"Adam lr {_or_default(args.lr)}, betas {_or_default(args.beta1)}/"
        f"{_or_default(args.beta2)}, lr decay {args.lr_decay:g}; trained on {args.train_size} "
        f"pairs (seed {args.train_seed}), scored on {args.test_size} held-out pairs "
        f"(seed {args.test_seed}). L1 on the [0, 1] scale; PSNR per image, averaged.",
        "",
        "| task | prediction of the target | L1 (lower is better) | PSNR dB (higher is better) |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {task} (`--direction {d}`) | {name} | {s['l1']:.4f} | {s['psnr']:.2f} |"
        for task, d, name, s in rows
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
