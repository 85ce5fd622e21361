"""benchmarks/gpu_ablation.py's pieces that need no GPU: it refuses without one, counts the
FLOPs of a whole training step, builds its ladder one technique at a time, times ganzoo
runs and formats the table (the GPU figures themselves come from a GPU machine)."""

from __future__ import annotations

import pytest
import torch
from benchmark_scripts import load_benchmark
from torch.utils.flop_counter import FlopCounterMode

from ganzoo.core.build import build_model

TINY = {"width": 8, "latent_dim": 16}


@pytest.fixture
def ablation(monkeypatch):
    return load_benchmark(monkeypatch, "gpu_ablation")


def test_refuses_without_cuda_in_one_line(ablation, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "benchmarks.md"
    with pytest.raises(SystemExit) as stopped:
        ablation.main(["--out", str(out)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gpu_ablation.py measures training on a CUDA GPU, and torch sees none here"]
    assert not out.exists()


def test_step_flops_count_both_updates_forward_and_backward(ablation):
    cpu = torch.device("cpu")
    flops = ablation.step_flops("dcgan", (3, 16, 16), 4, cpu, TINY)
    assert ablation.step_flops("dcgan", (3, 16, 16), 8, cpu, TINY) == 2 * flops
    # The same networks' forward passes, counted alone.
    gan, _ = build_model("dcgan", (3, 16, 16), TINY)
    with FlopCounterMode(display=False) as counter:
        images = gan.generator(torch.randn(4, 16))
    g_forward = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        gan.discriminator(images)
    d_forward = counter.get_total_flops()
    # G: its forward and a backward of about twice that. D: three forwards (real, detached
    # fake, fake for G), weight and input gradients for its own loss (2 x 2 forwards, less
    # the first layer's input gradient) and input gradients only for G's (about 1 forward).
    assert 3 * g_forward + 6 * d_forward < flops <= 3 * g_forward + 8 * d_forward


def test_ladder_adds_one_technique_per_row(ablation):
    rows = ablation.ladder(ablation.DCGAN_LADDER)
    assert rows[0][1] == ablation.EVERYTHING_OFF
    for (_, before), (_, after) in zip(rows, rows[1:]):
        changed = {k for k in after if after[k] != before[k]}
        assert len(changed) == 1
    assert rows[-1][1] == {
        "precision": "bf16",
        "data_placement": "device",
        "memory_format": "channels_last",
        "fused_adam": "on",
        "compile": True,
    }
    i2i = dict(ablation.ladder(ablation.I2I_LADDER))
    assert i2i["CUDA defaults (fp32)"]["memory_format"] == "auto"


def test_table_reports_ratios_and_the_fraction_of_peak(ablation):
    off = ablation.EVERYTHING_OFF
    tables = [
        {
            "model": "dcgan", "batch_size": 256, "resolution": 64, "flops_per_image": 2e9,
            "rows": [
                {"label": "plain", "settings": None, "median": 1000.0, "min": 900.0,
                 "max": 1100.0},
                {"label": "off", "settings": off, "median": 2000.0, "min": 1950.0,
                 "max": 2100.0},
                {"label": "+ bf16", "settings": dict(off, precision="bf16"), "median": 4000.0,
                 "min": 3900.0, "max": 4100.0},
                {"label": "+ --compile", "settings": dict(off, compile=True), "median": None,
                 "min": None, "max": None},
            ],
        }
    ]  # fmt: skip
    text = ablation.table(tables, 3, 800.0)
    lines = text.splitlines()
    assert lines[0].startswith("| model | batch | configuration | images/s (median of 3) |")
    # 4000 images/s x 2 GFLOP = 8 TFLOP/s = 1 % of 800; twice "off", four times "plain".
    row = "| dcgan 64 px | 256 | {} | {} |"
    assert row.format("+ bf16", "4,000 | 3,900 – 4,100 | 4.00 | 2.00 | 8.0 | 1.0 %") in lines
    assert row.format("plain", "1,000 | 900 – 1,100 | 1.00 | 0.50 | 2.0 | 0.2 %") in lines
    assert row.format("+ --compile", "out of GPU memory | — | — | — | — | —") in lines
    assert "- dcgan at 64 px, batch 256: 2.00 GFLOP per image per training step" in lines


def test_family_rows_time_real_runs(ablation, tmp_path, monkeypatch):
    """The ladder's runs on the CPU at a tiny size: each row is measured; a --compile row
    that fell back to eager says so."""

    def failing_compile(module, *args, **kwargs):
        class Broken(torch.nn.Module):
            def forward(self, *a, **k):
                raise RuntimeError("no compiler")

        return Broken()

    monkeypatch.setattr(torch, "compile", failing_compile)
    rungs = (ablation.DCGAN_LADDER[0], ablation.DCGAN_LADDER[4], ablation.DCGAN_LADDER[5])
    base = {"dataset": "shapes", "resolution": 16, "dataset_size": 32, "batch_size": 8,
            "model_options": TINY}  # fmt: skip
    rows = ablation.family_rows("dcgan", base, rungs, (1, 2, 2), torch.device("cpu"), tmp_path)
    assert [row["label"] for row in rows] == [
        "fp32, everything off", "+ fused Adam", "+ --compile (fell back to eager)",
    ]  # fmt: skip
    for row in rows:
        assert len(row["runs"]) == 2 and all(rate > 0 for rate in row["runs"])
        assert row["min"] <= row["median"] <= row["max"]
    assert rows[1]["settings"]["fused_adam"] == "on" and rows[2]["settings"]["compile"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    "argv", [["--images", "100", "--batch-sizes", "256"], ["--families", "stylegan"],
             ["--batch-sizes", "0"], ["--steps", "0"]],
)  # fmt: skip
def test_bad_arguments_are_refused(ablation, argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        ablation.parse_args(argv)
    assert stopped.value.code == 2
