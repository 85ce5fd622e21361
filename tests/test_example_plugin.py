"""The example plugin package (examples/ganzoo-plugin-example), installed as a user would.

It must be pip-installed for these tests: CI installs it and fails loudly if it is missing;
locally the tests are skipped with the command to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

DIST = "ganzoo-plugin-example"
VERSION = "0.1.0"


def installed() -> bool:
    try:
        metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(autouse=True, scope="module")
def example_installed() -> None:
    if not installed():
        message = f"{DIST} is not installed; run: pip install ./examples/ganzoo-plugin-example"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # conftest.py clears GANZOO_STRICT_PLUGINS and GANZOO_DISABLE_PLUGINS for every test.
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


def ganzoo_json(*args: str):
    result = run("-m", "ganzoo", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_shows_the_model_and_the_loss() -> None:
    entries = {(e["kind"], e["name"]): e for e in ganzoo_json("list")}
    model = entries["model", "tinyconv"]
    loss = entries["loss", "least-squares-r1"]
    for entry in (model, loss):
        assert entry["plugin"] == "example"
        assert entry["distribution"] == DIST
        assert entry["version"] == VERSION
    assert [o["name"] for o in model["options"]] == ["latent_dim", "width"]
    assert [(o["name"], o["default"]) for o in loss["options"]] == [
        ("a", 0.0),
        ("b", 1.0),
        ("c", 1.0),
        ("r1", 0.0),
    ]


def test_plugins_shows_it_ok_with_its_hooks() -> None:
    (record,) = [r for r in ganzoo_json("plugins") if r["distribution"] == DIST]
    assert record["name"] == "example"
    assert record["version"] == VERSION
    assert record["module"] == "ganzoo_plugin_example.plugin"
    assert record["status"] == "ok"
    assert record["errors"] == []
    assert record["hooks"] == ["register_losses", "register_models"]
    assert record["provides"] == ["loss:least-squares-r1", "model:tinyconv"]


def test_registration_imports_neither_torch_nor_the_networks() -> None:
    code = (
        "import sys\n"
        "from ganzoo.zoo.catalog import get_catalog\n"
        "catalog = get_catalog()\n"
        "catalog.model('tinyconv'), catalog.loss('least-squares')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'"
        " or m.startswith('ganzoo_plugin_example.') and m != 'ganzoo_plugin_example.plugin'))\n"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the least-squares loss -------------------------------------------------------------


def test_least_squares_values_by_hand() -> None:
    import torch

    import ganzoo

    loss = ganzoo.create_loss("least-squares-r1")
    real = torch.tensor([1.0, 3.0])
    fake = torch.tensor([0.0, -2.0])
    # D: ½·mean(0², 2²) + ½·mean(0², (-2)²) = 1 + 1;  G: ½·mean((-1)², (-3)²) = 2.5
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(2.0)
    assert loss.generator_loss(fake).item() == pytest.approx(2.5)


@pytest.mark.parametrize("targets", [{}, {"a": -1.0, "b": 1.0, "c": 0.0}])
def test_least_squares_matches_its_formula(targets: dict[str, float]) -> None:
    import torch

    import ganzoo

    a, b, c = targets.get("a", 0.0), targets.get("b", 1.0), targets.get("c", 1.0)
    loss = ganzoo.create_loss("least-squares-r1", **targets)
    assert isinstance(loss, ganzoo.Loss)
    gen = torch.Generator().manual_seed(0)
    # Logits far outside [-1, 1] too: the loss acts on raw outputs, with no sigmoid to saturate.
    real = (torch.randn(64, generator=gen, dtype=torch.float64) * 5).requires_grad_()
    fake = (torch.randn(64, generator=gen, dtype=torch.float64) * 5).requires_grad_()
    n = real.numel()

    d_loss = loss.discriminator_loss(real, fake)
    assert d_loss.shape == ()
    expected = 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()
    torch.testing.assert_close(d_loss, expected)
    d_real, d_fake = torch.autograd.grad(d_loss, (real, fake))
    torch.testing.assert_close(d_real, (real - b).detach() / n)
    torch.testing.assert_close(d_fake, (fake - a).detach() / n)

    g_loss = loss.generator_loss(fake)
    assert g_loss.shape == ()
    torch.testing.assert_close(g_loss, 0.5 * ((fake - c) ** 2).mean())
    (g_fake,) = torch.autograd.grad(g_loss, fake)
    torch.testing.assert_close(g_fake, (fake - c).detach() / n)


def test_least_squares_optimum_is_at_the_targets() -> None:
    import torch

    import ganzoo

    loss = ganzoo.create_loss("least-squares-r1")
    ones, zeros = torch.ones(8), torch.zeros(8)
    assert loss.discriminator_loss(ones, zeros).item() == 0.0
    assert loss.generator_loss(ones).item() == 0.0


# --- the tinyconv model -----------------------------------------------------------------


@pytest.mark.parametrize(("resolution", "channels"), [(8, 1), (16, 3), (32, 1), (64, 3)])
def test_tinyconv_shapes(resolution: int, channels: int) -> None:
    import torch

    import ganzoo

    gan = ganzoo.create(
        "tinyconv", resolution=resolution, channels=channels, latent_dim=16, width=8
    )
    G, D = gan.generator, gan.discriminator
    assert isinstance(G, ganzoo.Generator)
    assert isinstance(D, ganzoo.Discriminator)
    assert G.latent_dim == 16
    images = G(torch.randn(4, 16))
    assert images.shape == (4, channels, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert D(images).shape == (4,)
    assert G.sample(3, seed=1).shape == (3, channels, resolution, resolution)


def test_tinyconv_default_resolution() -> None:
    import ganzoo

    gan = ganzoo.create("tinyconv", channels=3, width=4)
    assert gan.generator.data_shape == (3, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 24}, "resolutions 8, 16, 32, 64 and 128; got 24"),
        ({"resolution": 256}, "resolutions 8, 16, 32, 64 and 128; got 256"),
        ({"resolution": 4}, "resolutions 8, 16, 32, 64 and 128; got 4"),
        ({"points": True}, "trains on image data, not points"),
        ({"width": 2}, "must be at least 4"),
    ],
)
def test_tinyconv_refuses_what_it_cannot_build(kwargs: dict, message: str) -> None:
    import ganzoo
    from ganzoo.core.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        ganzoo.create("tinyconv", **kwargs)


def test_tinyconv_checks_channels_and_squareness() -> None:
    from ganzoo_plugin_example.networks import build

    from ganzoo.core.errors import ConfigError

    with pytest.raises(ConfigError, match="1 or 3 channels; got 2"):
        build((2, 16, 16))
    with pytest.raises(ConfigError, match="square images; got 16x32"):
        build((3, 16, 32))


# --- end to end through the CLI ---------------------------------------------------------


@pytest.mark.slow
def test_train_tinyconv_with_least_squares(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run(
        "-m",
        "ganzoo",
        "train",
        "tinyconv",
        "--loss",
        "least-squares-r1",
        "--dataset",
        "shapes",
        "--resolution",
        "16",
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--dataset-size",
        "64",
        "--device",
        "cpu",
        "--out",
        str(out),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    printed = {
        label: Path(rest.strip())
        for label, _, rest in (line.partition(":") for line in result.stdout.splitlines())
    }
    assert printed["checkpoint"].suffix == ".safetensors"
    assert printed["checkpoint"].is_file()
    assert printed["samples"].exists()
    assert list(out.rglob("*.png"))


def test_a_plugin_loss_with_a_penalty_trains_a_builtin_model(tmp_path: Path) -> None:
    """The example's least-squares loss with its R1 penalty, on ganzoo's own mlp: the penalty
    reaches D's loss and the log, and the run resumes exactly."""
    import torch
    from test_resume import _assert_identical

    import ganzoo
    from ganzoo.core.session import resume_run, start_run

    loss = ganzoo.create_loss("least-squares-r1", r1=2.0)
    D = torch.nn.Linear(2, 1)
    real = torch.randn(5, 2)
    # D(x) = w·x + b has ∇D = w everywhere: R1 = (2 / 2) ||w||².
    penalty = loss.discriminator_penalty(D, real, real, torch.Generator())
    torch.testing.assert_close(penalty, D.weight.square().sum())

    settings = dict(dataset="ring8", dataset_size=128, batch_size=16, loss="least-squares-r1",
                    loss_options={"r1": "2"}, model_options={"hidden": 8}, seed=2)  # fmt: skip
    straight = start_run("mlp", dict(settings, steps=6, out=tmp_path / "straight"))
    record = json.loads((tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["penalty"] > 0 and "d_real_out" in record
    start_run("mlp", dict(settings, steps=3, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})
    _assert_identical(straight.checkpoint, resumed.checkpoint)
