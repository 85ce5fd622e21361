"""EMA of the generator: on by default for image families (decay 0.999, warmed up), off for
2D points, `--no-ema` to train without it or to use the raw weights."""

from __future__ import annotations

import json

import pytest
import torch
from assertions import one_line_error
from safetensors import safe_open
from torch import nn

from ganzoo.core.training.ema import EMA
from ganzoo.core.training.session import start_run

TINY = dict(resolution=16, batch_size=8, dataset_size=16, steps=3,
            model_options={"width": 4, "latent_dim": 8})  # fmt: skip


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    return start_run("dcgan", dict(TINY, out=tmp_path_factory.mktemp("ema") / "run"))


def _config(result):
    return json.loads((result.run_dir / "config.json").read_text())["train"]


def test_image_families_average_by_default(image_run):
    config = _config(image_run)
    assert config["ema"] == 0.999 and config["ema_rampup"] is True
    with safe_open(str(image_run.checkpoint), framework="pt") as handle:
        names = list(handle.keys())  # noqa: SIM118 (safe_open is not a dict)
    assert any(k.startswith("generator_ema.") for k in names)


def test_points_do_not_average_by_default_but_the_2d_preset_does(tmp_path):
    settings = dict(dataset="ring8", dataset_size=64, batch_size=16, steps=2,
                    model_options={"hidden": 8})  # fmt: skip
    plain = start_run("mlp", dict(settings, preset="none", out=tmp_path / "plain"))
    assert _config(plain)["ema"] == 0.0
    # mlp-2d averages: measured on ring8, it lifts every seed's high-quality share.
    assert _config(start_run("mlp", dict(settings, out=tmp_path / "preset")))["ema"] == 0.999


def test_rampup_forgets_the_initial_weights_quickly():
    ema = EMA(nn.Linear(2, 2), 0.999, rampup=True)
    assert ema.decay_at(0) == pytest.approx(0.1)
    assert ema.decay_at(90) == pytest.approx(0.91)
    assert ema.decay_at(100_000) == 0.999
    assert EMA(nn.Linear(2, 2), 0.999).decay_at(0) == 0.999  # runs made before the warm-up


def test_no_ema_trains_without_an_average_and_conflicts_with_ema(tmp_path, run_cli):
    result = run_cli("train", "dcgan", "-r", "16", "-b", "8", "--dataset-size", "16", "--steps",
                     "2", "-o", "width=4", "--no-ema", "--out", tmp_path / "run")  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["ema"] == 0.0
    one_line_error(run_cli("train", "dcgan", "--ema", "0.9", "--no-ema", "--steps", "1"),
                   "--no-ema")  # fmt: skip


def test_sample_uses_the_average_unless_told_not_to(image_run, tmp_path, run_cli):
    averaged, raw = tmp_path / "ema.npy", tmp_path / "raw.npy"
    base = ("sample", image_run.checkpoint, "-n", "4")
    assert run_cli(*base, "-o", averaged).code == 0
    assert run_cli(*base, "-o", raw, "--no-ema").code == 0
    assert averaged.read_bytes() != raw.read_bytes()
    import ganzoo

    assert ganzoo.load(str(image_run.checkpoint)).weights == "ema"
    assert ganzoo.load(str(image_run.checkpoint), ema=False).weights == "raw"
    torch.testing.assert_close(
        ganzoo.load(str(image_run.checkpoint), ema=False).sample(4, seed=0),
        ganzoo.load(str(image_run.checkpoint), ema=False).sample(4, seed=0),
    )
