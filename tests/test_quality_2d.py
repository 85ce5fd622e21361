"""Mode coverage on the 2D mixtures: known answers for the metric, and an end-to-end check that
the built-in MLP GAN really learns ring8 (VEEGAN/PacGAN protocol: 2,500 samples)."""

from __future__ import annotations

import math

import pytest
import torch

import ganzoo
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.toy2d import mode_means
from ganzoo.plugins.metrics.modes import LITERATURE_SAMPLES, mode_coverage


def points_at(means: torch.Tensor, counts: list[int], jitter: float, seed: int = 0):
    """``counts[i]`` points at ``means[i]`` plus isotropic noise of std ``jitter``."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.cat([means[i].expand(n, -1) for i, n in enumerate(counts) if n])
    return centres + jitter * torch.randn(centres.shape, generator=generator)


@pytest.mark.parametrize("k", [1, 2, 4, 5, 8])
def test_a_generator_covering_k_of_8_modes_evenly(k):
    means, std = mode_means("ring8")
    n = 300
    samples = points_at(means, [n] * k, jitter=std / 10)
    result = mode_coverage(samples, means, std)
    assert result["modes"] == k and result["modes_total"] == 8
    assert result["high_quality"] == 100.0
    assert result["reverse_kl"] == pytest.approx(math.log(8 / k), abs=1e-12)


def test_every_grid25_mode_hit_once_is_full_coverage():
    means, std = mode_means("grid25")
    result = mode_coverage(means.clone(), means, std)
    assert result == {"modes": 25.0, "modes_total": 25.0, "high_quality": 100.0, "reverse_kl": 0.0}


def test_samples_far_from_every_mode_capture_nothing():
    means, std = mode_means("ring8")
    far = torch.tensor([[0.0, 0.0], [3.0, 3.0], [-5.0, 0.5], [0.5, 0.5]]).repeat(100, 1)
    result = mode_coverage(far, means, std)
    assert result["modes"] == 0 and result["high_quality"] == 0.0
    assert not math.isfinite(result["reverse_kl"])  # no high-quality sample: undefined


def test_only_high_quality_samples_count_and_the_threshold_is_three_std():
    means, std = mode_means("ring8")
    radial = means[:2] / means[:2].norm(dim=1, keepdim=True)
    inside = means[0] + 2.9 * std * radial[0]  # within 3 std of mode 0
    outside = means[1] + 3.1 * std * radial[1]  # just beyond 3 std of mode 1: not captured
    samples = torch.stack([inside, inside, inside, outside])
    result = mode_coverage(samples, means, std)
    assert result["modes"] == 1
    assert result["high_quality"] == 75.0
    # The histogram holds the 3 high-quality samples only, all on one mode: KL = log 8.
    assert result["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)


def test_reverse_kl_of_an_uneven_histogram():
    means, std = mode_means("ring8")
    samples = points_at(means, [300, 100], jitter=std / 10)
    result = mode_coverage(samples, means, std)
    expected = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)  # natural log
    assert result["modes"] == 2 and result["high_quality"] == 100.0
    assert result["reverse_kl"] == pytest.approx(expected, abs=1e-12)


@pytest.fixture
def one_thread():
    """Tiny MLPs gain nothing from more threads, and on a shared CPU two threads can run ten
    times slower than one (each small op waits for the busier core)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_mlp_learns_ring8_with_no_flags(tmp_path, one_thread):
    """What ``ganzoo train mlp --dataset ring8`` trains (the preset decides: 4,000 steps of
    the non-saturating GAN, about 20 s on a 2-core CPU). Seed 0 gave 8 modes and 95 %
    high-quality samples here; the bounds leave room for another CPU's arithmetic."""
    result = start_run("mlp", {"dataset": "ring8", "seed": 0, "out": str(tmp_path)})
    assert result.step == 4000
    generator = ganzoo.load(str(result.checkpoint))
    samples = generator.sample(LITERATURE_SAMPLES, seed=0)
    means, std = mode_means("ring8")
    coverage = mode_coverage(samples, means, std)
    assert coverage["modes"] >= 7, coverage
    assert coverage["high_quality"] >= 85.0, coverage
