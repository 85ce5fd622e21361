"""Every option has a checked range: a violation is one line and exit code 2, before any data
is decoded or any folder created; big outputs stream in bounded memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from assertions import one_line_error
from PIL import Image

import ganzoo
from ganzoo.core.training.session import start_run

TRAIN_CASES = [
    (["--lr-g", "inf"], "--lr-g"),
    (["--lr-d", "nan"], "--lr-d"),
    (["--lr-g", "100"], "--lr-g"),
    (["--beta1", "nan"], "--beta1"),
    (["--beta2", "1"], "--beta2"),
    (["--ema", "inf"], "--ema"),
    (["--epochs", "nan"], "--epochs"),
    (["--epochs", "1e300"], "--epochs"),
    (["--epochs", "-1"], "--epochs"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**63)], "--seed"),
    (["--steps", str(10**10)], "--steps"),
    (["--batch-size", str(10**6)], "--batch-size"),
    (["--d-steps", "1000"], "--d-steps"),
    (["--keep", "0"], "--keep"),
    (["--resolution", "100000"], "--resolution"),
    (["--resolution", "0"], "--resolution"),
    (["--dataset-size", str(10**9)], "--dataset-size"),
    (["--dataset-size", str(10**8)], "more than 4 GiB"),
    (["--max-image-pixels", "0"], "--max-image-pixels"),
    (["--channels", "2"], "--channels"),
    (["--device", "tpu"], "device"),
    (["-o", "width=1000000"], "at most"),
    (["-o", "width=inf"], "whole number"),
    (["-o", "latent_dim=nan"], "whole number"),
    (["--dataset", "shapes:abc"], "takes no argument"),
    (["--dataset", "ring8:size=-1"], "takes no argument"),
    (["--dataset", ":x"], "invalid dataset spec"),
    (["--dataset", "folder:"], "folder:PATH"),
    (["--from", "3"], "--from needs --resume"),
]


@pytest.mark.parametrize("args, fragment", TRAIN_CASES)
def test_train_options_are_checked_first(run_cli, tmp_path, args, fragment):
    out = tmp_path / "never"
    one_line_error(run_cli("train", "dcgan", *args, "--out", out), fragment)
    assert not out.exists()


def test_absurd_model_sizes_are_refused_before_building(run_cli, tmp_path):
    out = tmp_path / "never"
    one_line_error(
        run_cli("train", "mlp", "-o", "hidden=60000", "-o", "depth=60", "--out", out),
        "parameters",
    )
    one_line_error(run_cli("train", "mlp", "-r", "4096", "--out", out), "parameters")
    one_line_error(run_cli("train", "dcgan", "-o", "width=4096", "-r", "512", "--out", out),
              "parameters")  # fmt: skip
    assert not out.exists()


def test_nothing_is_decoded_before_the_options_are_checked(run_cli, tmp_path, monkeypatch):
    art = tmp_path / "art"
    art.mkdir()
    Image.new("RGB", (40, 40), "red").save(art / "a.png")
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(cache))
    spec = f"folder:{art}"
    one_line_error(run_cli("train", "dcgan", "--dataset", spec, "--lr-g", "nan"), "--lr-g")
    one_line_error(run_cli("train", "dcgan", "--dataset", spec, "-o", "width=0"), "width")
    assert not cache.exists() or not any(cache.rglob("*.safetensors"))


def test_unwritable_out_is_refused_before_decoding(run_cli, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    one_line_error(run_cli("train", "mlp", "--dataset", "ring8", "--out", blocker), "is a file")
    one_line_error(
        run_cli("train", "mlp", "--dataset", "ring8", "--out", blocker / "run"), "cannot write"
    )


@pytest.fixture(scope="module")
def image_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "run"
    result = start_run(
        "mlp",
        dict(dataset="shapes", resolution=32, dataset_size=16, batch_size=8, steps=1,
             model_options={"hidden": 8}, out=out),
    )  # fmt: skip
    return result.checkpoint


def test_sample_options_are_checked(run_cli, image_checkpoint, tmp_path):
    ckpt = image_checkpoint
    cases = [
        (["-n", "0"], "'-n'"),
        (["-n", str(10**8)], "'-n'"),
        (["--seed", "-1"], "'--seed'"),
        (["--seed", str(2**63)], "'--seed'"),
        (["--nrow", "0"], "'--nrow'"),
        (["-o", tmp_path / "x.jpg"], "unknown output extension '.jpg'"),
        (["-o", tmp_path / "noext"], "unknown output extension"),
        (["--format", "npy", "-o", tmp_path / "x.png"], "does not match"),
        (["-o", tmp_path / "missing" / "x.png"], "does not exist"),
        (["-n", "100000", "-o", tmp_path / "big.png"], "use fewer with -n or write .npy"),
        (["--device", "cuda:99"], "cuda"),
    ]
    for args, fragment in cases:
        one_line_error(run_cli("sample", ckpt, *args), fragment)
    assert list(tmp_path.iterdir()) == []


def test_eval_options_are_checked(run_cli, image_checkpoint):
    for args, fragment in [
        (["-n", "1"], "'-n'"),
        (["-n", str(10**7)], "'-n'"),
        (["--batch-size", "0"], "'--batch-size'"),
        (["--max-reference", "0"], "'--max-reference'"),
        (["--seed", "-5"], "'--seed'"),
        (["--max-image-pixels", "0"], "'--max-image-pixels'"),
        (["--data", "shapes:abc"], "takes no argument"),
    ]:
        one_line_error(run_cli("eval", image_checkpoint, *args), fragment)


def test_eval_reads_only_data_the_user_named(run_cli, tmp_path):
    art = tmp_path / "art"
    art.mkdir()
    for index in range(8):
        Image.new("RGB", (12, 12), (index * 30, 0, 0)).save(art / f"{index}.png")
    result = start_run(
        "mlp",
        dict(dataset=f"folder:{art}", resolution=8, batch_size=4, steps=1,
             model_options={"hidden": 8}, out=tmp_path / "run"),
    )  # fmt: skip
    elsewhere = tmp_path / "downloaded.safetensors"
    shutil.copy(result.checkpoint, elsewhere)
    # Out of its run folder, the checkpoint's recorded path is not read: --data is asked for.
    one_line_error(run_cli("eval", elsewhere, "-n", "8", "-m", "fid"), "pass --data")
    # In a run folder whose config records other data, likewise.
    config = (tmp_path / "run" / "config.json").read_text()
    (tmp_path / "run" / "config.json").write_text(config.replace(str(art), "/etc"))
    one_line_error(run_cli("eval", result.checkpoint, "-n", "8", "-m", "fid"), "pass --data")


NPY_UNDER_LIMIT = """
import resource, sys
limit = 1 << 30
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
from ganzoo.cli import main
try:
    main(["sample", sys.argv[1], "-n", "100000", "--format", "npy", "-o", sys.argv[2]])
finally:
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's across exec).
    status = open("/proc/self/status").read().splitlines()
    print("peak_kib", next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""


@pytest.mark.slow
def test_sample_streams_npy_in_bounded_memory(image_checkpoint, tmp_path):
    """100,000 images of 32x32x3: 1.2 GB as float32, more than the 1 GiB the process may
    use; written batch by batch, they fit."""
    out = tmp_path / "many.npy"
    proc = subprocess.run(
        [sys.executable, "-c", NPY_UNDER_LIMIT, str(image_checkpoint), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    peak_kib = int(proc.stdout.split("peak_kib")[1])
    assert peak_kib < 900_000, f"peak RSS {peak_kib} KiB"
    array = np.load(out, mmap_mode="r")
    assert array.shape == (100_000, 32, 32, 3) and array.dtype == np.uint8
    first = ganzoo.load(image_checkpoint).sample(3, seed=0)
    expected = first.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy()
    assert np.array_equal(array[:3], expected)
