"""Presets: settings that work for a model on a kind of data, filled in where the user gave
none, shown by ``train --help`` and ``list --json``; ``--preset NAME`` / ``--preset none``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganzoo.zoo.catalog import Catalog, Entry
from ganzoo.zoo.presets import PresetInfo
from ganzoo.zoo.records import PluginRecord

TRAIN = ("train", "mlp", "--dataset", "ring8", "--dataset-size", "256", "--steps", "2")


def train_config(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())["train"]


def preset(name: str) -> PresetInfo:
    return Catalog.from_entry_points().preset(name).info


def test_list_json_shows_presets_with_settings_and_evidence(run_cli) -> None:
    result = run_cli("list", "--kind", "preset", "--json")
    assert result.code == 0, result.err
    by_name = {p["name"]: p for p in json.loads(result.out)}
    ring = by_name["mlp-2d"]
    assert ring["kind"] == "preset" and ring["models"] == ["mlp"]
    assert "points" in ring["datasets"]
    assert ring["settings"] == dict(preset("mlp-2d").settings)
    assert "benchmarks/" in ring["evidence"]  # says how it was measured
    assert ring["flags"].startswith("--") and ring["plugin"] == "mlp"


def test_train_help_lists_the_presets(run_cli) -> None:
    result = run_cli("train", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "Presets" in text and "--preset" in text
    for name in ("mlp-2d", "mlp-grid25"):
        assert name in text


def test_the_default_preset_fills_what_the_user_left_unset(run_cli, tmp_path: Path) -> None:
    result = run_cli(*TRAIN, "--out", tmp_path / "run")
    assert result.code == 0, result.err
    config = train_config(tmp_path / "run")
    settings = preset("mlp-2d").settings
    assert config["preset"] == "mlp-2d"
    assert "preset 'mlp-2d'" in result.err
    for key, value in settings.items():
        if key == "steps":
            assert config["steps"] == 2  # given
        elif key == "model_options":
            assert {k: config["model_options"][k] for k in value} == value
        else:
            assert config[key] == value, key


def test_explicit_flags_win_one_by_one(run_cli, tmp_path: Path) -> None:
    settings = preset("mlp-2d").settings
    result = run_cli(
        *TRAIN, "--lr-g", "1e-4", "-o", "latent_dim=3", "-o", "hidden=16", "--out", tmp_path / "r"
    )
    assert result.code == 0, result.err
    config = train_config(tmp_path / "r")
    assert config["lr_g"] == 1e-4
    assert int(config["model_options"]["latent_dim"]) == 3
    assert int(config["model_options"]["hidden"]) == 16
    assert config["lr_d"] == settings["lr_d"]  # not given: still the preset's


def test_a_data_set_preset_beats_the_data_kind_preset() -> None:
    catalog = Catalog.from_entry_points()
    assert catalog.default_preset("mlp", "grid25", "points").name == "mlp-grid25"
    assert catalog.default_preset("mlp", "ring8", "points").name == "mlp-2d"
    assert catalog.default_preset("pix2pix", "edges2shapes", "image").name == "pix2pix-quickstart"
    assert catalog.default_preset("pix2pix", "folder", "image") is None


def test_ties_are_broken_by_name_and_other_models_do_not_match() -> None:
    catalog = Catalog()
    record = PluginRecord("p", "d", "1", "m")
    for name, models in (("b", ("x",)), ("a", ("x",)), ("c", ("y",))):
        info = PresetInfo(name, "", models, {"steps": 5}, datasets=("image",))
        catalog._entries["preset"][name] = Entry(info, record)
    assert catalog.default_preset("x", "folder", "image").name == "a"
    assert catalog.default_preset("y", "folder", "image").name == "c"
    assert catalog.default_preset("x", "ring8", "points") is None


def test_preset_none_gives_plain_defaults(run_cli, tmp_path: Path) -> None:
    result = run_cli(*TRAIN, "--preset", "none", "--out", tmp_path / "r")
    assert result.code == 0, result.err
    config = train_config(tmp_path / "r")
    assert config["preset"] is None
    assert config["lr_g"] is None  # the family's own Adam default, resolved when built
    assert config["ema"] == 0.0  # no average for points without the preset
    assert "preset" not in result.err


def test_a_named_preset_is_used_even_where_it_is_not_the_default(run_cli, tmp_path) -> None:
    result = run_cli(*TRAIN, "--preset", "mlp-grid25", "--out", tmp_path / "r")
    assert result.code == 0, result.err
    config = train_config(tmp_path / "r")
    assert config["preset"] == "mlp-grid25"
    assert "asked for" in result.err


def test_dcgan_on_the_embedded_set_uses_the_quickstart_preset(run_cli, tmp_path: Path) -> None:
    result = run_cli("train", "dcgan", "--dataset-size", "64", "-b", "8", "--steps", "2",
                     "-o", "width=8", "--out", tmp_path / "quick")  # fmt: skip
    assert result.code == 0, result.err
    assert "preset 'dcgan-quickstart' (the default for dcgan on shapes" in result.err
    config = train_config(tmp_path / "quick")
    assert config["preset"] == "dcgan-quickstart"
    assert config["resolution"] == 32 and config["lr_decay"] == 0.5
    optimiser = (config["lr_g"], config["lr_d"], config["beta1"], config["beta2"])
    assert optimiser == (2e-3, 2e-3, 0.0, 0.99)
    # What the command line gave beat the preset, key by key in the option map.
    assert (config["batch_size"], config["steps"]) == (8, 2)
    assert config["model_options"]["width"] in (8, "8")
    assert config["model_options"]["latent_dim"] in (32, "32")  # the preset's, beside it
    # Another loss brings its own optimiser settings, not the preset's fast Adam.
    wgan = run_cli("train", "dcgan", "--loss", "wgan-gp", "--dataset-size", "64", "-b", "8",
                   "--steps", "1", "-o", "width=8", "--out", tmp_path / "wgan")  # fmt: skip
    assert wgan.code == 0, wgan.err
    config = train_config(tmp_path / "wgan")
    assert (config["lr_g"], config["beta1"], config["d_steps"]) == (1e-4, 0.0, 5)
    assert config["resolution"] == 32  # the preset's, as no loss has a say in it


def test_the_quick_start_is_pix2pix_on_its_embedded_pairs(run_cli, tmp_path: Path) -> None:
    # What scripts/setup.sh runs, with a smaller set, batch and step count.
    result = run_cli("train", "pix2pix", "--dataset-size", "16", "-b", "4", "--steps", "2",
                     "--out", tmp_path / "quick")  # fmt: skip
    assert result.code == 0, result.err
    assert "preset 'pix2pix-quickstart' (the default for pix2pix on edges2shapes" in result.err
    config = train_config(tmp_path / "quick")
    assert config["preset"] == "pix2pix-quickstart" and config["dataset"] == "edges2shapes"
    assert config["resolution"] == 64 and config["lr_decay"] == 0.5
    optimiser = (config["lr_g"], config["lr_d"], config["beta1"], config["beta2"])
    assert optimiser == (2e-3, 2e-3, 0.0, 0.99)
    assert {k: int(v) for k, v in config["model_options"].items()} == {
        "width": 16,
        "max_width": 128,
    }
    # It ends by naming the grid of sketch | painting | target and the real grid beside it.
    samples = tmp_path / "quick" / "samples"
    lines = dict(line.split(":", 1) for line in result.out.splitlines() if ":" in line)
    assert Path(lines["samples"].strip()) == samples / "step-0000002.png"
    assert Path(lines["real"].strip()) == samples / "real.png"
    assert (samples / "step-0000002.png").is_file() and (samples / "real.png").is_file()


def test_the_quickstart_preset_is_not_the_default_on_a_folder(run_cli, tmp_path) -> None:
    from PIL import Image

    art = tmp_path / "art"
    art.mkdir()
    for i in range(8):
        Image.new("RGB", (20, 20), (30 * i, 80, 200 - 20 * i)).save(art / f"{i}.png")
    result = run_cli("train", "dcgan", "--dataset", f"folder:{art}", "-r", "16", "-b", "4",
                     "--steps", "1", "-o", "width=8", "--out", tmp_path / "run")  # fmt: skip
    assert result.code == 0, result.err
    config = train_config(tmp_path / "run")
    assert config["preset"] is None and "preset" not in result.err
    assert config["lr_g"] is None and config["beta1"] is None  # left to DCGAN's own


def test_the_small_data_preset_is_opt_in_and_trains(run_cli, tmp_path: Path) -> None:
    # Not a default for dcgan (plain DCGAN leads for the first few thousand steps); named, it
    # sets the measured recipe, and a flag still wins over it.
    named = run_cli("train", "dcgan", "--preset", "dcgan-small-data", "--resolution", "16",
                    "--dataset-size", "64", "--steps", "2", "-o", "width=8", "--out",
                    tmp_path / "small")  # fmt: skip
    assert named.code == 0, named.err
    config = train_config(tmp_path / "small")
    assert config["preset"] == "dcgan-small-data"
    assert (config["loss"], config["ema"]) == ("hinge", 0.999)
    assert config["augment"]["name"] == "diffaugment"
    assert config["augment"]["options"]["policy"] == "color+translation+cutout"
    assert config["batch_size"] == 32 and config["steps"] == 2  # --steps beat the preset
    assert str(config["model_options"]["sn"]).lower() == "true"
    assert config["model_options"]["width"] in (8, "8")


def test_another_loss_keeps_its_own_training_defaults(run_cli, tmp_path: Path) -> None:
    result = run_cli(*TRAIN, "--loss", "wgan-gp", "--out", tmp_path / "r")
    assert result.code == 0, result.err
    config = train_config(tmp_path / "r")
    assert config["loss"] == "wgan-gp"
    assert config["d_steps"] == 5 and config["beta1"] == 0.0 and config["beta2"] == 0.9


def test_epochs_beat_the_presets_steps(run_cli, tmp_path: Path) -> None:
    args = ("train", "mlp", "--dataset", "ring8", "--dataset-size", "128", "--epochs", "1")
    result = run_cli(*args, "-b", "64", "--out", tmp_path / "r")
    assert result.code == 0, result.err
    config = train_config(tmp_path / "r")
    assert config["steps"] is None and config["epochs"] == 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (("--preset", "mlp-2"), "unknown preset 'mlp-2'; did you mean"),
        (("--preset", "mlp-2d", "--steps", "1"), None),
    ],
)
def test_preset_names_are_checked(run_cli, tmp_path: Path, args, message) -> None:
    base = ("train", "mlp", "--dataset", "ring8", "--dataset-size", "64", "--out", tmp_path / "r")
    result = run_cli(*base, *args)
    if message is None:
        assert result.code == 0, result.err
    else:
        assert result.code == 2 and message in result.err
        assert "Traceback" not in result.err


def test_a_preset_for_another_model_is_refused(run_cli, tmp_path: Path) -> None:
    result = run_cli("train", "dcgan", "--preset", "mlp-2d", "--steps", "1", "--out", tmp_path)
    assert result.code == 2
    assert "preset 'mlp-2d' is for mlp, not 'dcgan'" in result.err


def test_resume_keeps_the_recorded_settings_and_refuses_a_new_preset(run_cli, tmp_path) -> None:
    run = tmp_path / "r"
    assert run_cli(*TRAIN, "--out", run).code == 0
    refused = run_cli("train", "--resume", run, "--preset", "none")
    assert refused.code == 2 and "--preset cannot be changed" in refused.err
    before = train_config(run)
    result = run_cli("train", "--resume", run, "--steps", "4")
    assert result.code == 0, result.err
    after = train_config(run)
    assert {k: v for k, v in after.items() if k != "steps"} == {
        k: v for k, v in before.items() if k != "steps"
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"settings": {"seed": 1}}, "settings may hold only"),
        ({"settings": {"steps": "10"}}, "setting 'steps' has the wrong type"),
        ({"settings": {"lr_g": True}}, "setting 'lr_g' has the wrong type"),
        ({"settings": {"model_options": {"w": [1]}}}, "must map names to scalars"),
        ({"settings": {}}, "settings must be a non-empty mapping"),
        ({"models": ()}, "models must be a tuple of names"),
        ({"datasets": ("two words",)}, "datasets must be a tuple of names"),
        ({"name": "none"}, "that name means no preset"),
    ],
)
def test_invalid_presets_are_refused(kwargs: dict, message: str) -> None:
    fields = {"name": "p", "description": "", "models": ("mlp",), "settings": {"steps": 1}}
    with pytest.raises(ValueError, match=message):
        PresetInfo(**{**fields, **kwargs})
