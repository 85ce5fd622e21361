"""kill -9 at random moments: the newest checkpoint always loads, and continuing the run
reaches the same final weights and the same metrics log as a run never interrupted."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from test_resume import _assert_identical

import ganzoo
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.training.run_folder import RunFolder

TRIALS = 10
STEPS = 200
CKPT_EVERY = 10
ARGS = ["mlp", "--dataset", "ring8", "--dataset-size", "512", "--batch-size", "32",
        "-o", "hidden=32", "--steps", str(STEPS), "--ckpt-every", str(CKPT_EVERY),
        "--log-every", "5", "--seed", "5"]  # fmt: skip


def _ganzoo(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "ganzoo", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()


def _records(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "it_per_s"} for line in lines]


@pytest.mark.slow
def test_kill_9_at_random_moments(tmp_path):
    reference = tmp_path / "reference"
    _finish(_ganzoo("train", *ARGS, "--out", reference))
    final = f"step-{STEPS:07d}.safetensors"

    rng = random.Random(20261124)
    outcomes = []
    for trial in range(TRIALS):
        run = tmp_path / f"trial{trial}"
        proc = _ganzoo("train", *ARGS, "--out", run)
        if trial < 2:
            time.sleep(rng.uniform(0.2, 1.5))  # while it starts up
        else:
            # Aim at a checkpoint chosen at random, then kill a random instant after it
            # appears (mid-step or mid-write): timing by the clock alone let a loaded CI
            # machine land every kill on the same few moments.
            target = rng.randrange(CKPT_EVERY, STEPS, CKPT_EVERY)
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                found = RunFolder(run).checkpoints() if run.is_dir() else []
                if found and found[-1][0] >= target:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        checkpoints = RunFolder(run).checkpoints()
        if checkpoints:
            newest = checkpoints[-1][1]
            Checkpoint(newest).verify()
            ganzoo.load(newest).sample(2, seed=0)
        outcomes.append(checkpoints[-1][0] if checkpoints else None)
        # Continue: --resume when the run folder exists, else the same command again.
        if (run / "checkpoints" / final).is_file():
            pass  # the kill came after the end
        elif (run / "config.json").is_file():
            _finish(_ganzoo("train", "--resume", run))
        else:
            _finish(_ganzoo("train", *ARGS, "--out", run))
        _assert_identical(reference / "checkpoints" / final, run / "checkpoints" / final)
        assert _records(run) == _records(reference)
        assert not list(run.rglob(".*.tmp"))
    # The trials must have hit the run at different moments, mid-training included.
    assert len(set(outcomes)) >= 4, outcomes
    assert any(step is not None and step < STEPS for step in outcomes), outcomes
