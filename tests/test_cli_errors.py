"""Bad input: one clear line on stderr, exit code 2, never a traceback."""

import json

import pytest
import torch
from assertions import one_line_error
from safetensors.torch import save_file

from ganzoo.core.training.session import start_run


def test_unknown_names_suggest_the_closest(run_cli):
    one_line_error(run_cli("train", "dcgna", "--steps", "1"), "unknown model 'dcgna'", "'dcgan'")
    one_line_error(run_cli("train", "mlp", "--loss", "minmax"), "unknown loss", "'minimax'")
    one_line_error(run_cli("train", "mlp", "--dataset", "foldr:x"), "dataset source", "'folder'")


def test_bad_folders(run_cli, tmp_path):
    one_line_error(run_cli("train", "mlp", "--dataset", f"folder:{tmp_path / 'nope'}"), "nope")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.jpg").write_bytes(b"not an image at all")
    result = run_cli("train", "mlp", "--dataset", f"folder:{bad}", "--steps", "1")
    one_line_error(result, "no readable image", "broken.jpg (cannot identify image file)")
    one_line_error(run_cli("train", "mlp", "--dataset", "folder"), "folder:PATH")


def test_invalid_option_values(run_cli):
    one_line_error(run_cli("train", "dcgan", "--steps", "-5"), "--steps")
    one_line_error(run_cli("train", "dcgan", "--resolution", "48"), "48")
    one_line_error(run_cli("train", "dcgan", "--batch-size", "0"), "--batch-size")
    one_line_error(run_cli("train", "dcgan", "-o", "width=wide"), "width")
    one_line_error(run_cli("train", "dcgan", "-o", "nosuch=1"), "no option 'nosuch'")
    one_line_error(run_cli("train", "dcgan", "--channels", "2"), "--channels")
    one_line_error(run_cli("train", "dcgan", "--dataset", "ring8"), "points")
    one_line_error(run_cli("train", "dcgan", "--lr-g", "0"), "--lr-g")
    one_line_error(run_cli("train", "dcgan", "--steps", "x"), "--steps")
    one_line_error(run_cli("train", "--resume", "/nonexistent/run"), "not a ganzoo run folder")


def test_sample_rejects_non_checkpoints(run_cli, tmp_path):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is not a checkpoint")
    one_line_error(run_cli("sample", text), "not a safetensors file")

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    one_line_error(run_cli("sample", plain), "without ganzoo metadata")

    one_line_error(run_cli("sample", tmp_path / "missing.safetensors"), "no checkpoint file")


def test_sample_names_a_missing_plugin(run_cli, tmp_path):
    result = start_run(
        "mlp",
        dict(
            dataset="ring8",
            steps=1,
            batch_size=8,
            dataset_size=64,
            out=tmp_path / "run",
            model_options={"hidden": 8},
        ),
    )
    from safetensors import safe_open

    with safe_open(result.checkpoint, framework="pt") as handle:
        meta = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
    meta.update(
        model="stylegan9", model_distribution="ganzoo-stylegan9", model_plugin_version="2.0"
    )
    foreign = tmp_path / "foreign.safetensors"
    save_file(tensors, foreign, metadata=meta)
    one_line_error(
        run_cli("sample", foreign), "'stylegan9'", "ganzoo-stylegan9 2.0", "no installed"
    )

    # A checkpoint whose tensors do not fit the model it names.
    config = json.loads(meta["model_config"])
    meta.update(model="mlp", model_config=json.dumps(dict(config, hidden=16)))
    mismatched = tmp_path / "mismatch.safetensors"
    save_file(tensors, mismatched, metadata=meta)
    one_line_error(run_cli("sample", mismatched), "shape")


@pytest.mark.parametrize("flag", ["--steps", "--log-every"])
def test_zero_is_rejected(run_cli, flag):
    one_line_error(run_cli("train", "mlp", "--dataset", "ring8", flag, "0"), flag)
