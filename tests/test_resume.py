"""Resume means resume: N steps straight == N/2 steps, resume, N/2 steps, bit for bit."""

import pytest
import torch
from safetensors import safe_open

from ganzoo.core.training.session import resume_run, start_run


def _tensors(path):
    with safe_open(path, framework="pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)


def _assert_identical(a, b):
    ta, tb = _tensors(a), _tensors(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert torch.equal(ta[key], tb[key]), f"{key} differs"


SETTINGS = {
    "dcgan": dict(
        dataset="shapes",
        resolution=16,
        model_options={"width": 8, "latent_dim": 16},
        dataset_size=64,
        batch_size=16,
        ema=0.9,  # the averaged generator must resume exactly too
        # No preset: its --lr-decay would stretch when a resume raises --steps (as documented).
        preset="none",
    ),
    "mlp": dict(dataset="ring8", model_options={"hidden": 32}, dataset_size=512, batch_size=32),
}


@pytest.mark.parametrize("model", ["dcgan", "mlp"])
def test_resume_is_bit_identical(tmp_path, model):
    settings = dict(SETTINGS[model], seed=7, d_steps=2)
    straight = start_run(model, dict(settings, steps=8, out=tmp_path / "straight"))

    start_run(model, dict(settings, steps=4, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 8})

    assert straight.step == resumed.step == 8
    # Weights, batch-norm buffers, both Adam states and RNG states all match exactly.
    _assert_identical(straight.checkpoint, resumed.checkpoint)
    steps = [line for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == len(set(steps))


def test_same_seed_same_weights_different_seed_different(tmp_path):
    settings = dict(SETTINGS["dcgan"], steps=3)
    a = start_run("dcgan", dict(settings, seed=1, out=tmp_path / "a"))
    b = start_run("dcgan", dict(settings, seed=1, out=tmp_path / "b"))
    c = start_run("dcgan", dict(settings, seed=2, out=tmp_path / "c"))
    _assert_identical(a.checkpoint, b.checkpoint)
    ga, gc = _tensors(a.checkpoint), _tensors(c.checkpoint)
    assert not torch.equal(ga["generator.net.0.weight"], gc["generator.net.0.weight"])


def test_ema_is_saved_and_used_for_sampling(tmp_path):
    import ganzoo

    result = start_run("dcgan", dict(SETTINGS["dcgan"], steps=3, out=tmp_path / "ema"))
    tensors = _tensors(result.checkpoint)
    assert any(k.startswith("generator_ema.") for k in tensors)
    averaged = ganzoo.load(str(result.checkpoint))
    raw = ganzoo.load(str(result.checkpoint), ema=False)
    assert averaged.weights == "ema" and raw.weights == "raw"
    key = "net.0.weight"
    assert torch.equal(averaged.state_dict()[key], tensors[f"generator_ema.{key}"])
    assert not torch.equal(averaged.state_dict()[key], raw.state_dict()[key])
