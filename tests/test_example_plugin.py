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


def test_list_shows_the_models_and_the_loss() -> None:
    entries = {(e["kind"], e["name"]): e for e in ganzoo_json("list")}
    model = entries["model", "tinyconv"]
    ada = entries["model", "tinyada"]
    loss = entries["loss", "least-squares-r1"]
    for entry in (model, ada, loss):
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
    assert record["hooks"] == ["register_losses", "register_models", "register_presets"]
    assert record["provides"] == [
        "loss:least-squares-r1",
        "model:tinyconv",
        "model:tinyada",
        "preset:tinyconv-r1",
    ]


def test_registration_imports_neither_torch_nor_the_networks() -> None:
    code = (
        "import sys\n"
        "from ganzoo.zoo.catalog import get_catalog\n"
        "catalog = get_catalog()\n"
        "catalog.model('tinyconv'), catalog.model('tinyada'), catalog.loss('least-squares-r1')\n"
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
    from ganzoo.core.training.session import resume_run, start_run

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


# --- tinyada: a family with its own training step, step options and state ---------------

# D learns fast (--lr-d 5e-3), so r_t passes the target within a few steps and p moves; an
# interval of 2 adjusts p inside both halves of a 3 + 3 resume, with sums across the cut.
ADA_FLAGS = ["--resolution", "16", "--dataset", "shapes", "--dataset-size", "64",
             "--batch-size", "8", "--lr-d", "5e-3", "--seed", "3", "--log-every", "1",
             "--ckpt-every", "3", "--sample-every", "3",
             "--device", "cpu", "-o", "width=8", "-o", "latent_dim=16", "-o", "interval=2",
             "-o", "speed=64", "-o", "target=0.3"]  # fmt: skip


def test_tinyada_descriptor() -> None:
    from ganzoo.zoo.catalog import get_catalog

    info = get_catalog().model("tinyada").info
    assert info.train_step == "ganzoo_plugin_example.ada:AdaStep"
    assert info.factory == get_catalog().model("tinyconv").info.factory
    assert [(o.name, o.default) for o in info.step_options] == [
        ("target", 0.6),
        ("interval", 4),
        ("speed", 5000),
        ("padding", "reflect"),
    ]
    assert (info.networks, info.use, info.needs, info.ema) == (
        ("generator", "discriminator"),
        "noise",
        ("x",),
        ("generator",),
    )


def test_augment_at_p_zero_is_the_identity_and_draws_the_same_numbers() -> None:
    import torch
    from ganzoo_plugin_example.ada import augment

    images = torch.rand(6, 3, 16, 16) * 2 - 1
    gen0, gen1 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(augment(images, torch.tensor(0.0), gen0), images)
    augment(images, torch.tensor(0.9), gen1)
    # The stream a step consumes does not depend on p: resume never depends on it either.
    assert torch.equal(gen0.get_state(), gen1.get_state())


@pytest.mark.parametrize("padding", ["reflect", "zeros"])
def test_augment_keeps_the_graph(padding: str) -> None:
    import torch
    from ganzoo_plugin_example.ada import augment

    gen = torch.Generator().manual_seed(1)
    images = (torch.rand(32, 1, 8, 8) * 2 - 1).requires_grad_()
    out = augment(images, torch.tensor(1.0), gen, padding)
    assert out.shape == images.shape
    (grad,) = torch.autograd.grad(out.sum(), images)
    # Every output pixel reads one input pixel, or (zero padding) none.
    if padding == "reflect":
        assert grad.sum().item() == out.numel()
    else:
        assert 0 < grad.sum().item() <= out.numel()


def test_augment_shifts_brightness_per_image() -> None:
    import torch
    from ganzoo_plugin_example.ada import BRIGHTNESS_STD, augment

    # A flat image stays flat under flips and reflected translations: what changes is the
    # brightness, one N(0, 0.2²) shift per image.
    images = torch.full((256, 3, 8, 8), 0.25)
    out = augment(images, torch.tensor(1.0), torch.Generator().manual_seed(2))
    shift = out - 0.25
    assert torch.allclose(shift, shift[:, :1, :1, :1].expand_as(shift))
    assert (shift[:, 0, 0, 0] != 0).all()
    assert shift[:, 0, 0, 0].std().item() == pytest.approx(BRIGHTNESS_STD, rel=0.25)


def test_augment_translates_by_whole_pixels() -> None:
    import torch
    from ganzoo_plugin_example.ada import augment

    # Without the brightness shift, each output is its (maybe flipped) input moved by at
    # most 16/8 = 2 pixels, the border filled with zeros.
    images = torch.arange(16 * 16 * 16, dtype=torch.float32).reshape(16, 1, 16, 16) + 1
    out = augment(images, torch.tensor(1.0), torch.Generator().manual_seed(5), "zeros", 0.0)
    moves = set()
    for image, moved in zip(images, out):
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                for flipped in (False, True):
                    source = image.flip(2) if flipped else image
                    shifted = torch.zeros_like(source)
                    rows, cols = (
                        slice(max(0, dy), 16 + min(0, dy)),
                        slice(max(0, dx), 16 + min(0, dx)),
                    )
                    from_rows = slice(max(0, -dy), 16 + min(0, -dy))
                    from_cols = slice(max(0, -dx), 16 + min(0, -dx))
                    shifted[:, rows, cols] = source[:, from_rows, from_cols]
                    if torch.equal(shifted, moved):
                        found.append((dy, dx, flipped))
        assert len(found) == 1
        moves.add(found[0])
    assert len(moves) > 4  # the moves differ from image to image


def test_p_moves_by_images_over_speed_and_stays_below_one() -> None:
    import torch
    from ganzoo_plugin_example.ada import MAX_P, AdaStep

    step = AdaStep(target=0.6, interval=4, speed=100)
    step.sign_sum, step.sign_count = torch.tensor(24.0), torch.tensor(32)  # r_t = 0.75
    step._adjust()
    assert step.p.item() == pytest.approx(0.32)  # 32 images / 100
    assert (step.sign_sum.item(), step.sign_count.item()) == (0.0, 0)
    step.sign_sum, step.sign_count = torch.tensor(-8.0), torch.tensor(16)  # r_t = -0.5
    step._adjust()
    assert step.p.item() == pytest.approx(0.16)
    step.sign_sum, step.sign_count = torch.tensor(-16.0), torch.tensor(16)
    step._adjust()
    assert step.p.item() == 0.0  # clamped at 0
    step.sign_sum, step.sign_count = torch.tensor(1000.0), torch.tensor(1000)
    step._adjust()
    assert step.p.item() == pytest.approx(MAX_P)  # and below 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"p": 2.0}, "p must be a finite number in [0, 0.99]; got 2"),
        ({"p": float("nan")}, "p must be a finite number"),
        ({"p": -0.1}, "p must be a finite number"),
        ({"sign_count": -1}, "sign_count must not be negative"),
        ({"sign_sum": 9.0, "sign_count": 4}, "sign_sum must lie in"),
    ],
)
def test_ada_state_is_validated_before_it_is_loaded(edit: dict, message: str) -> None:
    import torch
    from ganzoo_plugin_example.ada import AdaStep

    step = AdaStep()
    good = {k: v.clone() for k, v in step.state_dict().items()}
    bad = dict(good)
    for key, value in edit.items():
        bad[key] = torch.tensor(value, dtype=good[key].dtype)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        step.load_state_dict(bad)
    assert step.p.item() == 0.0  # nothing was changed
    with pytest.raises(ValueError, match="has or lacks 'extra'"):
        step.load_state_dict({**good, "extra": torch.tensor(0.0)})
    with pytest.raises(ValueError, match="single torch.float32"):
        step.load_state_dict({**good, "p": torch.tensor([0.5])})


def _cli(*args: object) -> None:
    """``ganzoo ARGS`` in this process, for module-scoped fixtures (run_cli is per test)."""
    from ganzoo.cli import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        assert exc.code in (0, None), exc


@pytest.fixture(scope="module")
def ada_runs(tmp_path_factory) -> tuple[Path, Path]:
    """tinyada through the CLI: 6 steps straight, and 3 steps then a resume to 6."""
    root = tmp_path_factory.mktemp("tinyada")
    straight, split = root / "straight", root / "split"
    _cli("train", "tinyada", *ADA_FLAGS, "--steps", "6", "--out", straight)
    _cli("train", "tinyada", *ADA_FLAGS, "--steps", "3", "--out", split)
    _cli("train", "--resume", split, "--steps", "6")
    return straight, split


@pytest.mark.slow
def test_tinyada_trains_through_the_cli_and_p_adapts(ada_runs) -> None:
    from test_resume import _tensors

    out, _ = ada_runs
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert all({"p", "rt", "d_loss", "g_loss"} <= set(r) for r in records)
    assert records[0]["p"] == 0.0  # p starts at 0 ...
    assert max(r["p"] for r in records) > 0  # ... and D's overfitting raised it
    tensors = _tensors(out / "checkpoints" / "step-0000006.safetensors")
    assert {k for k in tensors if k.startswith("step_state.")} == {
        "step_state.p",
        "step_state.sign_sum",
        "step_state.sign_count",
    }
    assert 0 < tensors["step_state.p"].item() < 1
    # Step 6 adjusted p: the running sums restart empty.
    assert tensors["step_state.sign_count"].item() == 0
    assert list(out.rglob("*.png"))


@pytest.mark.slow
def test_tinyada_resume_is_bit_identical_including_p(ada_runs) -> None:
    from test_resume import _assert_identical, _tensors

    straight, split = ada_runs
    # After step 3 the sums held one step's signs: the resume carried them across the cut.
    cut = _tensors(split / "checkpoints" / "step-0000003.safetensors")
    assert cut["step_state.sign_count"].item() == 8
    last = "checkpoints/step-0000006.safetensors"
    assert _tensors(straight / last)["step_state.p"].item() > 0
    # Every tensor: weights, Adam states, RNG states, metric sums and step_state.*.
    _assert_identical(straight / last, split / last)


@pytest.mark.slow
def test_a_tampered_p_is_refused_in_one_line(ada_runs, run_cli) -> None:
    import torch
    from assertions import one_line_error
    from checkpoint_tools import rewrite

    run, _ = ada_runs
    last = run / "checkpoints" / "step-0000006.safetensors"
    newest = run / "checkpoints" / "step-0000009.safetensors"
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    cases = [
        (
            {"step_state.p": torch.tensor(2.0)},
            "invalid training step state",
            "p must be a finite number in [0, 0.99]; got 2",
        ),
        ({"step_state.sign_count": torch.tensor(-3)}, "sign_count must not be negative"),
        ({"step_state.p": torch.tensor(0.5, dtype=torch.float64)}, "no silent casts"),
    ]
    for edit, *fragments in cases:
        rewrite(last, newest, meta={"step": "9", "metrics_record": None}, tensors=edit)
        try:
            one_line_error(run_cli("train", "--resume", run, "--steps", "20"), *fragments)
        finally:
            newest.unlink()
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_tinyada_works_with_a_penalty_and_a_regulariser(tmp_path: Path, run_cli) -> None:
    """Any loss: the example's R1 penalty and --reg r1 both see the augmented images."""
    out = tmp_path / "r"
    penalties = [
        "--loss",
        "least-squares-r1",
        "--loss-option",
        "r1=1",
        "--reg",
        "r1:gamma=1,every=1",
    ]
    result = run_cli("train", "tinyada", *ADA_FLAGS, *penalties, "--steps", "2", "--out", out)
    assert result.code == 0, result.err
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["penalty"] > 0 and record["r1"] > 0
    assert {"p", "rt", "d_real_out", "d_fake_out"} <= set(record)


def test_a_plugin_preset_is_listed_and_used(tmp_path: Path, run_cli) -> None:
    listed = run_cli("list", "--kind", "preset", "--json")
    assert listed.code == 0, listed.err
    preset = {p["name"]: p for p in json.loads(listed.out)}["tinyconv-r1"]
    assert preset["plugin"] == "example" and preset["datasets"] == []
    out = tmp_path / "run"
    args = ("train", "tinyconv", "--preset", "tinyconv-r1", "-r", "16", "--steps", "2", "-b", "8")
    result = run_cli(*args, "--dataset-size", "32", "--loss-option", "r1=0.5", "--out", out)
    assert result.code == 0, result.err
    config = json.loads((out / "config.json").read_text())["train"]
    assert config["preset"] == "tinyconv-r1" and config["loss"] == "least-squares-r1"
    assert float(config["loss_options"]["r1"]) == 0.5  # the flag beat the preset
    assert config["lr_g"] == 2e-4
    # Named only: the plugin's preset is nobody's default.
    plain = run_cli("train", "tinyconv", "-r", "16", "--steps", "1", "-b", "8",
                    "--dataset-size", "16", "--out", tmp_path / "plain")  # fmt: skip
    assert plain.code == 0, plain.err
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["train"]["preset"] is None
