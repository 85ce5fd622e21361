"""Checkpoints and a run folder written by ganzoo 0.1.0 (before networks were named by the
family) still load and sample the same, and the run resumes. The resumed weights are those
of today's training step (one G forward per step since issue 9; 0.1.0 ran G again for its
update), recorded in expected.json when that step changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.core.training.session import resume_run

DATA = Path(__file__).parent / "data" / "release-0.1"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def _check(samples: torch.Tensor, expected: dict) -> None:
    first = samples.flatten()[: len(expected["sample_seed3_n4_first"])]
    assert torch.allclose(first, torch.tensor(expected["sample_seed3_n4_first"]), atol=1e-6)
    assert float(samples.double().sum()) == pytest.approx(expected["sum"], abs=1e-5)


@pytest.mark.parametrize("name", ["mlp-ring8-ema", "dcgan-shapes-8px"])
def test_release_0_1_checkpoints_load_and_sample_the_same(name):
    generator = ganzoo.load(str(DATA / f"{name}.safetensors"))
    assert generator.weights == EXPECTED[name]["weights"]
    _check(generator.sample(4, seed=3), EXPECTED[name])


def test_a_release_0_1_run_resumes_as_it_did(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(DATA / "mlp-run", run)  # no samples/ folder: git keeps no empty folder
    result = resume_run(str(run), {"steps": 9})
    assert result.step == 9
    generator = ganzoo.load(str(result.checkpoint))
    _check(generator.sample(4, seed=3), EXPECTED["mlp-run resumed to step 9"])
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines][-3:] == [7, 8, 9]
