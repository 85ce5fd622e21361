"""Image metrics on features with known answers: FID, KID, precision/recall."""

import math

import pytest
import torch

from ganzoo.plugins.metrics.image import frechet_distance, kernel_distance, precision_recall


def _with_exact_moments(n, mean, cov, seed):
    """n samples whose sample mean and (unbiased) covariance are exactly ``mean``/``cov``."""
    z = torch.randn(
        n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    z = z - z.mean(0)
    # Whiten the sample itself, then colour it: its sample covariance is then exact.
    white = z @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(z.T))).T
    return white @ torch.linalg.cholesky(cov).T + mean


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert abs(frechet_distance(x, x)) < 1e-6


def test_fid_matches_the_closed_form_for_gaussians():
    d = 6
    mean_a, mean_b = torch.zeros(d, dtype=torch.float64), torch.linspace(-1, 2, d).double()
    var_a = torch.linspace(0.5, 2.0, d).double()
    var_b = torch.linspace(3.0, 0.2, d).double()
    a = _with_exact_moments(400, mean_a, torch.diag(var_a), seed=1)
    b = _with_exact_moments(300, mean_b, torch.diag(var_b), seed=2)
    # Diagonal covariances: Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt(a) - sqrt(b))^2.
    expected = float(((mean_a - mean_b) ** 2).sum() + ((var_a.sqrt() - var_b.sqrt()) ** 2).sum())
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_with_full_covariances():
    d = 4
    q = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(3)).double())[0]
    cov_a = q @ torch.diag(torch.tensor([1.0, 2.0, 3.0, 4.0]).double()) @ q.T
    a = _with_exact_moments(300, torch.zeros(d).double(), cov_a, seed=4)
    b = _with_exact_moments(300, torch.ones(d).double(), 4 * cov_a, seed=5)
    # S2 = 4 S1: (S1 S2)^1/2 = 2 S1, so the trace term is Tr(S1 + 4 S1 - 4 S1) = Tr(S1) = 10.
    assert frechet_distance(a, b) == pytest.approx(d + 10.0, rel=1e-6)


def _mmd2_unbiased(x, y):
    d = x.shape[1]

    def k(a, b):
        return (a @ b.T / d + 1) ** 3

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
        + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
        - 2 * kxy.mean()
    )


def test_kid_is_the_unbiased_cubic_kernel_mmd():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(200, 16, generator=gen).double()
    y = torch.randn(200, 16, generator=gen).double() + 0.5
    # With 200 samples every subset is the whole set, so the mean is the plain estimate.
    mean, std = kernel_distance(x, y)
    assert mean == pytest.approx(_mmd2_unbiased(x, y), rel=1e-6)
    assert std == pytest.approx(0.0, abs=1e-9)
    # Another sample of x's distribution: near zero (the estimator is unbiased, so it can
    # dip below zero), far below the shifted pair.
    x2 = torch.randn(200, 16, generator=gen).double()
    same, _ = kernel_distance(x, x2)
    assert abs(same) < mean / 10


def test_precision_recall_known_answers():
    gen = torch.Generator().manual_seed(7)
    cluster_a = torch.randn(200, 8, generator=gen)
    cluster_b = torch.randn(200, 8, generator=gen) + 50.0
    real = torch.cat([cluster_a, cluster_b])
    assert precision_recall(real, real) == (1.0, 1.0)

    far = torch.randn(400, 8, generator=gen) - 100.0
    assert precision_recall(far, real) == (0.0, 0.0)

    # A generator that only makes cluster A: every sample is realistic, half the data missed.
    only_a = torch.randn(400, 8, generator=gen)
    precision, recall = precision_recall(only_a, real)
    assert precision > 0.75  # a few tail samples fall outside every real k-NN ball
    assert 0.35 < recall <= 0.5  # cluster B, half the data, is never covered
    assert not math.isnan(precision)
