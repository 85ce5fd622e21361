"""The hand-written DCGAN loop benchmarks/throughput.py times against ganzoo's trainer.

What a PyTorch user writes without ganzoo (the DCGAN tutorial's loop): torchvision's
``ImageFolder`` with Resize + CenterCrop + ToTensor + Normalize, decoding every file every
epoch through a shuffling ``DataLoader``; ganzoo's own DCGAN networks (so only the loop
differs); Adam (2e-4, betas (0.5, 0.999)) for each; ``BCEWithLogitsLoss``; G run once a
step, its output detached for D's update and reused for G's (non-saturating: target ones).
fp32 throughout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from ganzoo.plugins.dcgan.networks import build

LATENT_DIM = 100
LR = 2e-4
BETAS = (0.5, 0.999)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock reads what the step really cost."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def image_loader(
    root: Path, resolution: int, batch_size: int, workers: int, device: torch.device, seed: int
) -> DataLoader:
    """``root`` holds one subfolder per class, as ImageFolder wants."""
    transform = transforms.Compose(
        [
            transforms.Resize(resolution),
            transforms.CenterCrop(resolution),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    return DataLoader(
        datasets.ImageFolder(str(root), transform=transform),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),
    )


def epochs(loader: DataLoader) -> Iterator[Tensor]:
    """Real batches without end: each pass over the loader decodes every file again."""
    while True:
        for images, _ in loader:
            yield images


def train(
    root: Path,
    *,
    resolution: int,
    width: int,
    batch_size: int,
    workers: int,
    device: torch.device,
    seed: int,
    warmup: int,
    steps: int,
    profiler: Any = None,
) -> float:
    """Run ``warmup + steps`` updates; the seconds the last ``steps`` took, from the start
    of update ``warmup`` (batch fetch included) to the end of the last one. ``profiler``
    (a ``torch.profiler.profile``, not yet started) records those steps only."""
    torch.manual_seed(seed)
    gan = build((3, resolution, resolution), latent_dim=LATENT_DIM, width=width)
    G, D = gan.generator.to(device), gan.discriminator.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    criterion = nn.BCEWithLogitsLoss()
    ones = torch.ones(batch_size, device=device)
    zeros = torch.zeros(batch_size, device=device)
    batches = epochs(image_loader(root, resolution, batch_size, workers, device, seed))
    G.train()
    D.train()
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            synchronize(device)
            start = time.perf_counter()
            if profiler is not None:
                profiler.start()
        real = next(batches).to(device, non_blocking=True)
        fake = G(torch.randn(batch_size, LATENT_DIM, device=device))

        d_loss = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        g_loss = criterion(D(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    synchronize(device)
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
    return elapsed
