"""CycleGAN on ``shapestyles``: do translated images land in the target domain?

    .venv/bin/python benchmarks/cyclegan_styles.py [--steps 1000] [--resolution 32]
        [--width 16] [--blocks 3] [--batch-size 8] [--train-size 1024] [--eval-size 256]
        [--seed 0] [--threads 1] [--out DIR]

1. Trains ``cyclegan`` (least-squares loss, the family's defaults otherwise) on
   ``shapestyles`` drawn with ``--seed``: domain A flat fills on light grounds, domain B
   glowing outlines on dark grounds.
2. Trains a *domain classifier*, a small CNN (three stride-2 4x4 convs, 16-32-64 channels,
   LeakyReLU, global average pool, one logit), to tell real A from real B on ``shapestyles``
   drawn with another seed (``--seed + 1000``), 5 epochs of Adam (lr 1e-3, batch 64).
3. On held-out images (``--seed + 2000``, never seen by either network) reports, for each
   direction: the classifier's mean probability of the *target* domain for the real inputs,
   for their translations and for real target images (the reference), and the KID between
   the classifier's 64-d pooled features of inputs vs real targets and of translations vs
   real targets (ganzoo's KID formula, torch-fidelity's, on these features instead of
   Inception's: a domain-specific distance, not comparable with published KIDs). Also the
   cycle reconstruction error ``|G_ba(G_ab(a)) - a|`` in [-1, 1] pixel units.

Translations closer to the target domain than their inputs mean: P(target) rises from near 0
towards the real targets' value and the feature KID falls. Nothing is downloaded; Inception
weights are not needed.
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
from torch import Tensor, nn

import ganzoo
from ganzoo.core.inference.translation import Translator
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets import shapestyles
from ganzoo.plugins.metrics.image import kernel_distance

CLASSIFIER_SEED_OFFSET = 1000
EVAL_SEED_OFFSET = 2000


def to_model_space(images: Tensor) -> Tensor:
    return images.float() / 127.5 - 1.0


def domains(size: int, resolution: int, seed: int) -> tuple[Tensor, Tensor]:
    a, b = shapestyles.generate(size, resolution, 3, seed)
    return to_model_space(torch.as_tensor(a)), to_model_space(torch.as_tensor(b))


def grey_standardised(x: Tensor) -> Tensor:
    """Each image as grey levels with mean 0 and standard deviation 1: no global colour or
    brightness left, only the structure (filled shapes vs glowing outlines)."""
    grey = x.mean(dim=1, keepdim=True)
    mean = grey.mean(dim=(2, 3), keepdim=True)
    std = grey.std(dim=(2, 3), keepdim=True)
    return (grey - mean) / (std + 1e-3)


class DomainClassifier(nn.Module):
    def __init__(self, channels: int = 3, structure_only: bool = False) -> None:
        super().__init__()
        self.structure_only = structure_only
        layers: list[nn.Module] = []
        c_in = 1 if structure_only else channels
        for c_out in (16, 32, 64):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(64, 1)
        # Feature scale for KID: set from real training images after training.
        self.register_buffer("mean", torch.zeros(64))
        self.register_buffer("std", torch.ones(64))

    def features(self, x: Tensor) -> Tensor:
        return self.body(grey_standardised(x) if self.structure_only else x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).flatten()

    def scaled_features(self, x: Tensor) -> Tensor:
        return (self.features(x) - self.mean) / self.std


def train_classifier(
    a: Tensor, b: Tensor, seed: int, structure_only: bool = False, epochs: int = 5
) -> DomainClassifier:
    torch.manual_seed(seed)
    model = DomainClassifier(a.shape[1], structure_only)
    x = torch.cat([a, b])
    y = torch.cat([torch.zeros(len(a)), torch.ones(len(b))])  # 1 = domain B
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=gen).split(64):
            loss = nn.functional.binary_cross_entropy_with_logits(model(x[index]), y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    features = batched(model.features, x)
    model.mean.copy_(features.mean(0))
    model.std.copy_(features.std(0) + 1e-6)
    return model


@torch.no_grad()
def batched(fn, x: Tensor, size: int = 64) -> Tensor:
    return torch.cat([fn(chunk) for chunk in x.split(size)])


def accuracy(classifier: DomainClassifier, a: Tensor, b: Tensor) -> float:
    logits_a, logits_b = batched(classifier, a), batched(classifier, b)
    return float(((logits_a < 0).sum() + (logits_b > 0).sum()) / (len(a) + len(b)))


def p_domain(classifier: DomainClassifier, x: Tensor, domain: str) -> str:
    """The classifier's mean probability that the images ``x`` belong to ``domain``."""
    p_b = torch.sigmoid(batched(classifier, x)).mean()
    return f"{float(p_b if domain == 'B' else 1 - p_b):.3f}"


def feature_kid(classifier: DomainClassifier, x: Tensor, wanted: Tensor) -> str:
    """KID between the classifier's standardised features of two image sets."""
    fx, fw = (batched(classifier.scaled_features, t).double() for t in (x, wanted))
    return f"{kernel_distance(fx, fw)[0]:.3f}"


def evaluate(
    translator: Translator,
    classifiers: dict[str, DomainClassifier],
    held_out: tuple[Tensor, Tensor],
    reference: tuple[Tensor, Tensor],
) -> list[tuple[str, ...]]:
    """Rows (direction, measure, real inputs, translations, real targets)."""
    a, b = held_out
    rows: list[tuple[str, ...]] = []
    for name, source, target, other, forward, backward, domain in (
        ("A → B", a, b, reference[1], "AtoB", "BtoA", "B"),
        ("B → A", b, a, reference[0], "BtoA", "AtoB", "A"),
    ):
        translated = batched(lambda x, d=forward: translator.translate(x, d), source)
        restored = batched(lambda x, d=backward: translator.translate(x, d), translated)
        for label, c in classifiers.items():
            measure = f"P({domain}), {label} classifier"
            rows.append(
                (name, measure, *(p_domain(c, x, domain) for x in (source, translated, target)))
            )
        for label, c in classifiers.items():
            measure = f"KID to real {domain}, {label} features"
            rows.append(
                (name, measure, *(feature_kid(c, x, target) for x in (source, translated, other)))
            )
        cycle = f"{float((restored - source).abs().mean()):.3f}"
        rows.append((name, "cycle L1: mean abs(F(G(x)) - x)", "", cycle, ""))
    return rows


def table(rows: list[tuple[str, ...]]) -> str:
    lines = [
        "| direction | measure | real inputs | translations | real targets |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-size", type=int, default=1024, help="images per domain")
    parser.add_argument("--eval-size", type=int, default=256, help="held-out images per domain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="keep the run folder here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    options = {"width": args.width, "n_blocks": args.blocks}

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        settings = dict(
            dataset="shapestyles",
            resolution=args.resolution,
            dataset_size=args.train_size,
            batch_size=args.batch_size,
            steps=args.steps,
            seed=args.seed,
            model_options=options,
            log_every=max(1, args.steps // 10),
            out=out,
        )
        with contextlib.redirect_stderr(io.StringIO()) as log:  # the progress lines
            result = start_run("cyclegan", settings)
        print(log.getvalue().strip().splitlines()[-1], flush=True)
        trained = time.perf_counter() - start
        print(f"trained {args.steps} steps in {trained:.0f} s", flush=True)
        translator = ganzoo.load(str(result.checkpoint))  # both directions

    seed_c, seed_e = args.seed + CLASSIFIER_SEED_OFFSET, args.seed + EVAL_SEED_OFFSET
    train_a, train_b = domains(args.train_size, args.resolution, seed_c)
    classifiers = {
        "colour": train_classifier(train_a, train_b, seed_c),
        "grey-structure": train_classifier(train_a, train_b, seed_c, structure_only=True),
    }
    a, b = domains(args.eval_size, args.resolution, seed_e)
    accuracies = {k: accuracy(c, a, b) for k, c in classifiers.items()}
    reference = (train_a[: args.eval_size], train_b[: args.eval_size])
    rows = evaluate(translator, classifiers, (a, b), reference)
    wall = time.perf_counter() - start

    command = command_line()
    print()
    print(f"Command: `{command}`; wall time {wall:.0f} s ({wall / 60:.1f} min).")
    print(f"Machine: {machine()}.")
    print(
        f"Settings: cyclegan {args.resolution} px, width {args.width}, {args.blocks} residual "
        f"blocks, batch {args.batch_size}, {args.steps} steps on {args.train_size} + "
        f"{args.train_size} shapestyles images (seed {args.seed}); least-squares loss, "
        "cycle 10, identity 0.5, pool 50, Adam 2e-4 (0.5, 0.999)."
    )
    listed = ", ".join(f"{k} {v:.3f}" for k, v in accuracies.items())
    print(
        f"Domain classifiers (trained on seed {seed_c}): accuracy on {len(a)} + {len(b)} "
        f"held-out real images (seed {seed_e}): {listed}. Real targets' KID column: held-out "
        f"real targets vs {len(reference[0])} other real targets (seed {seed_c}), the floor."
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
