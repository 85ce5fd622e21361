"""Augmentation plugins (``--augment``): DiffAugment and ADA, the interface every step and
checkpoint sees, and their use in training, resume and the catalog."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch
from assertions import one_line_error
from checkpoint_tools import rewrite
from safetensors import safe_open

import ganzoo
from ganzoo.core.training.augment import Augment, Identity
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.core.training.steps import AlternatingStep, StepContext
from ganzoo.plugins.augment.ada import ADA
from ganzoo.plugins.augment.diffaugment import DiffAugment

SETTINGS = dict(
    dataset="shapes",
    resolution=16,
    model_options={"width": 8, "latent_dim": 16},
    dataset_size=64,
    batch_size=8,
    device="cpu",
    seed=3,
    # No preset: its --lr-decay would stretch when a resume raises --steps (as documented).
    preset="none",
)
# ADA's p must move within a few steps: an adjustment every 4 D updates (2 steps of
# --d-steps 2), by 32/100; a split after 3 steps stops in the middle of an interval.
FAST_ADA = "ada:interval=4,speed=100"


def _tensors(path):
    with safe_open(path, framework="pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)


def _images(n=6, channels=3, height=16, width=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, height, width, generator=generator) * 2 - 1


def _seeded(seed=0):
    return torch.Generator().manual_seed(seed)


AUGMENTS = {
    "diffaugment": lambda: DiffAugment(),
    "ada": lambda: ADA(p=1.0, adaptive=False),
}


# --- the transforms ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_gradients_reach_the_input(name):
    augment = AUGMENTS[name]()
    x = _images(2, height=8, width=8).double().requires_grad_(True)
    # A fixed seed per call makes the random transform a fixed (piecewise-linear) function.
    assert torch.autograd.gradcheck(lambda t: augment(t, _seeded(5)), (x,), eps=1e-6, atol=1e-4)
    augment(x, _seeded(5)).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", sorted(AUGMENTS))
@pytest.mark.parametrize("shape", [(5, 3, 16, 16), (5, 1, 16, 16), (3, 3, 12, 20)])
def test_shape_is_kept_and_the_seed_decides(name, shape):
    augment = AUGMENTS[name]()
    x = _images(*shape)
    a, b = augment(x, _seeded(1)), augment(x, _seeded(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    assert not torch.equal(a, augment(x, _seeded(2)))
    assert not torch.equal(a, x)


def test_ada_with_p_zero_is_the_identity():
    x = _images()
    for ops in ("blit+geom+color", "xflip", "saturation"):
        assert torch.equal(ADA(p=0.0, ops=ops)(x, _seeded()), x)
    grey = _images(channels=1)
    assert torch.equal(ADA(p=0.0)(grey, _seeded()), grey)


def test_ada_xflip_and_rotate90_move_whole_pixels():
    x = _images(32)
    flipped = ADA(p=1.0, ops="xflip")(x, _seeded())
    same = [torch.allclose(o, i, atol=1e-5) for o, i in zip(flipped, x, strict=True)]
    mirrored = [torch.allclose(o, i.flip(2), atol=1e-5) for o, i in zip(flipped, x, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert any(same) and any(mirrored)  # "flip" is itself a fair coin, as in the paper

    turned = ADA(p=1.0, ops="rotate90")(x, _seeded())
    seen = set()
    for out, image in zip(turned, x, strict=True):
        match = [k for k in range(4) if torch.allclose(out, image.rot90(k, (1, 2)), atol=1e-5)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == {0, 1, 2, 3}


def test_ada_brightness_shifts_every_pixel_alike():
    x = _images(16)
    out = ADA(p=1.0, ops="brightness")(x, _seeded())
    shift = (out - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)
    assert shift[:, 0].abs().min() > 0


def test_ada_probability_is_per_image():
    x = _images(400, height=4, width=4)
    out = ADA(p=0.5, ops="brightness")(x, _seeded())
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert 0.4 < changed < 0.6


def test_diffaugment_translation_and_cutout_magnitudes():
    ones = torch.ones(64, 3, 16, 16)
    moved = DiffAugment(policy="translation")(ones, _seeded())
    # A shift of up to 16/8 = 2 pixels each way, the uncovered border zero.
    kept_rows = moved[:, 0].amax(2).sum(1)
    assert kept_rows.min() >= 14 and (kept_rows < 16).any()
    assert set(moved.unique().tolist()) <= {0.0, 1.0}

    cut = DiffAugment(policy="cutout")(ones, _seeded())
    erased = (cut[:, 0] == 0).flatten(1).sum(1)
    assert erased.max() == 64 and erased.min() > 0  # a square of side 8, partly outside
    assert (cut == 0).all(1).equal((cut[:, :1] == 0).expand_as(cut).all(1))


def test_diffaugment_policy_is_checked(run_cli):
    with pytest.raises(ganzoo.core.errors.ConfigError, match="not one of color"):
        DiffAugment(policy="color+sharpen")
    assert DiffAugment(policy="cutout+color").policy == ("cutout", "color")
    one_line_error(
        run_cli("train", "dcgan", "--augment", "diffaugment:policy=color,translation"),
        "expected KEY=VALUE",
    )


# --- ADA's probability ------------------------------------------------------------------


def test_ada_p_follows_the_sign_of_d_on_reals():
    ada = ADA(interval=4, speed=320, target=0.6)
    confident = torch.full((8,), 3.0)  # r_t = 1 > 0.6: D overfits, more augmentation
    for _ in range(3):
        ada.update(confident)
    assert float(ada.p) == 0.0  # adjusted every 4 D updates only
    ada.update(confident)
    assert float(ada.p) == pytest.approx(32 / 320)
    assert float(ada.rt) == 1.0

    mixed = torch.tensor([1.0, -1.0, 2.0, -2.0, 1.0, -1.0, 1.0, 1.0])  # r_t = 0.25 < 0.6
    for _ in range(4):
        ada.update(mixed)
    assert float(ada.p) == pytest.approx(0.0, abs=1e-7)
    for _ in range(4):
        ada.update(mixed)
    assert float(ada.p) == 0.0  # never below 0

    patches = torch.ones(8, 1, 4, 4)  # a patch discriminator: one sign per image
    for _ in range(4):
        ada.update(patches)
    assert float(ada.p) == pytest.approx(0.1)


def test_ada_p_never_exceeds_one():
    ada = ADA(interval=1, speed=3)
    for _ in range(10):
        ada.update(torch.ones(8))
    assert float(ada.p) == 1.0
    fixed = ADA(p=0.3, adaptive=False, interval=1)
    fixed.update(torch.ones(8))
    assert float(fixed.p) == pytest.approx(0.3) and float(fixed.rt) == 1.0


def test_ada_state_round_trips_and_bad_values_are_refused():
    ada = ADA(interval=4, speed=100)
    for _ in range(6):
        ada.update(torch.ones(4))
    copy = ADA(interval=4, speed=100)
    copy.load_state_dict({k: v.clone() for k, v in ada.state_dict().items()})
    assert all(torch.equal(copy.state_dict()[k], v) for k, v in ada.state_dict().items())
    bad = dict(ada.state_dict(), p=torch.tensor(1.5))
    with pytest.raises(ValueError, match="p must be"):
        copy.load_state_dict(bad)
    with pytest.raises(ValueError, match="batches"):
        copy.load_state_dict(dict(ada.state_dict(), batches=torch.tensor(4)))
    with pytest.raises(ValueError, match="lacks"):
        copy.load_state_dict({"p": torch.tensor(0.0)})
    assert torch.equal(copy.p, ada.p)  # nothing changed by a refused state


# --- the classic step -------------------------------------------------------------------


class _Recorder(Augment):
    """The identity, recording what it was given."""

    def __init__(self):
        self.calls, self.updates = [], 0

    def __call__(self, images, generator):
        self.calls.append((tuple(images.shape), images.requires_grad))
        return images

    def update(self, real_logits):
        self.updates += 1


def test_alternating_step_augments_everything_d_sees():
    gan = ganzoo.create("dcgan", resolution=16, width=8, latent_dim=16)
    recorder = _Recorder()
    batch = lambda: {"x": torch.rand(4, 3, 16, 16) * 2 - 1}  # noqa: E731
    ctx = StepContext(
        networks={"generator": gan.generator, "discriminator": gan.discriminator},
        optimizers={
            "generator": torch.optim.Adam(gan.generator.parameters()),
            "discriminator": torch.optim.Adam(gan.discriminator.parameters()),
        },
        loss=ganzoo.create_loss("non-saturating"),
        d_steps=2,
        batch_size=4,
        next_batch=batch,
        latent=lambda n: torch.randn(n, 16),
        autocast=contextlib.nullcontext,
        noise=_seeded(),
        augment=recorder,
    )
    assert AlternatingStep.supports_augment
    AlternatingStep()(ctx)
    # Two D updates (real, fake each), then G's fakes, which carry G's graph.
    assert recorder.calls == [((4, 3, 16, 16), False)] * 4 + [((4, 3, 16, 16), True)]
    assert recorder.updates == 2


def test_identity_draws_nothing():
    generator = _seeded()
    before = generator.get_state()
    x = _images()
    assert Identity()(x, generator) is x
    assert torch.equal(generator.get_state(), before)


# --- training, checkpoints, resume ------------------------------------------------------


@pytest.mark.parametrize("augment", ["diffaugment", FAST_ADA])
def test_resume_with_augmentation_is_bit_identical(tmp_path, augment):
    settings = dict(SETTINGS, augment=augment, d_steps=2, log_every=1)
    straight = start_run("dcgan", dict(settings, steps=6, out=tmp_path / "straight"))
    half = start_run("dcgan", dict(settings, steps=3, out=tmp_path / "split"))
    if augment.startswith("ada"):
        mid = _tensors(half.checkpoint)
        assert int(mid["augment_state.batches"]) == 2 and int(mid["augment_state.sign_count"]) == 16
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})

    a, b = _tensors(straight.checkpoint), _tensors(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs"
    lines = [(tmp_path / run / "metrics.jsonl").read_text() for run in ("straight", "split")]
    strip = [[{k: v for k, v in json.loads(line).items() if k != "it_per_s"}
              for line in text.splitlines()] for text in lines]  # fmt: skip
    assert strip[0] == strip[1]
    if augment.startswith("ada"):
        assert set(a) >= {"augment_state.p", "augment_state.sign_sum", "augment_state.rt"}
        assert 0 < float(a["augment_state.p"]) <= 1
        assert "ada_p" in strip[0][-1] and strip[0][-1]["ada_p"] > 0
    else:
        assert not any(key.startswith("augment_state.") for key in a)
    # The augmented run differs from a plain one: the augmentation is really applied.
    plain = start_run("dcgan", dict(SETTINGS, d_steps=2, steps=6, out=tmp_path / "plain"))
    assert not torch.equal(_tensors(plain.checkpoint)["generator.net.0.weight"],
                           a["generator.net.0.weight"])  # fmt: skip


def test_config_and_checkpoint_record_the_augmentation(tmp_path):
    result = start_run("dcgan", dict(SETTINGS, steps=2, augment=FAST_ADA, out=tmp_path / "r"))
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    options = config["train"]["augment"]["options"]
    assert config["train"]["augment"]["name"] == "ada"
    assert options["speed"] == 100 and options["target"] == 0.6 and options["adaptive"] is True
    with safe_open(result.checkpoint, framework="pt") as handle:
        meta = handle.metadata()
    assert json.loads(meta["augment"])["options"] == options
    assert meta["augment_plugin"] == "augment" and meta["augment_distribution"] == "ganzoo"
    # The checkpoint samples like any other: its augmentation state is accounted for.
    assert ganzoo.load(str(result.checkpoint)).sample(2, seed=0).shape == (2, 3, 16, 16)


def test_tampered_augmentation_state_or_setting_is_refused(tmp_path, run_cli):
    run = tmp_path / "run"
    result = start_run("dcgan", dict(SETTINGS, steps=2, augment=FAST_ADA, out=run))
    original = tmp_path / "original.safetensors"
    original.write_bytes(result.checkpoint.read_bytes())

    def resume_with(**edits):
        rewrite(original, result.checkpoint, **edits)  # the run's newest checkpoint, edited
        return run_cli("train", "--resume", run, "--steps", "6")

    bad_p = {"augment_state.p": torch.tensor(2.0)}
    one_line_error(resume_with(tensors=bad_p), "invalid augmentation state", "p must")
    wide = {"augment_state.p": torch.tensor(0.5, dtype=torch.float64)}
    one_line_error(resume_with(tensors=wide), "augment_state.p", "F64")
    one_line_error(resume_with(drop=("augment_state.rt",)), "lacks", "augment_state.rt")
    other = {"name": "ada", "options": {"speed": 7}}
    one_line_error(
        resume_with(meta={"augment": other}),
        "was trained with --augment ada:adaptive=True", "speed=7",
    )  # fmt: skip
    one_line_error(
        resume_with(meta={"augment": {"name": "nope"}}), "augmentation 'nope'", "no installed"
    )
    # Without its setting the file's ADA state belongs to nothing.
    one_line_error(resume_with(meta={"augment": "null"}), "augment_state")


def test_augment_is_refused_where_it_cannot_apply(run_cli, tmp_path):
    one_line_error(
        run_cli("train", "cyclegan", "--augment", "ada", "--steps", "1", "--out", tmp_path / "c"),
        "model 'cyclegan' trains with its own step, which does not apply --augment",
    )
    one_line_error(
        run_cli("train", "mlp", "--dataset", "ring8", "--augment", "diffaugment"),
        "--augment diffaugment transforms images", "2D points",
    )  # fmt: skip
    one_line_error(run_cli("train", "dcgan", "--augment", "ada:speed=0"), "at least 1")
    one_line_error(run_cli("train", "dcgan", "--augment", "adaa"), "did you mean 'ada'")
    assert not (tmp_path / "c").exists()


def test_cli_trains_with_augmentation_and_lists_it(run_cli, tmp_path):
    result = run_cli(
        "train", "dcgan", "-r", "16", "-o", "width=8", "--dataset-size", "32", "-b", "8",
        "--steps", "2", "--device", "cpu", "--augment", "diffaugment:policy=color+cutout",
        "--out", tmp_path / "run",
    )  # fmt: skip
    assert result.code == 0, result.err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["augment"]["options"]["policy"] == "color+cutout"

    table = run_cli("list", "--kind", "augment")
    assert table.code == 0 and "ada" in table.out and "diffaugment" in table.out
    listed = json.loads(run_cli("list", "--kind", "augment", "--json").out)
    assert {(e["kind"], e["name"], e["plugin"]) for e in listed} == {
        ("augment", "ada", "augment"),
        ("augment", "diffaugment", "augment"),
    }
    ada = next(e for e in listed if e["name"] == "ada")
    assert {o["name"]: o["default"] for o in ada["options"]}["speed"] == 20_000
