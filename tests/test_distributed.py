"""torchrun: 2 CPU processes (gloo) train as one process with the same global batch would, the
ranks stay in step, only rank 0 writes, and resume works into and out of such a run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

ARGS = ["mlp", "--dataset", "ring8", "--dataset-size", "512", "-b", "32", "-o", "hidden=32",
        "--steps", "40", "--ckpt-every", "20", "--log-every", "10", "--seed", "5"]  # fmt: skip
FINAL = "checkpoints/step-0000040.safetensors"
# Gradients summed over 2 ranks then halved round differently from one process's mean.
TOLERANCE = 1e-5


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def torchrun(*args: str, procs: int = 2, script: str | None = None):
    launch = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={procs}",
              "--master_addr=127.0.0.1", f"--master_port={_port()}"]  # fmt: skip
    target = [script] if script else ["-m", "ganzoo"]
    return subprocess.run([*launch, *target, *map(str, args)], capture_output=True, text=True,
                          env=_env(), timeout=600)  # fmt: skip


def single(*args: str):
    return subprocess.run([sys.executable, "-m", "ganzoo", *map(str, args)],
                          capture_output=True, text=True, env=_env(), timeout=600)  # fmt: skip


def _max_difference(a, b) -> float:
    ta, tb = load_file(a), load_file(b)
    assert ta.keys() == tb.keys()
    return max(
        (ta[k].double() - tb[k].double()).abs().max().item()
        for k in ta
        if ta[k].is_floating_point()
    )


def _metrics(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "it_per_s"} for x in lines]


def _close(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert list(x) == list(y)
        for key in x:
            assert x[key] == pytest.approx(y[key], abs=TOLERANCE), key


@pytest.mark.slow
def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path):
    multi, one = tmp_path / "multi", tmp_path / "one"
    done = torchrun("train", *ARGS, "--out", multi)
    assert done.returncode == 0, done.stderr
    # Only rank 0 speaks and writes.
    assert done.stdout.count("run folder:") == 1
    assert done.stderr.count("mlp on ring8: step 0/40") == 1
    assert single("train", *ARGS, "--out", one).returncode == 0
    assert _max_difference(multi / FINAL, one / FINAL) < TOLERANCE
    _close(_metrics(multi), _metrics(one))
    assert sorted(p.name for p in (multi / "checkpoints").iterdir()) == [
        "step-0000020.safetensors",
        "step-0000040.safetensors",
    ]

    # Resume a 2-process run with 2 processes: the same final weights as the run itself.
    again = torchrun("train", "--resume", multi, "--from", "20")
    assert again.returncode == 0, again.stderr
    superseded = multi / "checkpoints" / "superseded" / "step-0000040.safetensors"
    assert _max_difference(multi / FINAL, superseded) == 0
    # Resume a single-process run with 2 processes, and the 2-process run with one.
    assert torchrun("train", "--resume", one, "--from", "20").returncode == 0
    assert _max_difference(multi / FINAL, one / FINAL) < TOLERANCE
    assert single("train", "--resume", multi, "--from", "20").returncode == 0
    assert _max_difference(multi / FINAL, one / FINAL) < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize(
    "family",
    [
        ["dcgan", "--resolution", "16", "-o", "width=8", "--dataset-size", "64"],
        ["cdcgan", "--resolution", "16", "-o", "width=8", "--dataset-size", "64"],
        ["pix2pix", "--resolution", "32", "-o", "width=8", "--dataset-size", "64"],
        [
            "cyclegan",
            "--resolution",
            "32",
            "-o",
            "width=8",
            "-o",
            "n_blocks=1",
            "--dataset-size",
            "64",
        ],
        ["inpainting", "--resolution", "32", "-o", "width=8", "--dataset-size", "64"],
        ["sngan", "--resolution", "32", "-o", "width=8", "--dataset-size", "64"],
    ],
    ids=lambda f: f[0],
)
def test_every_family_trains_under_torchrun(tmp_path, family):
    # Each rank checks at every checkpoint that the weights are the same on all of them
    # (a run whose ranks drift stops with an error): exit 0 means they stayed in step.
    done = torchrun("train", *family, "-b", "8", "--steps", "4", "--ckpt-every", "2",
                    "--out", tmp_path / "run")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "checkpoints" / "step-0000004.safetensors").is_file()


@pytest.mark.slow
def test_ranks_out_of_step_are_caught(tmp_path):
    script = tmp_path / "drift.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import torch
            from torch import nn
            from ganzoo.core import distributed

            ranks = distributed.requested()
            distributed.join(ranks, torch.device("cpu"))
            torch.manual_seed(0)
            net = nn.Linear(4, 4)
            distributed.broadcast_module(net)
            same = distributed.check_in_step([net], torch.device("cpu"))
            with torch.no_grad():
                net.weight[0, 0] += 1e-3 * ranks.rank
            drift = distributed.check_in_step([net], torch.device("cpu"))
            distributed.leave()
            print(f"rank {ranks.rank}: {same} {drift > 0}")
            """
        )
    )
    done = torchrun(script=str(script))
    assert done.returncode == 0, done.stderr
    assert "rank 0: 0.0 True" in done.stdout and "rank 1: 0.0 True" in done.stdout


# Run ganzoo under torchrun with ``patch`` applied first (it fills ``seen``); each rank
# writes its first ``keep`` records to a file of its own (the ranks' prints to one pipe
# can interleave).
_RECORDING = """
import os
import sys
from ganzoo.cli import main

seen = []
{patch}
try:
    main(sys.argv[1:])
except SystemExit as stop:
    assert stop.code in (0, None), stop.code
out = sys.argv[sys.argv.index("--out") + 1]
with open(f"{{out}}-rank{{os.environ['RANK']}}.txt", "w") as f:
    f.write(repr(seen[:{keep}]))
"""


def assert_ranks_differ_and_repeat(tmp_path, patch: str, keep: int, args: list[str]) -> None:
    """What each rank recorded differs between the ranks, and is the same on a rerun."""
    script = tmp_path / "record.py"
    script.write_text(_RECORDING.format(patch=textwrap.dedent(patch), keep=keep))
    lines = []
    for run in ("a", "b"):
        done = torchrun(*args, "--out", tmp_path / run, script=str(script))
        assert done.returncode == 0, done.stderr
        lines.append([(tmp_path / f"{run}-rank{r}.txt").read_text() for r in (0, 1)])
    (rank0, rank1), again = lines
    assert rank0 != rank1 and rank0 != "[]"
    assert again == [rank0, rank1]


@pytest.mark.slow
def test_each_rank_draws_its_own_augmentations(tmp_path):
    # Latents come from the shared stream (the global batch, sliced); the draws a step makes
    # for its own images must differ between ranks, and be the same again on a rerun.
    patch = """
        from ganzoo.plugins.augment import draws

        uniform = draws.Draws.uniform

        def recorded(self, *shape):
            out = uniform(self, *shape)
            seen.append(round(float(out.sum()), 6))
            return out

        draws.Draws.uniform = recorded
        """
    args = ["train", "dcgan", "--resolution", "16", "-o", "width=8", "--dataset-size", "64",
            "-b", "8", "--steps", "2", "--augment", "diffaugment"]  # fmt: skip
    assert_ranks_differ_and_repeat(tmp_path, patch, 4, args)


@pytest.mark.slow
def test_each_rank_drops_its_own_units(tmp_path):
    # nn.Dropout draws from torch's global generator, seeded alike on every rank at the start:
    # its masks must differ between ranks at the same step, and repeat on a rerun.
    patch = """
        import torch

        forward = torch.nn.Dropout.forward

        def recorded(self, x):
            out = forward(self, x)
            if self.training:
                seen.append(int((out == 0).sum()))
            return out

        torch.nn.Dropout.forward = recorded
        """
    args = ["train", "mlp", "--dataset", "ring8", "--dataset-size", "64", "-b", "16",
            "-o", "hidden=64", "-o", "dropout=0.5", "--steps", "2"]  # fmt: skip
    assert_ranks_differ_and_repeat(tmp_path, patch, 6, args)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["-b", "33"], "--batch-size 33 is the global batch and must split evenly"),
        (["--sync-bn"], "--sync-bn needs CUDA"),
    ],
)
def test_distributed_mistakes_are_one_line_errors(tmp_path, args, message):
    done = torchrun("train", *ARGS, *args, "--out", tmp_path / "run")
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr.split("error:")[0]


def test_sync_bn_alone_is_refused(run_cli, tmp_path):
    result = run_cli("train", *ARGS, "--sync-bn", "--out", str(tmp_path / "run"))
    assert result.code == 2
    assert "--sync-bn is for distributed runs (torchrun)" in result.err


def test_gradients_are_averaged_in_buckets(monkeypatch):
    from ganzoo.core import distributed

    calls = []

    def fake_all_reduce(tensor, op=None):
        calls.append(tensor.numel())
        tensor.mul_(2)  # what summing over two equal ranks gives

    monkeypatch.setattr(distributed.dist, "all_reduce", fake_all_reduce)
    monkeypatch.setattr(distributed, "BUCKET_BYTES", 64)
    params = [torch.nn.Parameter(torch.ones(n)) for n in (10, 10, 3)]
    for i, p in enumerate(params):
        p.grad = torch.full_like(p, float(i + 1))
    params.append(torch.nn.Parameter(torch.ones(2)))  # no gradient: left alone
    distributed.average_gradients(params, world=2)
    assert calls == [20, 3]  # 80 bytes closes the first bucket
    for i, p in enumerate(params[:3]):
        assert torch.equal(p.grad, torch.full_like(p, float(i + 1)))
    assert params[3].grad is None


def test_channels_last_gradients_are_reduced_in_place_in_their_layout(monkeypatch):
    from ganzoo.core import distributed

    sent = []

    def fake_all_reduce(tensor, op=None):
        sent.append(tensor.clone())
        tensor.mul_(2)

    monkeypatch.setattr(distributed.dist, "all_reduce", fake_all_reduce)
    conv = torch.nn.Parameter(torch.ones(4, 3, 2, 2).contiguous(memory_format=torch.channels_last))
    conv.grad = torch.arange(48.0).reshape(4, 3, 2, 2).contiguous(memory_format=torch.channels_last)
    bias = torch.nn.Parameter(torch.ones(4))
    bias.grad = torch.arange(4.0)
    expected = (conv.grad.clone(), bias.grad.clone())
    pointer = conv.grad.data_ptr()
    distributed.average_gradients([conv, bias], world=2)
    # Sent in memory order (NHWC), written back into the same storage and layout.
    (flat,) = sent
    assert torch.equal(flat[:48], expected[0].permute(0, 2, 3, 1).reshape(-1))
    assert conv.grad.data_ptr() == pointer
    assert conv.grad.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(conv.grad, expected[0]) and torch.equal(bias.grad, expected[1])
