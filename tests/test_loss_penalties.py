"""Hinge and WGAN-GP: formulas, the gradient penalty against finite differences, the loss's
own training defaults and diagnostics, and exact resume with a penalty's random draws."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from test_resume import _assert_identical
from torch import nn

import ganzoo
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.losses.margin import gradient_penalty


def test_hinge_matches_its_formula():
    hinge = ganzoo.create_loss("hinge")
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-2.0, 0.0, 1.0])
    # relu(1 - real) = (0, 0.5, 2); relu(1 + fake) = (0, 1, 2)
    assert hinge.discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 3 / 3)
    assert hinge.generator_loss(fake).item() == pytest.approx(1 / 3)
    diag = hinge.diagnostics(real, fake)
    assert diag["real_in_margin"].item() == pytest.approx(2 / 3)
    assert diag["fake_in_margin"].item() == pytest.approx(2 / 3)


def test_wasserstein_loss_and_estimate():
    wgan = ganzoo.create_loss("wgan-gp")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert wgan.discriminator_loss(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert wgan.generator_loss(fake).item() == pytest.approx(0.5)
    assert wgan.diagnostics(real, fake)["wasserstein"].item() == pytest.approx(2.5)


def _critic() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()


def _numeric_penalty(critic, real, fake, seed, h=1e-6):
    """The same penalty with ∇D(x̂) from central differences instead of autograd."""
    gen = torch.Generator().manual_seed(seed)
    eps = torch.rand((real.shape[0], 1), generator=gen).double()
    mixed = eps * real + (1 - eps) * fake
    grads = torch.zeros_like(mixed)
    with torch.no_grad():
        for j in range(mixed.shape[1]):
            step = torch.zeros_like(mixed)
            step[:, j] = h
            grads[:, j] = (critic(mixed + step) - critic(mixed - step)) / (2 * h)
    return (grads.norm(dim=1) - 1).square().mean()


def test_gradient_penalty_matches_finite_differences():
    critic = _critic()
    real = torch.randn(6, 3, dtype=torch.float64)
    fake = torch.randn(6, 3, dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(5))
    expected = _numeric_penalty(critic, real, fake, seed=5)
    torch.testing.assert_close(penalty, expected, rtol=1e-6, atol=1e-9)
    assert penalty.item() > 0

    # The penalty is differentiable in the critic's weights (create_graph): its gradient
    # with respect to one weight matches a finite difference of the penalty itself.
    weight = critic[0].weight
    (analytic,) = torch.autograd.grad(penalty, weight)

    def value() -> float:
        return gradient_penalty(critic, real, fake, torch.Generator().manual_seed(5)).item()

    h = 1e-5
    with torch.no_grad():
        weight[2, 1] += h
    up = value()
    with torch.no_grad():
        weight[2, 1] -= 2 * h
    down = value()
    assert analytic[2, 1].item() == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_gp_weight_scales_and_zero_turns_it_off():
    critic = _critic()
    real, fake = torch.randn(4, 3).double(), torch.randn(4, 3).double()
    one = ganzoo.create_loss("wgan-gp", gp_weight=1.0)
    ten = ganzoo.create_loss("wgan-gp")
    p1 = one.discriminator_penalty(critic, real, fake, torch.Generator().manual_seed(1))
    p10 = ten.discriminator_penalty(critic, real, fake, torch.Generator().manual_seed(1))
    torch.testing.assert_close(p10, 10 * p1)
    off = ganzoo.create_loss("wgan-gp", gp_weight=0.0)
    assert off.discriminator_penalty(critic, real, fake, torch.Generator()) is None


RING = dict(dataset="ring8", dataset_size=256, batch_size=16, model_options={"hidden": 16})


def test_wgan_gp_trains_with_its_own_defaults_and_logs_its_estimate(tmp_path, capsys):
    run = tmp_path / "run"
    start_run("mlp", dict(RING, loss="wgan-gp", steps=4, out=run))
    assert "--d-steps 5" in capsys.readouterr().err
    train = json.loads((run / "config.json").read_text())["train"]
    assert (train["d_steps"], train["beta1"], train["beta2"], train["lr_d"]) == (5, 0.0, 0.9, 1e-4)
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"wasserstein", "penalty"} <= record.keys() and "d_real" not in record
    # Every logged scalar gets a panel of its own in losses.png: 4 panels, 2 rows of 2.
    with Image.open(run / "losses.png") as curves:
        assert curves.size == (640, 340)
    # A setting the user gives wins over the loss's default.
    start_run("mlp", dict(RING, loss="wgan-gp", steps=1, d_steps=2, out=tmp_path / "two"))
    assert json.loads((tmp_path / "two" / "config.json").read_text())["train"]["d_steps"] == 2


@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])
def test_resume_is_exact_with_the_margin_losses(tmp_path, loss):
    settings = dict(RING, loss=loss, seed=4)
    straight = start_run("mlp", dict(settings, steps=6, out=tmp_path / "straight"))
    start_run("mlp", dict(settings, steps=3, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_train_defaults_are_checked_at_registration():
    from ganzoo.zoo.descriptors import LossInfo

    with pytest.raises(ValueError, match="no setting"):
        LossInfo("x", "x", "m:f", train_defaults={"warp": 9})
    with pytest.raises(ValueError, match="must be a int"):
        LossInfo("x", "x", "m:f", train_defaults={"d_steps": 2.5})
