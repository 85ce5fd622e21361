"""--lr-decay F: the learning rates fall in a straight line to 0 over the last F of the run, as a
function of the step alone, so a resumed run follows the same curve bit for bit."""

from __future__ import annotations

import json

import pytest
from test_resume import _assert_identical

from ganzoo.core.training.optimizers import decay_factor
from ganzoo.core.training.session import resume_run, start_run


def test_the_schedule_is_flat_then_straight_down_to_zero() -> None:
    assert [decay_factor(s, 10, 0.5) for s in (0, 4, 5, 6, 8, 9, 10)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.8, 0.4, 0.2, 0.0]
    )
    assert decay_factor(3, 10, 0.0) == 1.0  # off
    assert decay_factor(0, 10, 1.0) == 1.0 and decay_factor(5, 10, 1.0) == 0.5


SETTINGS = dict(
    dataset="ring8", model_options={"hidden": 16}, dataset_size=256, batch_size=32, seed=3,
    lr_decay=0.5, log_every=1,
)  # fmt: skip


def test_the_optimisers_follow_it_and_resume_is_bit_identical(tmp_path) -> None:
    straight = start_run("mlp", dict(SETTINGS, steps=8, out=tmp_path / "straight"))
    # The same 8-step run, continued from its step-4 checkpoint (as after a crash there).
    start_run("mlp", dict(SETTINGS, steps=8, ckpt_every=4, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {}, from_step=4)
    assert resumed.step == 8
    _assert_identical(straight.checkpoint, resumed.checkpoint)
    # And the schedule changed the result: without it the weights differ.
    plain = start_run("mlp", dict(SETTINGS, steps=8, lr_decay=0.0, out=tmp_path / "plain"))
    with pytest.raises(AssertionError):
        _assert_identical(straight.checkpoint, plain.checkpoint)
    config = json.loads((tmp_path / "straight" / "config.json").read_text())["train"]
    assert config["lr_decay"] == 0.5


def test_absurd_fractions_are_refused_in_one_line(run_cli, tmp_path) -> None:
    for value in ("-0.1", "1.5", "nan"):
        result = run_cli(
            "train", "mlp", "--dataset", "ring8", "--lr-decay", value, "--out", tmp_path
        )
        assert result.code == 2, result.err
        assert "--lr-decay" in result.err and "Traceback" not in result.err
