"""Checkpoints and pictures are written off the step loop, from copies: the steps go on while
a write is under way, and what lands on disk is the state of the step it was taken at."""

from __future__ import annotations

import threading
import time

import pytest
from test_resume import _assert_identical

from ganzoo.core.training import trainer as trainer_module
from ganzoo.core.training.session import start_run
from ganzoo.core.training.steps import AlternatingStep
from ganzoo.core.training.writer import BackgroundWriter

STEPS, EVERY = 40, 10
SETTINGS = dict(dataset="ring8", dataset_size=256, batch_size=32, steps=STEPS,
                ckpt_every=EVERY, sample_every=EVERY, keep=10, seed=3,
                model_options={"hidden": 16})  # fmt: skip


def test_writes_run_in_order_and_errors_come_back():
    writer = BackgroundWriter()
    done = []
    for n in range(5):
        writer.submit(lambda n=n: (time.sleep(0.01), done.append(n)))
    writer.wait()
    assert done == [0, 1, 2, 3, 4]

    def fail():
        raise OSError("disk full")

    writer.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.wait()
    writer.wait()  # reported once
    writer.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: None)  # the next hand-in reports it


def test_a_synchronous_writer_writes_at_once():
    writer = BackgroundWriter(background=False)
    done = []
    writer.submit(lambda: done.append(threading.current_thread()))
    assert done == [threading.main_thread()] and not writer.busy


def _watch_steps(monkeypatch):
    taken = [0]
    original = AlternatingStep.__call__

    def counting(self, ctx):
        taken[0] = ctx.step + 1
        return original(self, ctx)

    monkeypatch.setattr(AlternatingStep, "__call__", counting)
    return taken


def test_the_steps_go_on_while_a_checkpoint_is_written(tmp_path, monkeypatch):
    taken = _watch_steps(monkeypatch)
    write = trainer_module.save_checkpoint
    overlapped = {}

    def slow_write(path, tensors, metadata):
        # Hold this write until the loop has taken two more steps (or give up): it can
        # only get there if the write is not in the loop's way.
        step = int(metadata["step"])
        deadline = time.monotonic() + 30
        while step < STEPS and taken[0] < step + 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        overlapped[step] = taken[0] >= step + 2
        write(path, tensors, metadata)

    monkeypatch.setattr(trainer_module, "save_checkpoint", slow_write)
    background = start_run("mlp", {**SETTINGS, "out": str(tmp_path / "bg")})
    assert overlapped == {10: True, 20: True, 30: True, 40: False}  # the last ends the run

    # What the delayed writes stored is each step's state, not a later one: the same
    # checkpoints as a run writing in the loop.
    monkeypatch.setattr(trainer_module, "save_checkpoint", write)
    monkeypatch.setattr(trainer_module.Trainer, "write_in_background", False)
    inline = start_run("mlp", {**SETTINGS, "out": str(tmp_path / "inline")})
    for step in range(EVERY, STEPS + 1, EVERY):
        name = f"step-{step:07d}.safetensors"
        _assert_identical(background.run_dir / "checkpoints" / name,
                          inline.run_dir / "checkpoints" / name)  # fmt: skip
        assert (background.run_dir / "samples" / f"step-{step:07d}.png").is_file()
    assert background.checkpoint.is_file() and background.samples.is_file()


def test_a_failed_background_write_fails_the_run(tmp_path, monkeypatch):
    def broken(path, tensors, metadata):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainer_module, "save_checkpoint", broken)
    with pytest.raises(OSError, match="No space left"):
        start_run("mlp", {**SETTINGS, "out": str(tmp_path / "run")})
