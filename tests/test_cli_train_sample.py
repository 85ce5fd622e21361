"""Train through the CLI, inspect the run folder, then sample from the checkpoint."""

import json

import numpy as np
from PIL import Image
from safetensors import safe_open

import ganzoo

TINY_DCGAN = [
    "train",
    "dcgan",
    "--resolution",
    "16",
    "-o",
    "width=8",
    "-o",
    "latent_dim=16",
    "--dataset-size",
    "64",
    "--batch-size",
    "16",
    "--steps",
    "6",
    "--seed",
    "3",
]


def test_train_writes_a_complete_run_folder(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli(*TINY_DCGAN, "--out", out, "--sample-every", "3", "--ckpt-every", "3")
    assert result.code == 0, result.err
    assert f"run folder: {out}" in result.out
    assert "samples:" in result.out and "checkpoint:" in result.out
    # The real images' grid is named beside the samples, for comparison at a glance.
    assert f"real:       {out / 'samples' / 'real.png'}" in result.out

    config = json.loads((out / "config.json").read_text())
    assert config["train"]["model"] == "dcgan" and config["train"]["dataset"] == "shapes"
    assert config["train"]["resolution"] == 16 and config["model_config"]["width"] == 8
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 6
    assert {"d_loss", "g_loss", "d_real", "d_fake", "it_per_s", "epoch"} <= records[-1].keys()
    grids = sorted(p.name for p in (out / "samples").glob("*.png"))
    assert grids == ["real.png", "step-0000003.png", "step-0000006.png"]
    # 64 fixed samples in an 8x8 grid of 16px images with 2px padding.
    assert Image.open(out / "samples" / "step-0000006.png").size == (8 * 18 + 2, 8 * 18 + 2)
    ckpts = sorted(p.name for p in (out / "checkpoints").glob("*.safetensors"))
    assert ckpts == ["step-0000003.safetensors", "step-0000006.safetensors"]
    assert not list((out / "checkpoints").glob(".*tmp"))

    with safe_open(out / "checkpoints" / "step-0000006.safetensors", framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "ganzoo.checkpoint" and meta["format_version"] == "1"
    assert meta["model"] == "dcgan" and meta["model_plugin"] == "dcgan"
    assert meta["model_distribution"] == "ganzoo" and meta["ganzoo_version"] == ganzoo.__version__
    assert meta["loss"] == "non-saturating" and meta["step"] == "6"
    assert meta["dataset"] == "shapes"
    assert json.loads(meta["model_config"]) == {
        "data_shape": [3, 16, 16],
        "latent_dim": 16,
        "width": 8,
        "sn": False,
        "pack": 1,
    }


def test_sample_png_and_npy(run_cli, tmp_path):
    out = tmp_path / "run"
    assert run_cli(*TINY_DCGAN, "--out", out).code == 0
    ckpt = out / "checkpoints" / "step-0000006.safetensors"

    grid = tmp_path / "grid.png"
    result = run_cli("sample", ckpt, "-n", "9", "--seed", "5", "-o", grid)
    assert result.code == 0, result.err
    assert Image.open(grid).size == (3 * 18 + 2, 3 * 18 + 2)

    raw = tmp_path / "raw.npy"
    assert run_cli("sample", ckpt, "-n", "5", "--seed", "5", "-o", raw).code == 0
    array = np.load(raw, allow_pickle=False)
    assert array.shape == (5, 16, 16, 3) and array.dtype == np.uint8
    again = tmp_path / "again.npy"
    run_cli("sample", ckpt, "-n", "5", "--seed", "5", "--format", "npy", "-o", again)
    assert np.array_equal(array, np.load(again))  # same seed, same samples
    other = tmp_path / "other.npy"
    run_cli("sample", ckpt, "-n", "5", "--seed", "6", "-o", other)
    assert not np.array_equal(array, np.load(other))


def test_points_sample_and_python_api(run_cli, tmp_path):
    out = tmp_path / "ring"
    args = [
        "train",
        "mlp",
        "--dataset",
        "ring8",
        "--steps",
        "5",
        "--batch-size",
        "32",
        "--dataset-size",
        "256",
        "-o",
        "hidden=16",
        "--out",
        out,
    ]
    assert run_cli(*args).code == 0
    ckpt = next((out / "checkpoints").glob("*.safetensors"))
    pts = tmp_path / "pts.npy"
    assert run_cli("sample", ckpt, "-n", "100", "-o", pts).code == 0
    array = np.load(pts)
    assert array.shape == (100, 2) and array.dtype == np.float32
    scatter = tmp_path / "pts.png"
    assert run_cli("sample", ckpt, "-n", "100", "-o", scatter).code == 0
    assert Image.open(scatter).size == (512, 512)

    generator = ganzoo.load(str(ckpt))
    assert isinstance(generator, ganzoo.Generator) and not generator.training
    assert np.allclose(generator.sample(100, seed=0).numpy(), array, atol=1e-6)
    assert "mlp" in ganzoo.list_models() and "minimax" in ganzoo.list_losses()


def test_resume_refuses_changed_settings(run_cli, tmp_path):
    out = tmp_path / "run"
    assert run_cli(*TINY_DCGAN, "--out", out).code == 0
    result = run_cli("train", "--resume", out, "--batch-size", "8")
    assert result.code == 2 and "--batch-size" in result.err
    result = run_cli("train", "--resume", out)
    assert result.code == 2 and "already reached step 6" in result.err
    result = run_cli("train", "--resume", out, "--steps", "8")
    assert result.code == 0, result.err
    assert "step-0000008.safetensors" in result.out
    # A new run into a folder that holds one is refused, never overwritten.
    assert run_cli(*TINY_DCGAN, "--out", out).code == 2


def test_epochs_and_bf16(run_cli, tmp_path):
    out = tmp_path / "epochs"
    args = ["train", "mlp", "--dataset", "ring8", "--dataset-size", "256", "--batch-size", "32",
            "--epochs", "2", "-o", "hidden=8", "--precision", "bf16", "--out", out]  # fmt: skip
    result = run_cli(*args)
    assert result.code == 0, result.err
    # 2 epochs of 256 samples in batches of 32: 16 generator steps.
    assert "step-0000016.safetensors" in result.out
    config = json.loads((out / "config.json").read_text())
    assert config["total_steps"] == 16 and config["train"]["precision"] == "bf16"
