"""ring8 and grid25 follow PacGAN's mixtures exactly; the registry resolves the sources."""

from __future__ import annotations

import math
import subprocess
import sys

import torch

from ganzoo.core.data.store import DataRequest
from ganzoo.plugins.datasets import toy2d
from ganzoo.zoo.catalog import Catalog
from ganzoo.zoo.descriptors import resolve_factory


def request(size=40_000, seed=0):
    return DataRequest(None, 64, 3, seed=seed, size=size)


def mode_statistics(points, means):
    nearest = torch.cdist(points, means).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=len(means))
    residual = points - means[nearest]
    return counts, residual.std(dim=0)


def test_ring8_means_are_eight_points_on_the_unit_circle():
    means, std = toy2d.mode_means("ring8")
    assert std == toy2d.RING8_STD == 0.01
    expected = torch.tensor(
        [[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)]
    )
    assert torch.allclose(means, expected, atol=1e-7)
    assert torch.allclose(means.norm(dim=1), torch.ones(8))
    assert torch.cdist(means, means).add(torch.eye(8)).min() > 0.7  # 8 distinct modes
    assert means[2].tolist() == [0.0, 1.0]


def test_ring8_samples():
    store = toy2d.load_ring8(request())
    assert store.kind == "points" and store.tensor.dtype == torch.float32
    assert store.tensor.shape == (40_000, 2)
    counts, spread = mode_statistics(store.tensor, toy2d.RING8_MEANS)
    assert counts.min() > 40_000 / 8 * 0.9 and counts.max() < 40_000 / 8 * 1.1
    assert torch.allclose(spread, torch.full((2,), 0.01), rtol=0.05)


def test_grid25_samples():
    means, std = toy2d.mode_means("grid25")
    assert std == 0.05 and means.shape == (25, 2)
    assert sorted({tuple(m) for m in means.tolist()}) == [
        (float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)
    ]
    store = toy2d.load_grid25(request(size=50_000))
    counts, spread = mode_statistics(store.tensor, means)
    assert counts.min() > 50_000 / 25 * 0.85 and counts.max() < 50_000 / 25 * 1.15
    assert torch.allclose(spread, torch.full((2,), 0.05), rtol=0.05)


def test_determinism_and_default_size():
    assert torch.equal(
        toy2d.load_ring8(request(seed=5)).tensor, toy2d.load_ring8(request(seed=5)).tensor
    )
    assert not torch.equal(
        toy2d.load_grid25(request(seed=5)).tensor, toy2d.load_grid25(request(seed=6)).tensor
    )
    assert len(toy2d.load_ring8(request(size=None))) == 100_000


def test_sources_resolve_through_the_registry():
    catalog = Catalog.from_entry_points()
    for name in ("folder", "shapes", "ring8", "grid25"):
        assert catalog.dataset(name).plugin.name == "datasets"
    assert catalog.dataset("folder").info.argument_required
    entry = catalog.dataset("ring8")
    assert entry.info.data_kind == "points"
    store = resolve_factory(entry.info.factory)(request(size=100))
    assert store.tensor.shape == (100, 2)


def test_registering_does_not_import_heavy_libraries():
    code = (
        "import sys, ganzoo.plugins.datasets; "
        "print(sorted({'torch', 'PIL', 'numpy'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_points_are_labelled_with_their_mode():
    store = toy2d.load_ring8(request(size=20_000, seed=3))
    assert store.provides == {"x", "label"}
    assert store.classes == tuple(f"mode{k}" for k in range(8))
    assert store.labels.dtype == torch.int64 and store.labels.shape == (20_000,)
    nearest = torch.cdist(store.tensor, toy2d.RING8_MEANS).argmin(dim=1)
    assert torch.equal(store.labels, nearest)  # std 0.01: every point is nearest its own mode
    # The labels come with the same points as before: the mixture's draw is unchanged.
    means, std = toy2d.mode_means("ring8")
    assert torch.equal(store.tensor, toy2d.sample_mixture(means, std, 20_000, 3))
    generator = torch.Generator().manual_seed(3)
    modes = torch.randint(8, (20_000,), generator=generator)
    noise = torch.randn(20_000, 2, generator=generator)
    assert torch.equal(store.tensor, means[modes] + std * noise)
    grid = toy2d.load_grid25(request(size=5_000))
    assert len(grid.classes) == 25 and grid.labels.max() < 25
    residual = grid.tensor - toy2d.GRID25_MEANS[grid.labels]
    assert residual.abs().max() < 0.05 * 6
