"""Hole filling on held-out ``shapes`` images: the ``inpainting`` model against two baselines.

    .venv/bin/python benchmarks/inpainting_shapes.py [--steps 600] [--resolution 32]
        [--width 16] [--batch-size 16] [--eval-size 512] [--threads 2] [--out FILE]

Trains ``inpainting`` on ``shapes`` (seed ``--train-seed``), then fills fixed random holes
(``masks.fixed_masks``: rectangles and free-form strokes alternating, 10-40% of the image,
seed ``--mask-seed``) in ``--eval-size`` held-out ``shapes`` images drawn with another seed
(``--eval-seed``), and scores every method by the PSNR inside the hole (per image, over
the hole's pixels and channels, pixel range [0, 1]; then averaged over images):

- mean fill: each hole takes the mean colour of its image's known pixels;
- blur fill: a Gaussian blur of the known pixels (normalised convolution, sigma = an
  eighth of the side), the classic one-pass fill;
- diffusion fill: the known pixels diffused into the hole (harmonic inpainting: Gaussian
  blurs repeated with the known pixels held fixed, until the hole changes by < 1e-5,
  started from the blur fill), a much stronger classical baseline on flat-coloured images;
- the model: ``generator(image, mask)`` composited as ``out * mask + image * (1 - mask)``.

Prints one Markdown table (and writes it to ``--out`` when given). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from machine import machine
from report import command_line
from safetensors import safe_open
from torch import Tensor

from ganzoo.core.build import build_model, load_dataset
from ganzoo.core.data.store import DataRequest
from ganzoo.core.training.session import start_run
from ganzoo.plugins.inpainting.masks import fixed_masks
from ganzoo.plugins.inpainting.step import composite


def held_out(resolution: int, size: int, seed: int) -> Tensor:
    request = DataRequest(argument=None, resolution=resolution, channels=3, seed=seed, size=size)
    store = load_dataset("shapes", request)
    return store.to_model_space(store.tensor)


def mean_fill(image: Tensor, mask: Tensor) -> Tensor:
    known = 1 - mask
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return composite(mean.expand_as(image), image, mask)


def _gauss(x: Tensor, sigma: float) -> Tensor:
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(
        F.pad(x, (radius, radius, 0, 0), mode="replicate"),
        k.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
        groups=c,
    )
    return F.conv2d(
        F.pad(x, (0, 0, radius, radius), mode="replicate"),
        k.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
        groups=c,
    )


def gaussian_fill(image: Tensor, mask: Tensor) -> Tensor:
    """The hole filled with a Gaussian blur of the known pixels (normalised convolution,
    sigma = an eighth of the side): the classic one-pass blur fill."""
    known = 1 - mask
    sigma = image.shape[-1] / 8
    return composite(
        _gauss(image * known, sigma) / _gauss(known, sigma).clamp(min=1e-6), image, mask
    )


def blur_fill(image: Tensor, mask: Tensor, tol: float = 1e-5, max_iter: int = 20_000) -> Tensor:
    known = 1 - mask
    sigma = image.shape[-1] / 8
    # Normalised convolution: a smooth first guess from the known pixels around the hole.
    guess = _gauss(image * known, sigma) / _gauss(known, sigma).clamp(min=1e-6)
    x = composite(guess, image, mask)
    for _ in range(max_iter):
        new = composite(_gauss(x, 1.0), image, mask)
        change = (new - x).abs().max()
        x = new
        if change < tol:
            break
    return x


def hole_psnr(filled: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """PSNR inside the hole of each image, pixels in [0, 1]."""
    err = ((filled - image) / 2).square() * mask
    mse = err.flatten(1).sum(1) / (mask.flatten(1).sum(1) * image.shape[1])
    return 10 * torch.log10(1 / mse.clamp(min=1e-10))


def load_generator(checkpoint: Path, resolution: int, options: dict) -> torch.nn.Module:
    model, _ = build_model("inpainting", (3, resolution, resolution), options)
    with safe_open(str(checkpoint), framework="pt") as handle:
        keys = list(handle.keys())
        prefix = (
            "generator_ema." if any(k.startswith("generator_ema.") for k in keys) else "generator."
        )
        state = {k[len(prefix) :]: handle.get_tensor(k) for k in keys if k.startswith(prefix)}
    model.generator.load_state_dict(state)
    return model.generator.eval()


@torch.no_grad()
def model_fill(generator: torch.nn.Module, image: Tensor, mask: Tensor, batch: int = 64) -> Tensor:
    out = torch.cat(
        [generator(image[i : i + batch], mask[i : i + batch]) for i in range(0, len(image), batch)]
    )
    return composite(out, image, mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dataset-size", type=int, default=2048)
    parser.add_argument(
        "--lr", type=float, default=None, help="--lr-g and --lr-d (default: the family's)"
    )
    parser.add_argument("--ema", type=float, default=0.0)
    parser.add_argument(
        "-o", "--option", action="append", default=[], help="model option KEY=VALUE"
    )
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--eval-seed", type=int, default=1000)
    parser.add_argument("--mask-seed", type=int, default=7)
    parser.add_argument("--eval-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs-dir", default=None, help="keep the run here (default: a temp dir)")
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    options = {"width": args.width}
    for pair in args.option:
        key, _, value = pair.partition("=")
        options[key] = value
    network_options = {k: v for k, v in options.items() if k in ("width", "gated")}
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        runs = args.runs_dir or stack.enter_context(tempfile.TemporaryDirectory())
        settings = dict(
            dataset="shapes",
            resolution=args.resolution,
            dataset_size=args.dataset_size,
            batch_size=args.batch_size,
            steps=args.steps,
            seed=args.train_seed,
            model_options=options,
            ema=args.ema,
            out=str(Path(runs) / "inpainting"),
        )
        if args.lr is not None:
            settings.update(lr_g=args.lr, lr_d=args.lr)
        with contextlib.redirect_stderr(io.StringIO()):  # the progress lines
            result = start_run("inpainting", settings)
        train_time = time.perf_counter() - start
        generator = load_generator(result.checkpoint, args.resolution, network_options)

    t0 = time.perf_counter()
    images = held_out(args.resolution, args.eval_size, args.eval_seed)
    n = len(images)
    mask = fixed_masks(n, args.resolution, args.resolution, args.mask_seed)
    rect = torch.arange(n) % 2 == 0  # fixed_masks alternates: rectangles at even indices
    methods = {
        "mean fill": mean_fill(images, mask),
        "blur fill (Gaussian, normalised convolution)": gaussian_fill(images, mask),
        "diffusion fill (harmonic inpainting)": blur_fill(images, mask),
        f"inpainting ({args.steps} steps)": model_fill(generator, images, mask),
    }
    eval_time = time.perf_counter() - t0
    wall = time.perf_counter() - start

    lines = [
        "| method | PSNR in hole, all (dB) | rectangles | strokes |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, filled in methods.items():
        psnr = hole_psnr(filled, images, mask)
        se = psnr.std() / n**0.5
        lines.append(
            f"| {name} | {psnr.mean():.2f} ± {se:.2f} | {psnr[rect].mean():.2f} "
            f"| {psnr[~rect].mean():.2f} |"
        )
    table = "\n".join(lines)
    command = command_line()
    section = "\n".join(
        [
            f"Command: `{command}`",
            "",
            f"Train: `inpainting` on `shapes` seed {args.train_seed} "
            f"({args.dataset_size} images, {args.resolution}px), {args.steps} steps of "
            f"{args.batch_size}, options {options}. Test: {n} held-out `shapes` images "
            f"(seed {args.eval_seed}), fixed holes (seed {args.mask_seed}, 10-40%, half "
            f"rectangles, half strokes; mean hole {mask.mean():.1%}). Mean ± standard error.",
            "",
            table,
            "",
            f"Wall time {wall:.0f} s (training {train_time:.0f} s, evaluation {eval_time:.0f} s) "
            f"on {machine()}.",
        ]
    )
    print(section)
    if args.out:
        Path(args.out).write_text(section + "\n")


if __name__ == "__main__":
    main()
