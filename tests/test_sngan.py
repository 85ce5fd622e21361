"""SNGAN and its class-conditional twin: the papers' networks at 32 to 512 px, spectral norm
that holds during training, short runs on shapes, bit-exact resume and `sample --class`."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
from test_resume import _assert_identical
from torch import nn

import ganzoo
from ganzoo.core.build import build_model
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.errors import ConfigError
from ganzoo.core.inference.load import load_model
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.datasets.shapes import CLASSES as SHAPE_CLASSES
from ganzoo.plugins.sngan.networks import DBlock, GBlock

TINY = dict(
    dataset="shapes",
    resolution=32,
    model_options={"width": 4, "latent_dim": 16},
    dataset_size=32,
    batch_size=8,
    sample_count=10,
)


@pytest.fixture(scope="module", params=["sngan", "csngan"])
def run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param) / "run"
    return request.param, start_run(request.param, dict(TINY, steps=4, seed=1, out=out))


def _sn_layers(module: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in module.named_modules() if hasattr(m, "parametrizations")}


def _sigma(weight: torch.Tensor) -> float:
    # torch (and the paper) normalise the weight reshaped to (outputs, everything else).
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))


# --- networks ------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(resolution, channels):
    gan = ganzoo.create("sngan", resolution=resolution, channels=channels, width=2)
    images = gan.generator(gan.generator.sample_latent(2))
    assert images.shape == (2, channels, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert gan.discriminator(images).shape == (2,)
    cgan = ganzoo.create("csngan", resolution=resolution, channels=channels, width=2,
                         num_classes=3)  # fmt: skip
    labels = torch.tensor([0, 2])
    images = cgan.generator(cgan.generator.sample_latent(2), labels)
    assert images.shape == (2, channels, resolution, resolution)
    assert cgan.discriminator(images, labels).shape == (2,)


def test_the_papers_cifar_networks_at_32_px():
    """Miyato et al. 2018, Table 4 (the released code's resnet_32 and snresnet_32).

    G: linear 128 -> 256x4x4 (528,384), three up blocks of 256 channels, each two 3x3
    convs, two batch norms and a 1x1 shortcut (1,246,976 each), BN + 3x3 conv to RGB
    (7,427): 4,276,739. D: the optimized block 3 -> 128 (151,680), a down block with a 1x1
    shortcut (311,680), two plain blocks (295,168 each), linear 128 -> 1 (129): 1,053,825
    (the released code leaves out that linear's bias: 1,053,824)."""
    model, _ = build_model("sngan", (3, 32, 32), {}, meta_only=True)
    G, D = model.generator, model.discriminator
    assert sum(p.numel() for p in G.parameters()) == 4_276_739
    assert sum(p.numel() for p in D.parameters()) == 1_053_825
    assert G.latent_dim == 128
    assert [(b.conv1.in_channels, b.conv2.out_channels) for b in G.blocks] == [(256, 256)] * 3
    blocks = list(D.blocks)
    assert [b.conv2.out_channels for b in blocks] == [128] * 4
    assert [b.down for b in blocks] == [True, True, False, False]
    assert blocks[0].first and not any(b.first for b in blocks[1:])
    assert [b.shortcut is not None for b in blocks] == [True, True, False, False]


@pytest.mark.parametrize(
    "resolution, g_blocks, d_blocks, last_map",
    [(64, 4, 5, 2), (128, 5, 6, 4), (256, 6, 7, 4), (512, 7, 8, 4)],
)
def test_meta_build_counts_blocks_from_the_resolution(resolution, g_blocks, d_blocks, last_map):
    for name, options in (("sngan", {}), ("csngan", {"num_classes": 7})):
        model, _ = build_model(name, (3, resolution, resolution), options, meta_only=True)
        assert all(p.device.type == "meta" for p in model.parameters())
        G, D = model.generator, model.discriminator
        assert sum(isinstance(m, GBlock) for m in G.modules()) == g_blocks
        assert sum(isinstance(m, DBlock) for m in D.modules()) == d_blocks
        # The released ImageNet code: G starts at 16c = 1024 channels, D ends there.
        assert G.linear.out_features == 16 * 1024
        assert D.out.in_features == 1024
        labels = torch.zeros(2, dtype=torch.int64, device="meta") if name == "csngan" else None
        images = G(torch.zeros(2, 128, device="meta"), labels)
        assert images.shape == (2, 3, resolution, resolution)
        assert D.blocks(images).shape[-1] == last_map
        assert D(images, labels).shape == (2,)


def test_meta_build_at_128_has_the_imagenet_sizes():
    model, _ = build_model("sngan", (3, 128, 128), {}, meta_only=True)
    G, D = model.generator, model.discriminator
    assert [b.conv2.out_channels for b in G.blocks] == [1024, 512, 256, 128, 64]
    assert [b.conv2.out_channels for b in D.blocks] == [64, 128, 256, 512, 1024, 1024]
    assert sum(p.numel() for p in G.parameters()) == 32_150_787
    assert sum(p.numel() for p in D.parameters()) == 29_017_857


@pytest.mark.parametrize("shape", [(3, 48, 48), (3, 16, 16), (3, 32, 64), (2, 32, 32), (2,)])
@pytest.mark.parametrize("name", ["sngan", "csngan"])
def test_unsupported_shapes_are_refused(name, shape):
    with pytest.raises(ConfigError, match=name):
        build_model(name, shape, {"width": 2}, meta_only=True)


def test_every_discriminator_layer_and_no_generator_layer_is_normalised():
    model = ganzoo.create("csngan", resolution=32, width=2, num_classes=3)
    weighted = [m for m in model.discriminator.modules()
                if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding)]  # fmt: skip
    assert weighted and all(hasattr(m, "parametrizations") for m in weighted)
    assert not _sn_layers(model.generator)


def test_the_projection_and_conditional_batch_norm_use_the_label():
    torch.manual_seed(0)
    model = ganzoo.create("csngan", resolution=32, width=2, num_classes=3)
    # Nudge the class tables away from their identical starting values (scale 1, shift 0).
    for m in model.generator.modules():
        if isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 1.0, 0.5)
    model.eval()
    z = model.generator.sample_latent(4)
    a = model.generator(z, torch.zeros(4, dtype=torch.int64))
    b = model.generator(z, torch.ones(4, dtype=torch.int64))
    assert not torch.allclose(a, b)
    da = model.discriminator(a, torch.zeros(4, dtype=torch.int64))
    db = model.discriminator(a, torch.full((4,), 2, dtype=torch.int64))
    assert not torch.allclose(da, db)


def test_a_packed_discriminator_judges_groups(tmp_path):
    gan = ganzoo.create("sngan", resolution=32, width=2, pack=2)
    assert gan.discriminator.blocks[0].conv1.in_channels == 6  # two RGB images stacked
    images = gan.generator(gan.generator.sample_latent(6))
    assert gan.discriminator(images).shape == (3,)
    with pytest.raises(ConfigError, match="not a multiple of -o pack=2"):
        start_run("sngan", dict(TINY, model_options={"width": 2, "pack": 2}, batch_size=5,
                                steps=1, out=tmp_path / "run"))  # fmt: skip
    assert not (tmp_path / "run").exists()


# --- training ------------------------------------------------------------------------------


def test_training_uses_the_papers_loss_and_adam_settings(run):
    name, result = run
    ckpt = Checkpoint(result.checkpoint)
    assert ckpt.raw["loss"] == "hinge"
    for group in ("generator", "discriminator"):
        (settings,) = json.loads(ckpt.raw[f"optim.{group}.param_groups"])
        assert settings["lr"] == 2e-4 and settings["betas"] == [0.0, 0.9]
    lines = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").open()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in lines)
    generator = ganzoo.load(str(result.checkpoint))
    label = 2 if name == "csngan" else None
    images = generator.sample(3, seed=0, label=label)
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1


def test_spectral_norm_keeps_the_largest_singular_value_at_one(run):
    """Each normalised layer's weight is W / sigma, sigma = u.W.v estimated by one power
    iteration per training forward (the paper's Algorithm 1). That estimate never exceeds
    the true largest singular value, so the normalised weight's is never below 1; it lags a
    little while the weights move, and reaches 1 once the iterations catch up."""
    name, result = run
    model, _, _ = load_model(str(result.checkpoint))
    D = model.discriminator
    layers = _sn_layers(D)
    assert len(layers) == (12 if name == "csngan" else 11)  # 8 convs, 2 shortcuts, head
    for layer_name, layer in layers.items():
        assert 1 - 1e-4 <= _sigma(layer.weight) <= 1.1, layer_name
    raw = [_sigma(layer.parametrizations.weight.original) for layer in layers.values()]
    assert max(abs(s - 1) for s in raw) > 0.1  # the normalisation does something
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    labels = torch.arange(4) % len(SHAPE_CLASSES) if name == "csngan" else None
    D.train()
    with torch.no_grad():
        for _ in range(30):  # the weights stay put: only the power iterations run
            D(images, labels)
    D.eval()
    for layer_name, layer in layers.items():
        assert _sigma(layer.weight) == pytest.approx(1.0, abs=1e-3), layer_name


@pytest.mark.parametrize("name, d_steps", [("sngan", 2), ("csngan", 1)])
def test_resume_is_bit_identical(tmp_path, name, d_steps):
    settings = dict(TINY, seed=3, d_steps=d_steps, ema=0.9)
    straight = start_run(name, dict(settings, steps=4, out=tmp_path / "straight"))
    start_run(name, dict(settings, steps=2, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 4})
    # Weights, batch-norm statistics, spectral norm's power-iteration vectors, Adam, RNG.
    _assert_identical(straight.checkpoint, resumed.checkpoint)


@pytest.mark.parametrize("run", ["csngan"], indirect=True)
def test_sample_by_class(run, tmp_path, run_cli):
    _, result = run
    by_name, by_index, other = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    star = SHAPE_CLASSES.index("star")
    ckpt = result.checkpoint
    assert run_cli("sample", ckpt, "--class", "star", "-n", "4", "-o", by_name).code == 0
    assert run_cli("sample", ckpt, "--class", star, "-n", "4", "-o", by_index).code == 0
    assert run_cli("sample", ckpt, "--class", "circle", "-n", "4", "-o", other).code == 0
    assert by_name.read_bytes() == by_index.read_bytes()
    assert other.read_bytes() != by_name.read_bytes()


def test_registering_does_not_import_torch():
    code = "import sys, ganzoo.plugins.sngan; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
