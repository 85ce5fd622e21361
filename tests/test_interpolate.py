"""`ganzoo interpolate` (a looping latent walk through seeds, GIF or PNG frames), `sample
--seeds` (one picture per seed, `--outdir`) and `--truncation` in both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from assertions import one_line_error
from PIL import Image

import ganzoo
from ganzoo.core.data.image_io import to_image
from ganzoo.core.inference.interpolation import loop_latents
from ganzoo.core.inference.sampling import parse_seeds
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.shapes import CLASSES as SHAPE_CLASSES

TINY = dict(resolution=16, batch_size=4, dataset_size=8, steps=2)


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcgan") / "run"
    settings = dict(TINY, model_options={"width": 4, "latent_dim": 8}, out=out)
    return start_run("dcgan", settings).checkpoint


@pytest.fixture(scope="module")
def cdcgan_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdcgan") / "run"
    settings = dict(TINY, dataset="shapes", batch_size=8, dataset_size=16,
                    model_options={"width": 4, "latent_dim": 8}, out=out)  # fmt: skip
    return start_run("cdcgan", settings).checkpoint


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _frame(gif: Image.Image, index: int) -> np.ndarray:
    gif.seek(index)
    return np.asarray(gif.convert("RGB"), dtype=np.int16)


def test_the_gif_loops_with_its_frames_and_starts_on_the_first_seed(dcgan_ckpt, tmp_path, run_cli):
    walk = tmp_path / "walk.gif"
    result = run_cli("interpolate", dcgan_ckpt, "--seeds", "3,17,42", "--frames", "12",
                     "--fps", "10", "-o", walk)  # fmt: skip
    assert result.code == 0, result.err
    assert f"{walk}: 12 frames" in result.out
    gif = Image.open(walk)
    assert gif.n_frames == 12 and gif.info["loop"] == 0 and gif.info["duration"] == 100
    assert run_cli("sample", dcgan_ckpt, "--seeds", "3,17,42", "--outdir", tmp_path / "s").code == 0
    # 12 frames over 3 transitions: the seeds are frames 0, 4 and 8 (a 16x16 frame has at most
    # 256 colours, so the GIF palette holds them exactly).
    for index, seed in ((0, 3), (4, 17), (8, 42)):
        expected = _pixels(tmp_path / "s" / f"seed{seed:04d}.png")
        assert np.abs(_frame(gif, index) - expected).max() <= 1


def test_png_frames_match_the_python_api_and_the_loop_closes(dcgan_ckpt, tmp_path, run_cli):
    folder = tmp_path / "frames"
    result = run_cli("interpolate", dcgan_ckpt, "--seeds", "3,17,42", "--frames", "30",
                     "--png-frames", "-o", folder, "--batch-size", "7")  # fmt: skip
    assert result.code == 0, result.err
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame-{i:04d}.png" for i in range(30)]
    generator = ganzoo.load(str(dcgan_ckpt))
    walk = generator.interpolate([3, 17, 42], 30)
    assert walk.shape == (30, 3, 16, 16)
    for i in (0, 9, 29):
        expected = np.asarray(to_image(walk[i]), dtype=np.int16)
        assert np.abs(_pixels(folder / f"frame-{i:04d}.png") - expected).max() <= 1
    assert torch.allclose(walk[0], generator.sample(1, seed=3)[0], atol=1e-5)
    # Closed loop: the last frame (0.9 of the way from seed 42 back to 3) is nearer the first
    # than the frames in the middle of the walk are.
    distance = (walk - walk[0]).abs().flatten(1).mean(1)
    assert distance[-1] < distance[5] and distance[-1] < distance[15]
    again = run_cli("interpolate", dcgan_ckpt, "--seeds", "3,17", "--frames", "4",
                    "--png-frames", "-o", folder)  # fmt: skip
    one_line_error(again, "already holds frame PNGs")


def test_loop_latents_visit_every_seed_on_the_sphere_and_come_back():
    latents = torch.randn(3, 512, generator=torch.Generator().manual_seed(0))
    path = loop_latents(latents, 10)  # transitions of 3, 3 and 4 frames
    assert path.shape == (10, 512)
    for index, seed in ((0, 0), (3, 1), (6, 2)):
        assert torch.equal(path[index], latents[seed])
    norms, radius = path.norm(dim=1), latents.norm(dim=1)
    # slerp keeps to the shell; a straight line would dip to about radius / sqrt(2) midway
    assert norms.min() > 0.95 * radius.min() and norms.max() < 1.05 * radius.max()
    step = (path - path.roll(-1, 0)).norm(dim=1)  # the last step leads back to the first
    assert step.max() < 1.5 * step.min()


def test_a_conditional_walk_keeps_its_class(cdcgan_ckpt, tmp_path, run_cli):
    walk = tmp_path / "star.gif"
    result = run_cli("interpolate", cdcgan_ckpt, "--seeds", "1,2", "--frames", "6",
                     "--class", "star", "-o", walk)  # fmt: skip
    assert result.code == 0, result.err
    generator = ganzoo.load(str(cdcgan_ckpt))
    star = SHAPE_CLASSES.index("star")
    frames = generator.interpolate([1, 2], 6, label=star)
    assert torch.allclose(frames[0], generator.sample(1, seed=1, label=star)[0], atol=1e-5)
    gif = Image.open(walk)
    expected = np.asarray(to_image(frames[3]), dtype=np.int16)
    assert np.abs(_frame(gif, 3) - expected).max() <= 1
    by_index = tmp_path / "three.gif"
    assert run_cli("interpolate", cdcgan_ckpt, "--seeds", "1,2", "--frames", "6",
                   "--class", str(star), "-o", by_index).code == 0  # fmt: skip
    assert by_index.read_bytes() == walk.read_bytes()
    one_line_error(run_cli("interpolate", cdcgan_ckpt, "--seeds", "1,2", "-o", tmp_path / "x.gif"),
                   "class-conditional", "--class", "star")  # fmt: skip


def test_interpolate_errors_are_one_line(dcgan_ckpt, tmp_path, run_cli):
    pix2pix = start_run("pix2pix", dict(TINY, resolution=32, steps=1, model_options={"width": 4},
                                        out=tmp_path / "p2p")).checkpoint  # fmt: skip
    points = start_run("mlp", dict(dataset="ring8", dataset_size=64, batch_size=16, steps=1,
                                   out=tmp_path / "mlp")).checkpoint  # fmt: skip
    gif = tmp_path / "w.gif"
    one_line_error(run_cli("interpolate", pix2pix, "-o", gif), "translates images",
                   "ganzoo translate")  # fmt: skip
    one_line_error(run_cli("interpolate", points, "-o", gif), "2D points", "ganzoo sample")
    one_line_error(run_cli("interpolate", dcgan_ckpt, "--seeds", "3", "-o", gif), "two seeds")
    one_line_error(run_cli("interpolate", dcgan_ckpt, "--seeds", "0-9", "--frames", "5", "-o",
                           gif), "at least the number of seeds (10)")  # fmt: skip
    one_line_error(run_cli("interpolate", dcgan_ckpt, "-o", tmp_path / "w.png"), ".gif")
    one_line_error(run_cli("interpolate", dcgan_ckpt, "--seeds", "1,x", "-o", gif), "'x'")
    one_line_error(run_cli("interpolate", dcgan_ckpt, "--truncation", "2.5", "-o", gif),
                   "--truncation")  # fmt: skip
    one_line_error(run_cli("interpolate", dcgan_ckpt, "--class", "star", "-o", gif),
                   "unconditional")  # fmt: skip
    assert not gif.exists()


def test_seed_lists_and_ranges():
    assert parse_seeds("1,5,10-12") == [1, 5, 10, 11, 12]
    assert parse_seeds(" 0 - 2 ,7") == [0, 1, 2, 7]
    assert parse_seeds("4,4") == [4, 4]
    assert len(parse_seeds("0-9999")) == 10_000


@pytest.mark.parametrize(
    ("seeds", "fragment"),
    [
        ("5-3", "runs backwards"),
        ("-3", "'-3' is not a seed"),
        ("1,,2", "'' is not a seed"),
        ("0-10000", "more than 10,000 seeds"),
        ("99999999999999999999", "2^63"),
        ("1.5", "'1.5'"),
    ],
)
def test_bad_seeds_are_one_line(dcgan_ckpt, tmp_path, run_cli, seeds, fragment):
    one_line_error(run_cli("sample", dcgan_ckpt, f"--seeds={seeds}", "-o", tmp_path / "g.png"),
                   "--seeds", fragment)  # fmt: skip


def test_sample_seeds_outdir_names_and_grid(dcgan_ckpt, tmp_path, run_cli):
    outdir = tmp_path / "out"
    result = run_cli("sample", dcgan_ckpt, "--seeds", "1,5,10-12", "--outdir", outdir)
    assert result.code == 0, result.err
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["seed0001.png", "seed0005.png", "seed0010.png", "seed0011.png",
                     "seed0012.png"]  # fmt: skip
    # Seed 5's picture is the first sample of `sample --seed 5`, pixel for pixel.
    single = tmp_path / "five.npy"
    assert run_cli("sample", dcgan_ckpt, "--seed", "5", "-n", "3", "-o", single).code == 0
    assert np.array_equal(np.load(single)[0], np.asarray(Image.open(outdir / "seed0005.png")))
    raw = tmp_path / "seeds.npy"
    assert run_cli("sample", dcgan_ckpt, "--seeds", "1,5,10-12", "-o", raw).code == 0
    array = np.load(raw)
    assert array.shape == (5, 16, 16, 3)
    assert np.array_equal(array[4], np.asarray(Image.open(outdir / "seed0012.png")))
    grid = tmp_path / "grid.png"
    assert run_cli("sample", dcgan_ckpt, "--seeds", "1,5,10-12", "-o", grid).code == 0
    assert Image.open(grid).size == (3 * 18 + 2, 2 * 18 + 2)  # 3 per row, torchvision padding


def test_sample_seeds_of_a_conditional_model(cdcgan_ckpt, tmp_path, run_cli):
    rows = tmp_path / "rows.png"
    assert run_cli("sample", cdcgan_ckpt, "--seeds", "0-3", "-o", rows).code == 0
    assert Image.open(rows).size == (2 + 4 * 18, 2 + len(SHAPE_CLASSES) * 18)  # a row a class
    one_line_error(run_cli("sample", cdcgan_ckpt, "--seeds", "0-3", "--outdir", tmp_path / "o"),
                   "--class")  # fmt: skip
    assert run_cli("sample", cdcgan_ckpt, "--seeds", "0-3", "--class", "cross",
                   "--outdir", tmp_path / "o").code == 0  # fmt: skip
    assert len(list((tmp_path / "o").glob("seed*.png"))) == 4


def test_sample_seeds_errors_are_one_line(dcgan_ckpt, tmp_path, run_cli):
    grid = tmp_path / "g.png"
    one_line_error(run_cli("sample", dcgan_ckpt, "--seeds", "1-3", "--seed", "2", "-o", grid),
                   "leave out --seed")  # fmt: skip
    one_line_error(run_cli("sample", dcgan_ckpt, "--seeds", "1-3", "-n", "4", "-o", grid),
                   "leave out -n")  # fmt: skip
    one_line_error(run_cli("sample", dcgan_ckpt, "--outdir", tmp_path / "o"), "give --seeds")
    one_line_error(run_cli("sample", dcgan_ckpt, "--seeds", "1", "--outdir", tmp_path / "o",
                           "-o", grid), "leave out -o")  # fmt: skip
    (tmp_path / "file").write_text("x")
    one_line_error(run_cli("sample", dcgan_ckpt, "--seeds", "1", "--outdir", tmp_path / "file"),
                   "is a file")  # fmt: skip
    one_line_error(run_cli("sample", dcgan_ckpt, "--truncation", "-0.1", "-o", grid),
                   "--truncation")  # fmt: skip


def test_truncation_one_is_off_and_zero_is_the_mean_image(dcgan_ckpt, tmp_path, run_cli):
    plain, psi_one = tmp_path / "plain.npy", tmp_path / "one.npy"
    assert run_cli("sample", dcgan_ckpt, "-n", "6", "--seed", "4", "-o", plain).code == 0
    assert run_cli("sample", dcgan_ckpt, "-n", "6", "--seed", "4", "--truncation", "1",
                   "-o", psi_one).code == 0  # fmt: skip
    assert plain.read_bytes() == psi_one.read_bytes()
    outdir = tmp_path / "mean"
    assert run_cli("sample", dcgan_ckpt, "--seeds", "0-5", "--truncation", "0",
                   "--outdir", outdir).code == 0  # fmt: skip
    pictures = [np.asarray(Image.open(p)) for p in sorted(outdir.iterdir())]
    assert len(pictures) == 6 and all(np.array_equal(p, pictures[0]) for p in pictures)
    generator = ganzoo.load(str(dcgan_ckpt))
    assert torch.equal(generator.sample(5, seed=4), generator.sample(5, seed=4, truncation=1.0))
    mean = generator.sample(3, seed=9, truncation=0.0)
    assert torch.equal(mean[0], mean[1]) and torch.equal(mean[0], mean[2])
    z = generator.sample_latent(256, generator=torch.Generator().manual_seed(4), device="cpu")
    halfway = generator.generate(0.5 * z[:5])
    assert torch.allclose(generator.sample(5, seed=4, truncation=0.5), halfway, atol=1e-6)
    stills = generator.interpolate([1, 2, 3], 6, truncation=0.0)
    assert torch.equal(stills[0], stills[4]) and torch.allclose(stills[0], mean[0], atol=1e-6)
