"""Class-conditional families: labels from the data, class names in the checkpoint,
`sample --class`, one row per class, and exact class control on labelled ring8."""

from __future__ import annotations

import pytest
import torch
from assertions import one_line_error
from PIL import Image
from test_resume import _assert_identical

import ganzoo
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.errors import DataError
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.datasets.shapes import CLASSES as SHAPE_CLASSES
from ganzoo.plugins.datasets.toy2d import RING8_MEANS

CDCGAN = dict(
    dataset="shapes",
    resolution=16,
    model_options={"width": 8, "latent_dim": 16},
    dataset_size=64,
    batch_size=16,
    sample_count=16,
)


@pytest.fixture(scope="module")
def cdcgan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdcgan") / "run"
    return start_run("cdcgan", dict(CDCGAN, steps=4, out=out))


@pytest.mark.parametrize("seed", [0, 1])
def test_conditional_mlp_puts_each_class_on_its_own_ring8_mode(tmp_path, seed):
    """Issue 7's evidence: >= 95 % of class-k samples are nearest to mode k, on average."""
    settings = dict(dataset="ring8", dataset_size=4096, batch_size=128, steps=600, seed=seed,
                    model_options={"hidden": 64, "depth": 2})  # fmt: skip
    result = start_run("cmlp", dict(settings, out=tmp_path / "run"))
    generator = ganzoo.load(str(result.checkpoint))
    assert generator.classes == tuple(f"mode{k}" for k in range(8))
    hits = []
    for k in range(8):
        nearest = torch.cdist(generator.sample(500, seed=1, label=k), RING8_MEANS).argmin(1)
        hits.append(float((nearest == k).float().mean()))
    assert sum(hits) / 8 >= 0.95, hits


def test_class_names_travel_in_the_checkpoint_and_the_picture_has_a_row_per_class(cdcgan_run):
    ckpt = Checkpoint(cdcgan_run.checkpoint)
    assert tuple(ckpt.json("classes", list)) == SHAPE_CLASSES
    assert ckpt.raw["use"] == "class"
    assert ckpt.json("model_config", dict)["num_classes"] == len(SHAPE_CLASSES)
    rows = len(SHAPE_CLASSES)
    height = Image.open(cdcgan_run.samples).height
    assert height == 2 + rows * (16 + 2)  # torchvision's grid: 2 px padding


def test_sample_by_class_name_or_index(cdcgan_run, tmp_path, run_cli):
    by_name = tmp_path / "star.npy"
    by_index = tmp_path / "three.npy"
    name = SHAPE_CLASSES[3]
    assert (
        run_cli("sample", cdcgan_run.checkpoint, "--class", name, "-n", "5", "-o", by_name).code
        == 0
    )
    assert (
        run_cli("sample", cdcgan_run.checkpoint, "--class", "3", "-n", "5", "-o", by_index).code
        == 0
    )
    assert by_name.read_bytes() == by_index.read_bytes()
    other = tmp_path / "other.npy"
    run_cli("sample", cdcgan_run.checkpoint, "--class", "0", "-n", "5", "-o", other)
    assert other.read_bytes() != by_name.read_bytes()
    grid = tmp_path / "grid.png"
    assert run_cli("sample", cdcgan_run.checkpoint, "-n", "10", "-o", grid).code == 0
    assert Image.open(grid).height == 2 + len(SHAPE_CLASSES) * 18  # one row per class


def test_unknown_class_lists_the_classes(cdcgan_run, tmp_path, run_cli):
    out = tmp_path / "x.png"
    line = one_line_error(
        run_cli("sample", cdcgan_run.checkpoint, "--class", "dragon", "-o", out), "unknown class"
    )
    assert all(name in line for name in SHAPE_CLASSES)
    one_line_error(
        run_cli("sample", cdcgan_run.checkpoint, "--class", "99", "-o", out), "unknown class"
    )


def test_an_unconditional_checkpoint_takes_no_class(tmp_path, run_cli):
    result = start_run("mlp", dict(dataset="ring8", dataset_size=64, batch_size=16, steps=2,
                                   out=tmp_path / "run", model_options={"hidden": 8}))  # fmt: skip
    one_line_error(run_cli("sample", result.checkpoint, "--class", "0", "-o", tmp_path / "a.png"),
                   "takes no --class")  # fmt: skip


def test_conditional_resume_is_bit_identical(tmp_path):
    settings = dict(CDCGAN, seed=3, ema=0.9)
    straight = start_run("cdcgan", dict(settings, steps=6, out=tmp_path / "straight"))
    start_run("cdcgan", dict(settings, steps=3, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_a_folder_without_class_subfolders_is_refused_before_decoding(tmp_path, monkeypatch):
    for i in range(4):
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    from ganzoo.plugins.datasets.folder import decode

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before refusing")

    monkeypatch.setattr(decode, "decode_all", no_decoding)
    with pytest.raises(DataError, match="class subfolders"):
        start_run("cdcgan", dict(CDCGAN, dataset=f"folder:{tmp_path}", steps=1,
                                 out=tmp_path / "run"))  # fmt: skip


def test_class_subfolders_train_a_conditional_model(tmp_path):
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    for name, colour in colours.items():
        (tmp_path / "art" / name).mkdir(parents=True)
        for i in range(8):
            Image.new("RGB", (24, 20), colour).save(tmp_path / "art" / name / f"{i}.png")
    result = start_run("cdcgan", dict(CDCGAN, dataset=f"folder:{tmp_path / 'art'}", steps=2,
                                      batch_size=8, out=tmp_path / "run"))  # fmt: skip
    generator = ganzoo.load(str(result.checkpoint))
    assert generator.classes == ("blue", "red")
    assert generator.sample(2, seed=0, label=1).shape == (2, 3, 16, 16)


def test_model_data_mismatch_is_one_line_before_decoding(tmp_path, run_cli):
    result = run_cli("train", "cdcgan", "--dataset", "shapestyles", "--steps", "1",
                     "--out", tmp_path / "run")  # fmt: skip
    one_line_error(result, "needs x (samples), label (class labels)")
    assert not (tmp_path / "run").exists()
