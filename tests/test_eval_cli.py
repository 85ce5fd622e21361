"""`ganzoo eval` on 2D mixtures: JSON, run-folder logging, and clear errors."""

import json

import pytest

from ganzoo.core.training.session import start_run


@pytest.fixture(scope="module")
def ring_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring") / "run"
    settings = dict(dataset="ring8", steps=4, batch_size=32, dataset_size=256, out=out,
                    model_options={"hidden": 16})  # fmt: skip
    return start_run("mlp", settings).checkpoint


def test_eval_points_json_and_log(run_cli, ring_checkpoint):
    result = run_cli("eval", ring_checkpoint, "--json", "-n", "300")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["metrics"] == ["modes"] and report["samples"] == 300
    assert report["data"] == "ring8" and report["step"] == 4
    assert set(report["results"]) == {"modes", "modes_total", "high_quality", "reverse_kl"}
    assert report["results"]["modes_total"] == 8

    log = ring_checkpoint.parent.parent / "metrics.jsonl"
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["step"] == 4 and last["eval"]["results"] == report["results"]

    table = run_cli("eval", ring_checkpoint, "-n", "300", "--data", "grid25")
    assert table.code == 0 and "modes_total" in table.out and "25" in table.out


def test_eval_errors_are_one_line(run_cli, ring_checkpoint, tmp_path):
    cases = [
        (("-m", "fid"), "measures image data"),
        (("-m", "mdoes"), "did you mean 'modes'"),
        (("--data", "shapes"), "image data"),
        (("-n", "0"), "'-n'"),
    ]
    for args, fragment in cases:
        result = run_cli("eval", ring_checkpoint, *args)
        assert result.code == 2, (args, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], (args, result.err)
    missing = run_cli("eval", tmp_path / "nope.safetensors")
    assert missing.code == 2 and "no checkpoint file" in missing.err
