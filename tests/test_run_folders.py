"""Run folders survive crashes and careless edits: a refused resume changes nothing, torn
metrics lines and corrupt checkpoints have a way out, and a killed run can start again."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from assertions import one_line_error
from checkpoint_tools import read_all
from test_resume import _assert_identical

from ganzoo.core.training.session import resume_run, start_run
from ganzoo.core.training.trainer import Trainer

SETTINGS = dict(
    dataset="ring8",
    dataset_size=256,
    batch_size=16,
    model_options={"hidden": 16},
    log_every=5,
    ckpt_every=7,  # not a multiple of log_every: a resume lands between two logged lines
    seed=3,
)


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _records(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "it_per_s"} for line in lines]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted reference: 30 steps."""
    run = tmp_path_factory.mktemp("straight") / "run"
    start_run("mlp", dict(SETTINGS, steps=30, out=run))
    return run


def _interrupted(tmp_path, at_step: int):
    """A run stopped (as Ctrl-C stops it) at ``at_step``, between two logged lines."""
    original = Trainer.run

    def stop_at(self):
        trainer, step = self, self.train_step

        class Stopping:  # the family's step, asking to stop after ``at_step``
            def __call__(self, ctx):
                if trainer.step + 1 >= at_step:
                    trainer._stop_requested = True
                return step(ctx)

            def __getattr__(self, name):
                return getattr(step, name)

        self.train_step = Stopping()
        return original(self)

    run = tmp_path / "run"
    Trainer.run = stop_at
    try:
        result = start_run("mlp", dict(SETTINGS, steps=30, out=run))
    finally:
        Trainer.run = original
    assert result.interrupted and result.step == at_step
    return run


def test_resumed_metrics_lines_equal_the_uninterrupted_ones(tmp_path, straight):
    run = _interrupted(tmp_path, at_step=12)
    resumed = resume_run(str(run), {})
    assert resumed.step == 30
    assert _records(run) == _records(straight)
    _assert_identical(straight / "checkpoints" / "step-0000030.safetensors", resumed.checkpoint)


def test_a_torn_last_metrics_line_is_dropped(tmp_path, straight, capsys):
    run = _interrupted(tmp_path, at_step=12)
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 15, "d_lo')  # a write cut short by a full disk
    capsys.readouterr()
    resume_run(str(run), {})
    assert "dropped 1 unreadable line" in capsys.readouterr().err
    assert _records(run) == _records(straight)


def test_the_line_logged_at_the_checkpoint_step_comes_back(tmp_path, straight):
    run = tmp_path / "run"
    start_run("mlp", dict(SETTINGS, steps=30, ckpt_every=10, out=run))
    lines = (run / "metrics.jsonl").read_text().splitlines()
    # Lose everything after step 15 and tear the line of step 20, the checkpoint's step.
    kept = [line for line in lines if json.loads(line)["step"] <= 15]
    (run / "metrics.jsonl").write_text("\n".join(kept) + '\n{"step": 20, "d_')
    for path in (run / "checkpoints").glob("step-0000030*"):
        path.unlink()
    resume_run(str(run), {})
    assert [r["step"] for r in _records(run)] == [5, 10, 15, 20, 25, 30]
    assert _records(run) == _records(straight)


def test_a_refused_resume_changes_nothing(tmp_path, run_cli):
    run = tmp_path / "run"
    start_run("mlp", dict(SETTINGS, steps=14, out=run))
    (run / "checkpoints" / ".step-0000021.safetensors.abc.tmp").write_bytes(b"half")
    before = _snapshot(run)
    # Already done; a step number that is no checkpoint; a bad override.
    one_line_error(run_cli("train", "--resume", run, "--steps", "10"), "already reached step 14")
    one_line_error(run_cli("train", "--resume", run, "--from", "3"), "no checkpoint at step 3")
    one_line_error(run_cli("train", "--resume", run, "--steps", "nan"), "--steps")
    one_line_error(run_cli("train", "--resume", run, "--epochs", "inf"), "--epochs")
    config = json.loads((run / "config.json").read_text())
    config["train"]["batch_size"] = "sixteen"
    (run / "config.json").write_text(json.dumps(config))
    before["config.json"] = hashlib.sha256((run / "config.json").read_bytes()).hexdigest()
    one_line_error(run_cli("train", "--resume", run, "--steps", "30"), "--batch-size")
    assert _snapshot(run) == before


def test_corrupt_newest_checkpoint_names_the_good_ones(tmp_path, run_cli):
    run = tmp_path / "run"
    start_run("mlp", dict(SETTINGS, steps=21, out=run))  # checkpoints at 7, 14, 21
    newest = run / "checkpoints" / "step-0000021.safetensors"
    data = bytearray(newest.read_bytes())
    data[-1] ^= 0x55
    newest.write_bytes(bytes(data))
    before = _snapshot(run)
    result = run_cli("train", "--resume", run, "--steps", "30")
    one_line_error(result, "damaged", "steps 14, 7", f"--resume {run} --from 14")
    assert _snapshot(run) == before

    result = run_cli("train", "--resume", run, "--from", "14", "--steps", "30")
    assert result.code == 0, result.err
    # The damaged file is kept aside, never deleted; the run went on from step 14.
    assert (run / "checkpoints" / "superseded" / "step-0000021.safetensors").read_bytes() == data
    assert (run / "checkpoints" / "step-0000030.safetensors").is_file()
    assert [r["step"] for r in _records(run)] == [5, 10, 15, 20, 25, 30]


def test_a_run_killed_before_its_first_checkpoint_starts_again(tmp_path, run_cli, straight):
    run = tmp_path / "run"
    args = ["train", "mlp", "--dataset", "ring8", "--dataset-size", "256", "--batch-size",
            "16", "-o", "hidden=16", "--log-every", "5", "--ckpt-every", "7", "--seed", "3",
            "--steps", "30", "--out", run]  # fmt: skip
    assert run_cli(*args).code == 0
    # What a kill -9 at step 6 leaves: config, some metrics and pictures, no checkpoint, and a
    # half-written temporary file.
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    (run / "checkpoints" / ".step-0000007.safetensors.x1y2.tmp").write_bytes(b"torn")
    (run / "metrics.jsonl").write_text('{"step": 5}\n{"st')
    # The same command again starts it from scratch ...
    result = run_cli(*args)
    assert result.code == 0, result.err
    assert "restarting" in result.err
    assert _records(run) == _records(straight)
    assert not list((run / "checkpoints").glob(".*.tmp"))
    # ... and --resume of such a folder starts from step 0.
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    result = run_cli("train", "--resume", run)
    assert result.code == 0, result.err
    assert "starting it again from step 0" in result.err
    _assert_identical(
        straight / "checkpoints" / "step-0000030.safetensors",
        run / "checkpoints" / "step-0000030.safetensors",
    )


def test_a_finished_run_is_never_overwritten(tmp_path, run_cli):
    run = tmp_path / "run"
    start_run("mlp", dict(SETTINGS, steps=7, out=run))
    before = _snapshot(run)
    one_line_error(
        run_cli("train", "mlp", "--dataset", "ring8", "--out", run), "already holds a run"
    )
    assert _snapshot(run) == before


def test_eval_appends_after_a_torn_line(tmp_path, run_cli):
    run = tmp_path / "run"
    result = start_run("mlp", dict(SETTINGS, steps=7, out=run))
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 8, "d_lo')
    assert run_cli("eval", result.checkpoint, "-n", "64").code == 0
    last = (run / "metrics.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["eval"]["samples"] == 64


def test_checkpoints_carry_the_running_metric_sums(tmp_path):
    run = tmp_path / "run"
    start_run("mlp", dict(SETTINGS, steps=10, keep=10, out=run))
    tensors, meta = read_all(run / "checkpoints" / "step-0000007.safetensors")
    assert tensors["rng.noise"].dtype == torch.uint8
    assert meta["metrics_count"] == "2"  # steps 6 and 7 since the line at step 5
    assert json.loads(meta["metrics_record"]) is None
    assert set(k for k in tensors if k.startswith("metrics.sum.")) == {
        "metrics.sum.d_loss", "metrics.sum.g_loss", "metrics.sum.d_real", "metrics.sum.d_fake"
    }  # fmt: skip
    _, meta = read_all(run / "checkpoints" / "step-0000010.safetensors")
    assert meta["metrics_count"] == "0"
    assert json.loads(meta["metrics_record"])["step"] == 10
