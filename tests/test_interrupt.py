"""Ctrl-C finishes the step, saves a checkpoint, exits 130, and the run resumes from it."""

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "ganzoo", "train", "mlp", "--dataset", "ring8",
            "--steps", "1000000", "--log-every", "10", "--batch-size", "16",
            "--dataset-size", "256", "-o", "hidden=8", "--out", str(out)]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    metrics = out / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "training never logged a step"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted at step" in stderr and "--resume" in stderr
    ckpts = sorted((out / "checkpoints").glob("step-*.safetensors"))
    assert ckpts, stdout
    stopped = int(ckpts[-1].stem.split("-")[1])
    assert stopped > 0

    resumed = subprocess.run(
        [sys.executable, "-m", "ganzoo", "train", "--resume", str(out), "--steps",
         str(stopped + 5)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"step-{stopped + 5:07d}.safetensors" in resumed.stdout
