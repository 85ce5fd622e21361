"""The procedural paintings fixture: deterministic, varied, and readable as ``folder:PATH``."""

from __future__ import annotations

import json

import numpy as np
from paintings import make_paintings, paint, paintings_folder  # noqa: F401

from ganzoo.plugins.datasets.shapes import render


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255


def test_a_seed_always_paints_the_same_pictures(tmp_path):
    first = make_paintings(tmp_path / "a", count=4, size=32, seed=5)
    again = make_paintings(tmp_path / "b", count=4, size=32, seed=5)
    assert [p.name for p in first] == [f"painting_{i:04d}.png" for i in range(4)]
    for one, two in zip(first, again, strict=True):
        assert one.read_bytes() == two.read_bytes()


def test_other_seeds_paint_other_pictures():
    for index in range(4):
        assert not np.array_equal(pixels(paint(0, index, 32)), pixels(paint(1, index, 32)))


def test_the_paintings_are_varied_and_unlike_the_shapes_set(paintings_folder):  # noqa: F811
    from PIL import Image

    files = sorted(paintings_folder.glob("*.png"))
    assert len(files) == 300
    images = np.stack([pixels(Image.open(f).convert("RGB")) for f in files])
    assert images.shape == (300, 64, 64, 3)
    flat = images.reshape(len(images), -1)
    squared = (flat**2).sum(1)
    mean_square = (squared[:, None] + squared[None] - 2 * flat @ flat.T) / flat.shape[1]
    rms = np.sqrt(np.maximum(mean_square, 0))
    off_diagonal = rms[~np.eye(len(images), dtype=bool)]
    # No two alike: the closest pair still differs by several grey levels per pixel on average.
    assert off_diagonal.min() > 0.03, off_diagonal.min()
    assert np.median(off_diagonal) > 0.15, np.median(off_diagonal)
    # Compositions, not flat fields: mostly a sky above darker land (a night sky may be as
    # dark as its hills).
    top, bottom = images[:, :16].mean((1, 2, 3)), images[:, -16:].mean((1, 2, 3))
    assert (images.std((1, 2)).mean(1) > 0.03).all()
    assert (top > bottom).mean() > 0.8
    # Nothing like the embedded default: each shapes picture is far from every painting.
    shapes = np.stack([pixels(render(0, i, 64)) for i in range(50)]).reshape(50, -1)
    gap = np.sqrt(((shapes[:, None] - flat[None, :]) ** 2).mean(-1)).min()
    assert gap > off_diagonal.min(), gap


def test_ganzoo_trains_on_the_paintings_folder(run_cli, paintings_folder, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    result = run_cli(
        "train", "dcgan", "--dataset", f"folder:{paintings_folder}", "--resolution", "32",
        "-o", "width=8", "-o", "latent_dim=16", "--batch-size", "16", "--steps", "2",
        "--preset", "none", "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    config = json.loads((out / "config.json").read_text())
    assert config["dataset_description"].startswith("300 images from ")
    assert config["train"]["dataset"] == f"folder:{paintings_folder.resolve()}"
    last = sorted((out / "checkpoints").glob("*.safetensors"))[-1]
    assert last.name == "step-0000002.safetensors"
