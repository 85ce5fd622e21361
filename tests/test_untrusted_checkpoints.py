"""A checkpoint from elsewhere is untrusted: every field and tensor is checked before anything
is allocated, and each refusal is one sentence with exit code 2, quickly, in bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from assertions import one_line_error
from checkpoint_tools import read_all, rewrite

import ganzoo
from ganzoo.core.errors import CheckpointError
from ganzoo.core.training.session import resume_run, start_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny 2D run and a tiny image run (with EMA), trained for a few steps."""
    root = tmp_path_factory.mktemp("runs")
    points = start_run(
        "mlp",
        dict(dataset="ring8", steps=4, batch_size=8, dataset_size=64,
             model_options={"hidden": 8}, out=root / "points"),
    )  # fmt: skip
    images = start_run(
        "dcgan",
        dict(dataset="shapes", steps=2, batch_size=8, dataset_size=16, resolution=8,
             model_options={"width": 4, "latent_dim": 8}, ema=0.9, out=root / "images"),
    )  # fmt: skip
    return {"points": points.checkpoint, "images": images.checkpoint}


# (what is edited, the fragment of the one-line refusal)
CONFIG_CASES = [
    ({"hidden": 60_000, "depth": 60}, "parameters"),
    ({"hidden": 10**12}, "at most"),
    ({"hidden": "8"}, "must be a whole number"),
    ({"hidden": 8.0}, "must be a whole number"),
    ({"hidden": True}, "must be a whole number"),
    ({"dropout": float("nan")}, "finite"),
    ({"dropout": float("inf")}, "finite"),
    ({"depth": -3}, "at least"),
    ({"nosuch": 1}, "no option 'nosuch'"),
    ({"data_shape": [3, 4096, 4096], "hidden": 64}, "parameters"),
    ({"data_shape": [3, 10**6, 10**6]}, "data_shape"),
    ({"data_shape": "2"}, "data_shape"),
    ({"data_shape": [2, 2]}, "data_shape"),
    ({"data_shape": [0]}, "data_shape"),
    ({"data_shape": [-2]}, "data_shape"),
    ({"data_shape": [2.5]}, "data_shape"),
    ({"data_shape": [True]}, "data_shape"),
    ({"data_shape": [[2]]}, "data_shape"),
]


@pytest.mark.parametrize("config, fragment", CONFIG_CASES)
def test_model_config_is_checked_before_building(runs, tmp_path, run_cli, config, fragment):
    crafted = rewrite(runs["points"], tmp_path / "crafted.safetensors", config=config)
    started = time.perf_counter()
    result = run_cli("sample", crafted, "-o", tmp_path / "out.png")
    assert time.perf_counter() - started < 1.0
    one_line_error(result, fragment)
    assert not (tmp_path / "out.png").exists()


METADATA_CASES = [
    ({"model_config": "not json"}, "not JSON"),
    ({"model_config": "[1, 2]"}, "JSON object"),
    ({"model_config": "{" * 100_000}, "not JSON"),
    ({"model": "dcgan"}, "cannot rebuild"),
    ({"model": "no such model"}, "invalid model name"),
    ({"step": "-5"}, "step must be a whole number"),
    ({"step": "1e3"}, "step must be a whole number"),
    ({"step": "99999999999999999999999"}, "step must be a whole number"),
    ({"step": None}, "lacks the metadata field 'step'"),
    ({"data_kind": "audio"}, "data_kind"),
    ({"data_kind": "image"}, "does not fit"),
    ({"device_type": "tpu"}, "device_type"),
    ({"format_version": "99"}, "format version"),
]


@pytest.mark.parametrize("meta, fragment", METADATA_CASES)
def test_metadata_fields_are_type_checked(runs, tmp_path, run_cli, meta, fragment):
    crafted = rewrite(runs["points"], tmp_path / "crafted.safetensors", meta=meta)
    one_line_error(run_cli("sample", crafted, "-o", tmp_path / "out.png"), fragment)


def _first(tensors, prefix):
    return next(k for k in sorted(tensors) if k.startswith(prefix))


def test_tensors_must_match_in_dtype_shape_and_name(runs, tmp_path, run_cli):
    tensors, _ = read_all(runs["images"])
    weight = _first(tensors, "generator.net.0.weight")
    cases = [
        ({weight: tensors[weight].double()}, (), "no silent casts"),
        ({weight: tensors[weight].half()}, (), "no silent casts"),
        ({weight: tensors[weight][:1]}, (), "shape"),
        ({"payload.code": torch.zeros(3)}, (), "'payload.code'"),
        ({"optim.generator.state.999.exp_avg": torch.zeros(3)}, (), "belongs to no parameter"),
        ({"optim.generator.state.0.exp_avg": torch.zeros(3)}, (), "shape"),
        ({"rng.torch_cpu": torch.zeros(7, dtype=torch.uint8)}, (), "rng.torch_cpu"),
        ({"rng.noise": torch.zeros(5056)}, (), "rng.noise"),
        ({}, (weight,), "lacks"),
        ({}, ("rng.noise",), "RNG state"),
        # Half an EMA generator is refused; none at all is a run without --ema.
        ({}, (_first(tensors, "generator_ema."),), "lacks"),
    ]
    for index, (replace, drop, fragment) in enumerate(cases):
        crafted = rewrite(
            runs["images"], tmp_path / f"c{index}.safetensors", tensors=replace, drop=drop
        )
        one_line_error(run_cli("sample", crafted, "-o", tmp_path / "out.png"), fragment)


def test_damaged_data_is_detected_by_the_checksum(runs, tmp_path, run_cli):
    data = bytearray(runs["points"].read_bytes())
    data[-3] ^= 0xFF
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(bytes(data))
    one_line_error(run_cli("sample", damaged, "-o", tmp_path / "out.png"), "damaged")
    with pytest.raises(CheckpointError, match="damaged"):
        ganzoo.load(damaged)


def test_header_size_is_capped_before_reading(tmp_path, run_cli):
    claims_a_lot = tmp_path / "a.safetensors"
    claims_a_lot.write_bytes((2**40).to_bytes(8, "little") + b"{}")
    one_line_error(run_cli("sample", claims_a_lot), "not a safetensors file")
    huge = tmp_path / "huge.safetensors"
    header = json.dumps({"__metadata__": {"format": "ganzoo.checkpoint", "x": "y" * (17 << 20)}})
    huge.write_bytes(len(header).to_bytes(8, "little") + header.encode())
    one_line_error(run_cli("sample", huge), "header")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    one_line_error(run_cli("sample", empty), "not a safetensors file")


# A copy of the newest checkpoint, renamed to a later step (its logged line is dropped).
AT_STEP_9 = {"step": "9", "metrics_record": None}


def test_every_entry_point_refuses_the_same_file(runs, tmp_path, run_cli):
    """sample, eval, --resume and ganzoo.load all validate before they build."""
    crafted = rewrite(runs["points"], tmp_path / "big.safetensors", config={"hidden": 60_000,
                      "depth": 60})  # fmt: skip
    with pytest.raises(CheckpointError, match="parameters"):
        ganzoo.load(crafted)
    one_line_error(run_cli("eval", crafted, "--data", "ring8"), "parameters")

    run = runs["points"].parent.parent
    newest = run / "checkpoints" / "step-0000009.safetensors"
    rewrite(runs["points"], newest, meta=AT_STEP_9, config={"hidden": 60_000, "depth": 60})
    try:
        one_line_error(run_cli("train", "--resume", run, "--steps", "20"), "parameters")
    finally:
        newest.unlink()


def test_resume_checks_counters_and_optimiser_groups(runs, tmp_path, run_cli):
    run = runs["points"].parent.parent
    newest = run / "checkpoints" / "step-0000009.safetensors"
    _, meta = read_all(runs["points"])
    groups = json.loads(meta["optim.generator.param_groups"])
    bad_groups = [
        [dict(groups[0], lr="fast")],
        [dict(groups[0], lr=-1.0)],
        [dict(groups[0], betas=[0.5, 2.0])],
        [dict(groups[0], params=[0, 1, 999])],
        [dict(groups[0], evil={"__class__": "os.system"})],
        groups * 2,
        {"not": "a list"},
    ]
    cases = [({"optim.generator.param_groups": g}, "param_groups") for g in bad_groups]
    cases += [
        ({"data_draws": "-1"}, "data_draws"),
        ({"metrics_count": "x"}, "metrics_count"),
        ({"metrics_record": {"step": 3}}, "metrics_record"),
        ({"metrics_record": [1, 2]}, "metrics_record"),
    ]
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    config_before = (run / "config.json").read_bytes()
    for meta_edit, fragment in cases:
        rewrite(runs["points"], newest, meta={**AT_STEP_9, **meta_edit})
        try:
            one_line_error(run_cli("train", "--resume", run, "--steps", "20"), fragment)
        finally:
            newest.unlink()
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
        assert (run / "config.json").read_bytes() == config_before


def test_invalid_rng_bytes_are_refused(runs, tmp_path):
    run = runs["points"].parent.parent
    newest = run / "checkpoints" / "step-0000009.safetensors"
    noise = torch.randint(0, 256, (5056,), dtype=torch.uint8)
    rewrite(runs["points"], newest, meta=AT_STEP_9, tensors={"rng.noise": noise})
    try:
        with pytest.raises(CheckpointError, match="RNG state"):
            resume_run(str(run), {"steps": 20})
    finally:
        newest.unlink()


LOAD_UNDER_LIMIT = """
import resource, sys
limit = 1 << 30
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
import ganzoo
from ganzoo.core.errors import CheckpointError
try:
    ganzoo.load(sys.argv[1])
except CheckpointError as exc:
    print("refused:", exc)
# VmHWM is this process's own peak (ru_maxrss would carry the parent's across exec).
status = open("/proc/self/status").read().splitlines()
print("peak_kib", next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""


def test_refusal_happens_in_bounded_memory(runs, tmp_path):
    """A file that describes a 200-billion-parameter model is refused by a process that may
    not use more than 1 GiB of data memory, without coming near it."""
    crafted = rewrite(runs["points"], tmp_path / "big.safetensors", config={"hidden": 60_000,
                      "depth": 60})  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_UNDER_LIMIT, str(crafted)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused:" in proc.stdout and "parameters" in proc.stdout
    peak_kib = int(proc.stdout.split("peak_kib")[1])
    assert peak_kib < 1_000_000, f"peak RSS {peak_kib} KiB"


def test_a_good_checkpoint_still_loads(runs):
    G = ganzoo.load(runs["images"])
    assert G.weights == "ema"
    assert G.sample(3, seed=0).shape == (3, 3, 8, 8)
