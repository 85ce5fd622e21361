"""`ganzoo translate` and `ganzoo restore`: any size in, same size out, folders mirrored,
one-line errors for the wrong kind of checkpoint and unreadable inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from assertions import one_line_error
from PIL import Image

import ganzoo
from ganzoo.core.training.session import start_run

TINY = dict(resolution=32, batch_size=4, dataset_size=8, steps=2)


@pytest.fixture(scope="module")
def pix2pix_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("p2p") / "run"
    return start_run("pix2pix", dict(TINY, model_options={"width": 8}, out=out)).checkpoint


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcgan") / "run"
    settings = dict(TINY, resolution=16, model_options={"width": 4, "latent_dim": 8}, out=out)
    return start_run("dcgan", settings).checkpoint


def test_translate_a_folder_keeps_names_and_sizes(pix2pix_ckpt, tmp_path, run_cli):
    source = tmp_path / "in"
    (source / "nested").mkdir(parents=True)
    Image.new("RGB", (50, 31), (250, 250, 250)).save(source / "wide.png")
    Image.new("L", (17, 40), 20).save(source / "nested" / "tall.jpg")
    (source / "broken.png").write_bytes(b"not a picture")
    result = run_cli("translate", pix2pix_ckpt, source, "-o", tmp_path / "out")
    assert result.code == 0, result.err
    assert "2 picture(s) translated (1 unreadable skipped)" in result.out
    assert Image.open(tmp_path / "out" / "wide.png").size == (50, 31)
    tall = Image.open(tmp_path / "out" / "nested" / "tall.jpg")
    assert tall.size == (17, 40) and tall.mode == "RGB"
    assert not (tmp_path / "out" / "broken.png").exists()


def test_translate_one_picture_and_the_python_api_agree(pix2pix_ckpt, tmp_path, run_cli):
    Image.new("RGB", (32, 32), (255, 255, 255)).save(tmp_path / "sketch.png")
    assert run_cli("translate", pix2pix_ckpt, tmp_path / "sketch.png", "-o",
                   tmp_path / "painted.png").code == 0  # fmt: skip
    translator = ganzoo.load(str(pix2pix_ckpt))
    expected = translator.translate_image(Image.open(tmp_path / "sketch.png").convert("RGB"))
    got = Image.open(tmp_path / "painted.png")
    assert got.tobytes() == expected.tobytes()
    images = torch.zeros(2, 3, 32, 32)
    assert translator.translate(images).shape == (2, 3, 32, 32)


def test_translate_errors_are_one_line(pix2pix_ckpt, dcgan_ckpt, tmp_path, run_cli):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    one_line_error(run_cli("translate", dcgan_ckpt, tmp_path / "a.png", "-o", tmp_path / "b.png"),
                   "generates images from noise")  # fmt: skip
    one_line_error(run_cli("translate", pix2pix_ckpt, tmp_path / "a.png", "-o", tmp_path / "b.png",
                           "--direction", "BtoA"), "trained AtoB")  # fmt: skip
    (tmp_path / "bad.png").write_bytes(b"\x89PNG but not really")
    one_line_error(run_cli("translate", pix2pix_ckpt, tmp_path / "bad.png", "-o",
                           tmp_path / "c.png"), "bad.png")  # fmt: skip
    one_line_error(run_cli("translate", pix2pix_ckpt, tmp_path / "missing", "-o",
                           tmp_path / "d.png"), "does not exist")  # fmt: skip
    one_line_error(run_cli("translate", pix2pix_ckpt, tmp_path / "a.png", "-o",
                           tmp_path / "e.txt"), "picture file")  # fmt: skip
    one_line_error(run_cli("sample", pix2pix_ckpt, "-o", tmp_path / "s.png"), "ganzoo translate")


def test_restore_refuses_a_translation_checkpoint(pix2pix_ckpt, tmp_path, run_cli):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (8, 8), 255).save(tmp_path / "m.png")
    result = run_cli("restore", pix2pix_ckpt, tmp_path / "a.png", "--mask", tmp_path / "m.png",
                     "-o", tmp_path / "r.png")  # fmt: skip
    one_line_error(result, "translates images")


@pytest.fixture(scope="module")
def inpainting_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("inpaint") / "run"
    return start_run("inpainting", dict(TINY, model_options={"width": 4}, out=out)).checkpoint


def _picture_and_mask(folder, name, size=(45, 30)):
    picture = Image.effect_noise(size, 60).convert("RGB")
    mask = Image.new("L", size, 0)
    mask.paste(255, (5, 5, 20, 15))
    picture.save(folder / name)
    return picture, mask


def test_restore_keeps_every_pixel_outside_the_mask(inpainting_ckpt, tmp_path, run_cli):
    picture, mask = _picture_and_mask(tmp_path, "photo.png")
    mask.save(tmp_path / "mask.png")
    result = run_cli("restore", inpainting_ckpt, tmp_path / "photo.png", "--mask",
                     tmp_path / "mask.png", "-o", tmp_path / "fixed.png")  # fmt: skip
    assert result.code == 0, result.err
    fixed = Image.open(tmp_path / "fixed.png").convert("RGB")
    assert fixed.size == picture.size
    before, after = torch.tensor(np.asarray(picture)), torch.tensor(np.asarray(fixed))
    hole = torch.tensor(np.asarray(mask)) > 127
    assert torch.equal(before[~hole], after[~hole])
    assert not torch.equal(before[hole], after[hole])
    restorer = ganzoo.load(str(inpainting_ckpt))
    assert restorer.use == "restore"
    assert restorer.restore_image(picture, mask).tobytes() == fixed.tobytes()


def test_restore_a_folder_with_masks_of_the_same_names(inpainting_ckpt, tmp_path, run_cli):
    pictures, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    for folder in (pictures / "sub", masks / "sub"):
        folder.mkdir(parents=True)
    _, mask = _picture_and_mask(pictures, "a.png")
    mask.save(masks / "a.png")
    _, mask = _picture_and_mask(pictures / "sub", "b.jpg", size=(20, 64))
    mask.save(masks / "sub" / "b.png")  # another extension: still its mask
    _picture_and_mask(pictures, "lonely.png")  # no mask: skipped, reported
    result = run_cli("restore", inpainting_ckpt, pictures, "--mask", masks, "-o", out,
                     "--batch-size", "2")  # fmt: skip
    assert result.code == 0, result.err
    assert "2 picture(s) restored (1 skipped)" in result.out
    assert "lonely.png" in result.err
    assert Image.open(out / "a.png").size == (45, 30)
    assert Image.open(out / "sub" / "b.jpg").size == (20, 64)
    assert not (out / "lonely.png").exists()
    # One mask for the whole folder, stretched to each picture.
    result = run_cli("restore", inpainting_ckpt, pictures, "--mask", masks / "a.png",
                     "-o", tmp_path / "shared")  # fmt: skip
    assert result.code == 0 and "3 picture(s) restored" in result.out


def test_restore_errors_are_one_line(inpainting_ckpt, tmp_path, run_cli):
    picture, mask = _picture_and_mask(tmp_path, "p.png")
    mask.resize((10, 10)).save(tmp_path / "small.png")
    one_line_error(
        run_cli(
            "restore",
            inpainting_ckpt,
            tmp_path / "p.png",
            "--mask",
            tmp_path / "small.png",
            "-o",
            tmp_path / "o.png",
        ),
        "same size",
    )
    one_line_error(
        run_cli(
            "restore",
            inpainting_ckpt,
            tmp_path / "p.png",
            "--mask",
            tmp_path / "none.png",
            "-o",
            tmp_path / "o.png",
        ),
        "does not exist",
    )
    (tmp_path / "junk.png").write_bytes(b"junk")
    one_line_error(
        run_cli(
            "restore",
            inpainting_ckpt,
            tmp_path / "junk.png",
            "--mask",
            tmp_path / "small.png",
            "-o",
            tmp_path / "o.png",
        ),
        "junk.png",
    )
    one_line_error(
        run_cli("translate", inpainting_ckpt, tmp_path / "p.png", "-o", tmp_path / "o.png"),
        "ganzoo restore",
    )
