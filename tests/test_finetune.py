"""Fine-tuning: --init-from starts from a checkpoint's weights with fresh optimisers,
--freeze-d keeps D's first layers fixed, a different architecture is one line."""

from __future__ import annotations

import json

import pytest
import torch
from assertions import one_line_error
from test_resume import _assert_identical

import ganzoo
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.errors import ConfigError
from ganzoo.core.training.session import resume_run, start_run

TINY = dict(resolution=16, batch_size=8, dataset_size=16, ema=0.0,
            model_options={"width": 4, "latent_dim": 8})  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("source") / "run"
    return start_run("dcgan", dict(TINY, steps=4, seed=1, out=out)).checkpoint


def _weights(path, prefix):
    return Checkpoint(path).tensors(prefix)


def test_starts_from_the_weights_with_fresh_optimisers(source, tmp_path):
    # One step at a tiny learning rate moves an Adam weight by about the rate (1e-9) only.
    result = start_run("dcgan", dict(TINY, steps=1, lr_g=1e-9, lr_d=1e-9, init_from=str(source),
                                     out=tmp_path / "tuned"))  # fmt: skip
    for net in ("generator", "discriminator"):
        ours, theirs = _weights(result.checkpoint, net), _weights(source, net)
        for key, value in theirs.items():
            if "running_" in key or "num_batches" in key:
                continue  # batch-norm statistics move in the training step
            torch.testing.assert_close(ours[key], value, rtol=0, atol=1e-6, msg=key)
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())["train"]
    assert config["init_from"] == str(source.resolve())
    # Fresh optimisers: one step's Adam moments only.
    steps = Checkpoint(result.checkpoint).tensors("optim.generator.state.0")["step"]
    assert int(steps) == 1


def test_a_different_architecture_is_one_line(source, tmp_path, run_cli):
    with pytest.raises(ConfigError, match="architectures differ"):
        start_run("dcgan", dict(TINY, steps=1, model_options={"width": 8, "latent_dim": 8},
                                init_from=str(source), out=tmp_path / "wide"))  # fmt: skip
    result = run_cli("train", "mlp", "--init-from", source, "-r", "16", "--steps", "1",
                     "--out", tmp_path / "mlp")  # fmt: skip
    one_line_error(result, "holds a dcgan model, not mlp")


def test_freeze_d_keeps_the_first_layers_and_resumes_exactly(source, tmp_path):
    settings = dict(TINY, init_from=str(source), freeze_d=1)
    straight = start_run("dcgan", dict(settings, steps=4, out=tmp_path / "straight"))
    before, after = _weights(source, "discriminator"), _weights(straight.checkpoint,
                                                                   "discriminator")  # fmt: skip
    names = sorted(before)
    first = names[0]  # the input convolution
    assert torch.equal(before[first], after[first])
    assert any(not torch.equal(before[k], after[k]) for k in names if k != first)
    start_run("dcgan", dict(settings, steps=2, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 4})
    _assert_identical(straight.checkpoint, resumed.checkpoint)
    with pytest.raises(ConfigError, match="freeze fewer"):
        start_run("dcgan", dict(settings, freeze_d=40, steps=1, out=tmp_path / "deep"))


def test_the_tuned_checkpoint_samples(source, tmp_path):
    result = start_run("dcgan", dict(TINY, steps=2, init_from=str(source), out=tmp_path / "t"))
    assert ganzoo.load(str(result.checkpoint)).sample(2, seed=0).shape == (2, 3, 16, 16)
