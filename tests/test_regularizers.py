"""The lazy R1 regulariser (--reg): its value against finite differences, its schedule, and
its use with any loss and any family."""

from __future__ import annotations

import json

import pytest
import torch
from assertions import one_line_error
from test_resume import _assert_identical

from ganzoo.core.training.regularizers import LazyR1, parse_reg, r1_penalty
from ganzoo.core.training.session import resume_run, start_run

POINTS = dict(dataset="ring8", dataset_size=256, batch_size=32, model_options={"hidden": 16})


def _critic() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1), torch.nn.Flatten(0)
    ).double()


def test_r1_matches_a_finite_difference_estimate():
    D = _critic()
    real = torch.randn(5, 3, dtype=torch.float64)
    h = 1e-6
    grads = torch.zeros_like(real)
    with torch.no_grad():
        for i in range(real.shape[0]):
            for j in range(real.shape[1]):
                up, down = real.clone(), real.clone()
                up[i, j] += h
                down[i, j] -= h
                grads[i, j] = (D(up)[i] - D(down)[i]) / (2 * h)
    expected = grads.square().sum(1).mean()
    assert float(r1_penalty(D, real).detach()) == pytest.approx(float(expected), rel=1e-6)


def test_r1_is_differentiable_in_the_discriminator_weights():
    D = _critic()
    penalty = r1_penalty(D, torch.randn(4, 3, dtype=torch.float64))
    penalty.backward()
    # Every weight shapes grad_x D; the last bias does not, so it gets no gradient.
    weights = [D[0].weight, D[0].bias, D[2].weight]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)
    assert D[2].bias.grad is None


class _Ctx:
    def __init__(self, step):
        self.step = step


def test_lazy_r1_runs_every_k_steps_scaled_by_k():
    D = _critic()
    real = torch.randn(4, 3, dtype=torch.float64)
    reg = LazyR1(gamma=2.0, every=4)
    optimizer = torch.optim.SGD(D.parameters(), lr=0.0)
    assert reg.apply(_Ctx(1), D, real, optimizer) is None
    logged = reg.apply(_Ctx(8), D, real, optimizer)
    assert float(logged["r1"]) == pytest.approx(float(r1_penalty(D, real)))
    # The update's gradient is gamma/2 * k times the penalty's.
    D.zero_grad()
    r1_penalty(D, real).backward()
    plain = [None if p.grad is None else p.grad.clone() for p in D.parameters()]
    reg.apply(_Ctx(0), D, real, optimizer)
    for p, g in zip(D.parameters(), plain):
        assert (p.grad is None) == (g is None)
        assert g is None or torch.allclose(p.grad, g * (2.0 / 2) * 4)


@pytest.mark.parametrize("spec, fragment", [
    ("r2", "unknown regulariser"),
    ("r1:gamma=-1", "gamma"),
    ("r1:every=0", "every"),
    ("r1:colour=1", "no option 'colour'"),
    ("r1:gamma", "KEY=VALUE"),
])  # fmt: skip
def test_bad_reg_specs_are_one_line(tmp_path, run_cli, spec, fragment):
    one_line_error(run_cli("train", "mlp", "--dataset", "ring8", "--reg", spec, "--steps", "1",
                           "--out", tmp_path / "run"), fragment)  # fmt: skip


def test_parse_reg_defaults():
    assert parse_reg("r1") == ("r1", {"gamma": 10.0, "every": 16})
    assert parse_reg("r1:gamma=0.5,every=2") == ("r1", {"gamma": 0.5, "every": 2})


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp", "non-saturating"])
def test_r1_combines_with_any_loss_and_is_logged_when_it_runs(tmp_path, loss):
    reg = {"name": "r1", "options": {"gamma": 1.0, "every": 2}}
    result = start_run("mlp", dict(POINTS, loss=loss, reg=reg, steps=4, log_every=1, d_steps=1,
                                   out=tmp_path / "run"))  # fmt: skip
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # Steps 1 and 3 ran the regulariser (its schedule counts steps done before: 0 and 2).
    assert [("r1" in line) for line in lines] == [True, False, True, False]
    assert result.step == 4


def test_resume_with_a_lazy_regulariser_is_bit_identical(tmp_path):
    settings = dict(POINTS, seed=5, reg={"name": "r1", "options": {"gamma": 10.0, "every": 3}})
    straight = start_run("mlp", dict(settings, steps=8, out=tmp_path / "straight"))
    start_run("mlp", dict(settings, steps=4, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 8})
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_lazy_r1_adjusts_the_discriminators_adam_as_stylegan2_does():
    from types import SimpleNamespace

    from ganzoo.core.training.optimizers import group_settings
    from ganzoo.zoo.families import OptimizerGroup

    D = OptimizerGroup("d", ("discriminator",), role="discriminator", lr=2e-3, betas=(0.0, 0.99))
    G = OptimizerGroup("g", ("generator",), lr=2e-3, betas=(0.0, 0.99))

    def config(reg):
        return SimpleNamespace(lr_g=None, lr_d=None, beta1=None, beta2=None, reg=reg)

    lazy = config({"name": "r1", "options": {"gamma": 10.0, "every": 16}})
    # StyleGAN2's mb_ratio: D takes 17 updates in 16 steps.
    lr, (beta1, beta2) = group_settings(D, lazy)
    assert lr == pytest.approx(2e-3 * 16 / 17)
    assert beta1 == 0.0 and beta2 == pytest.approx(0.99 ** (16 / 17))
    assert group_settings(G, lazy) == (2e-3, (0.0, 0.99))
    assert group_settings(D, config(None)) == (2e-3, (0.0, 0.99))
    # gamma 0 makes no extra updates, so nothing to adjust.
    off = config({"name": "r1", "options": {"gamma": 0.0, "every": 16}})
    assert group_settings(D, off) == (2e-3, (0.0, 0.99))
