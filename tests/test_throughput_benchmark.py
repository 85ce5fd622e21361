"""benchmarks/throughput.py end to end at a tiny size: its figures are measured, consistent
with each other, written between their markers, and it leaves the process as it found it."""

from __future__ import annotations

import os
import re

import pytest
from benchmark_scripts import load_benchmark

from ganzoo.core.paths import CACHE_ENV
from ganzoo.core.training.trainer import Trainer


def load_throughput(monkeypatch):
    return load_benchmark(monkeypatch, "throughput")


def test_tiny_run_reports_consistent_figures(monkeypatch, tmp_path, capsys):
    throughput = load_throughput(monkeypatch)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "user-cache"))
    run = Trainer.run
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nkept text\n")
    result = throughput.main(
        ["--images", "40", "--source-size", "24", "--resolution", "16", "--width", "8",
         "--batch-size", "8", "--steps", "3", "--warmup", "1", "--repeats", "2",
         "--cli-repeats", "1", "--device", "cpu", "--out", str(out)]
    )  # fmt: skip

    for name in ("plain", "ganzoo"):
        figures = result[name]
        assert len(figures["runs"]) == 2 and all(r > 0 for r in figures["runs"])
        assert figures["min"] <= figures["median"] <= figures["max"]
    assert result["ratio"] == pytest.approx(result["ganzoo"]["median"] / result["plain"]["median"])
    # The first decode came before the timed runs, so every one of them read the cache.
    assert result["ganzoo_cache"] == ["hit", "hit"]
    assert result["decode_s"] > 0 and result["cached_s"] > 0
    assert set(result["cli"]) == {"ganzoo --help", "ganzoo list"}
    assert all(seconds > 0 for seconds in result["cli"].values())

    printed = capsys.readouterr().out
    assert len(re.findall(r"^repeat \d/2 (plain |ganzoo) +[\d.]+ images/s", printed, re.M)) == 4
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept text\n")
    assert "## Throughput: ganzoo's trainer vs a hand-written loop (CPU)" in text
    body = text.split("<!-- throughput_cpu:begin -->")[1].split("<!-- throughput_cpu:end -->")[0]
    assert f"| ganzoo trainer | {result['ganzoo']['median']:.1f} |" in body
    assert f"| {result['ratio']:.2f} |" in body
    # Nothing leaked: the user's cache is untouched, the trainer is ganzoo's own again.
    assert not (tmp_path / "user-cache").exists()
    assert os.environ[CACHE_ENV] == str(tmp_path / "user-cache")
    assert Trainer.run is run
