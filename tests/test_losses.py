"""Minimax vs non-saturating: formulas, stability, and different generator gradients."""

import torch

import ganzoo


def _grad(loss_fn, logits):
    logits = logits.clone().requires_grad_(True)
    value = loss_fn(logits)
    value.backward()
    return value.detach(), logits.grad


LOGITS = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.5])


def test_generator_losses_match_their_formulas():
    p = torch.sigmoid(LOGITS)
    minimax = ganzoo.create_loss("minimax")
    value, grad = _grad(minimax.generator_loss, LOGITS)
    assert torch.allclose(value, torch.log(1 - p).mean(), atol=1e-6)
    # d/dl mean(log(1 - sigmoid(l))) = -sigmoid(l) / N
    assert torch.allclose(grad, -p / len(LOGITS), atol=1e-6)

    non_saturating = ganzoo.create_loss("non-saturating")
    value, grad = _grad(non_saturating.generator_loss, LOGITS)
    assert torch.allclose(value, -torch.log(p).mean(), atol=1e-6)
    # d/dl -mean(log sigmoid(l)) = -(1 - sigmoid(l)) / N
    assert torch.allclose(grad, -(1 - p) / len(LOGITS), atol=1e-6)


def test_the_two_generator_losses_give_different_gradients():
    _, g_minimax = _grad(ganzoo.create_loss("minimax").generator_loss, LOGITS)
    _, g_ns = _grad(ganzoo.create_loss("non-saturating").generator_loss, LOGITS)
    assert not torch.allclose(g_minimax, g_ns)
    # Where D confidently rejects fakes (very negative logits) the minimax gradient vanishes
    # and the non-saturating one does not: the reason the latter exists.
    assert g_minimax[0].abs() < 0.01 < g_ns[0].abs()


def test_discriminator_loss_formula_is_shared():
    real = torch.tensor([1.5, -0.2, 0.3])
    fake = torch.tensor([-1.0, 0.4])
    expected = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    for name in ("minimax", "non-saturating"):
        got = ganzoo.create_loss(name).discriminator_loss(real, fake)
        assert torch.allclose(got, expected, atol=1e-6)


def test_losses_are_finite_for_extreme_logits():
    extreme = torch.tensor([-200.0, 200.0])
    for name in ("minimax", "non-saturating"):
        loss = ganzoo.create_loss(name)
        values = [loss.discriminator_loss(extreme, extreme), loss.generator_loss(extreme)]
        assert all(torch.isfinite(v) for v in values)
        _, grad = _grad(loss.generator_loss, extreme)
        assert torch.isfinite(grad).all()
