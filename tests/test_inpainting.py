"""The inpainting family: networks, masks, training on shapes and bit-exact resume."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from test_resume import _assert_identical

from ganzoo.core.build import build_model
from ganzoo.core.errors import ConfigError
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.inpainting.masks import _random_masks, fixed_masks, random_masks
from ganzoo.plugins.inpainting.networks import patch_layers
from ganzoo.plugins.inpainting.step import InpaintingStep, composite

TINY = dict(
    dataset="shapes",
    resolution=32,
    model_options={"width": 8},
    dataset_size=32,
    batch_size=4,
    seed=5,
)


def _model(channels=3, size=32, **options):
    torch.manual_seed(0)
    model, _ = build_model("inpainting", (channels, size, size), {"width": 8, **options})
    return model


def _masks(n, size, seed=0, **options):
    return random_masks(n, size, size, torch.Generator().manual_seed(seed), **options)


# --- networks ------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("gated", [True, False])
def test_network_shapes(channels, gated):
    model = _model(channels, gated=gated)
    image = torch.rand(4, channels, 32, 32) * 2 - 1
    mask = _masks(4, 32)
    out = model.generator(image, mask)
    assert out.shape == image.shape
    assert out.abs().max() <= 1
    logits = model.discriminator(composite(out, image, mask), mask)
    assert logits.shape == (4, 1, 4, 4)  # one logit per patch


def test_meta_build_at_512():
    model, _ = build_model("inpainting", (3, 512, 512), {}, meta_only=True)
    assert all(p.device.type == "meta" for p in model.parameters())
    image = torch.zeros(2, 3, 512, 512, device="meta")
    mask = torch.zeros(2, 1, 512, 512, device="meta")
    out = model.generator(image, mask)
    assert out.shape == (2, 3, 512, 512)
    assert model.discriminator(out, mask).shape == (2, 1, 8, 8)
    assert patch_layers(512) == 6 and patch_layers(32) == 3


@pytest.mark.parametrize("shape", [(3, 48, 48), (3, 16, 16), (3, 32, 64), (2, 32, 32), (2,)])
def test_unsupported_shapes_are_refused(shape):
    with pytest.raises(ConfigError):
        build_model("inpainting", shape, {"width": 8}, meta_only=True)


def test_oversized_model_is_refused_before_allocation():
    with pytest.raises(ConfigError, match="values per sample"):
        build_model("inpainting", (3, 1024, 1024), {"width": 512}, meta_only=True)


def test_generator_never_reads_pixels_under_the_mask():
    model = _model()
    image = torch.rand(4, 3, 32, 32) * 2 - 1
    mask = _masks(4, 32)
    other = torch.where(mask > 0, torch.randn_like(image) * 100, image)
    other[:, :, :, 0] = torch.where(mask[:, :, :, 0] > 0, float("nan"), other[:, :, :, 0])
    assert not torch.equal(image, other)
    with torch.no_grad():
        assert torch.equal(model.generator(image, mask), model.generator(other, mask))
    # The known pixels do matter.
    changed = torch.where(mask > 0, image, -image)
    with torch.no_grad():
        assert not torch.equal(model.generator(image, mask), model.generator(changed, mask))


# --- masks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("rect_prob", [0.0, 0.5, 1.0])
def test_mask_coverage_within_bounds(size, rect_prob):
    masks = _masks(128, size, seed=size, hole_min=0.1, hole_max=0.4, rect_prob=rect_prob)
    assert masks.shape == (128, 1, size, size) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    coverage = masks.flatten(1).mean(1)
    assert coverage.min() >= 0.1 and coverage.max() <= 0.4
    assert coverage.max() - coverage.min() > 0.15  # spread over the range, not one size


def test_mask_coverage_other_bounds():
    masks = _masks(64, 64, seed=3, hole_min=0.3, hole_max=0.6)
    coverage = masks.flatten(1).mean(1)
    assert coverage.min() >= 0.3 and coverage.max() <= 0.6


def test_masks_are_deterministic_for_a_seed():
    assert torch.equal(_masks(16, 32, seed=1), _masks(16, 32, seed=1))
    assert not torch.equal(_masks(16, 32, seed=1), _masks(16, 32, seed=2))
    # One draw consumes a fixed amount of the stream, whatever the masks were.
    a, b = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    random_masks(8, 32, 32, a, rect_prob=0.0)
    random_masks(8, 32, 32, b, rect_prob=1.0)
    assert torch.equal(a.get_state(), b.get_state())


def _is_rectangle(mask):
    rows = mask.any(1).nonzero()
    cols = mask.any(0).nonzero()
    box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return bool(box.all())


def test_both_kinds_occur():
    gen = torch.Generator().manual_seed(0)
    masks, as_rect = _random_masks(64, 32, 32, gen, 0.1, 0.4, 0.5)
    assert 10 < int(as_rect.sum()) < 54
    shapes = [_is_rectangle(m[0].bool()) for m in masks]
    assert all(shapes[i] for i in range(64) if as_rect[i])
    assert sum(not shapes[i] for i in range(64) if not as_rect[i]) >= 0.9 * int((~as_rect).sum())
    # Strokes almost always reach the range themselves (a rectangle is the fallback).
    _, fallback = _random_masks(128, 32, 32, torch.Generator().manual_seed(1), 0.1, 0.4, 0.0)
    assert int(fallback.sum()) <= 3


def test_fixed_masks_alternate_and_repeat():
    masks = fixed_masks(8, 32, 32, seed=9)
    assert torch.equal(masks, fixed_masks(8, 32, 32, seed=9))
    assert all(_is_rectangle(masks[i, 0].bool()) for i in range(0, 8, 2))
    assert not all(_is_rectangle(masks[i, 0].bool()) for i in range(1, 8, 2))


def test_bad_hole_bounds_are_refused():
    with pytest.raises(ValueError):
        _masks(2, 32, hole_min=0.5, hole_max=0.2)
    with pytest.raises(ConfigError, match="hole_min"):
        InpaintingStep(hole_min=0.5, hole_max=0.2)
    with pytest.raises(ConfigError):
        build_model("inpainting", (3, 32, 32), {"hole_max": 0.99}, meta_only=True)


# --- training ------------------------------------------------------------------------------


def test_trains_on_shapes(tmp_path):
    result = start_run("inpainting", dict(TINY, steps=4, log_every=1, out=tmp_path / "run"))
    assert result.step == 4 and result.samples.is_file()
    lines = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 4
    for key in ("d_loss", "g_adv", "l1_hole", "l1_valid", "real_in_margin"):  # hinge: default
        assert all(torch.isfinite(torch.tensor(line[key])) for line in lines), key
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["loss"] == "hinge"
    with safe_open(result.checkpoint, framework="pt") as handle:
        keys = set(handle.keys())
    assert any(k.startswith("generator.") for k in keys)
    assert any(k.startswith("discriminator.") for k in keys)
    # The preview: masked input | completed | original, 8 columns.
    from PIL import Image

    with Image.open(result.samples) as picture:
        width, height = picture.size
    assert height < width and height > 3 * 32


def test_other_losses_and_r1_run(tmp_path):
    settings = dict(TINY, steps=2, loss="wgan-gp", d_steps=2, reg={"name": "r1",
                    "options": {"gamma": 1.0, "every": 1}})  # fmt: skip
    result = start_run("inpainting", dict(settings, out=tmp_path / "wgan"))
    lines = (tmp_path / "wgan" / "metrics.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert result.step == 2 and "penalty" in last and "r1" in last


def test_resume_is_bit_identical(tmp_path):
    settings = dict(TINY, ema=0.9, model_options={"width": 8, "rect_prob": 0.5})
    straight = start_run("inpainting", dict(settings, steps=6, out=tmp_path / "straight"))
    start_run("inpainting", dict(settings, steps=3, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})
    assert straight.step == resumed.step == 6
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_preview_rows():
    model = _model()
    step = InpaintingStep()
    fixed = {"x": torch.rand(10, 3, 32, 32) * 2 - 1}
    rows = step.preview({"generator": model.generator}, fixed)
    assert len(rows) == 3 and all(r.shape == (8, 3, 32, 32) for r in rows)
    shown, completed, original = rows
    assert torch.equal(original, fixed["x"][:8])
    mask = fixed_masks(8, 32, 32, seed=20_170_717)
    assert torch.all(shown[mask.expand_as(shown) > 0] == 1)  # holes shown white
    assert torch.equal(completed * (1 - mask), original * (1 - mask))
    assert torch.equal(rows[1], step.preview({"generator": model.generator}, fixed)[1])


def test_registering_does_not_import_torch():
    code = "import sys, ganzoo.plugins.inpainting; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
