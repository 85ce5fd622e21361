"""pix2pix: U-Net + PatchGAN shapes at every size, training, exact resume, losses, errors."""

import json

import pytest
import torch
from PIL import Image
from test_resume import _assert_identical, _tensors

from ganzoo.core.build import build_model
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.training.session import resume_run, start_run


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks run fastest on one thread (and do not fight other jobs for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = dict(
    dataset="edges2shapes",
    resolution=32,
    model_options={"width": 8},
    dataset_size=16,
    batch_size=4,
    seed=5,
    # pix2pix's own settings: the quick-start preset (the default on edges2shapes) has its own
    # optimiser, and its --lr-decay stretches when a resume raises --steps.
    preset="none",
)


@pytest.mark.parametrize(("resolution", "patches"), [(32, 2), (64, 6), (128, 14)])
@pytest.mark.parametrize("channels", [1, 3])
def test_network_shapes(resolution, patches, channels):
    model, _ = build_model("pix2pix", (channels, resolution, resolution), {"width": 8})
    source = torch.rand(2, channels, resolution, resolution) * 2 - 1
    output = model.generator(source, noise=torch.Generator().manual_seed(0))
    assert output.shape == source.shape
    assert output.abs().max() <= 1
    # The encoder goes down to a 1x1 bottleneck: one layer per halving.
    assert len(model.generator.down) == resolution.bit_length() - 1
    # The 70x70 PatchGAN's map of raw logits: 30x30 at 256, as in the paper.
    logits = model.discriminator(source, output)
    assert logits.shape == (2, 1, patches, patches)
    # In eval mode (no dropout, running batch-norm statistics) G is deterministic.
    model.eval()
    assert torch.equal(model.generator(source), model.generator(source))


def test_paper_sizes_on_meta_and_capped_patch_layers():
    # The paper's 256 model: 54.4M generator and 2.77M discriminator parameters.
    model, _ = build_model("pix2pix", (3, 256, 256), {}, meta_only=True)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(model.generator) == 54_413_955
    assert count(model.discriminator) == 2_768_705
    big, _ = build_model("pix2pix", (3, 512, 512), {}, meta_only=True)
    assert next(big.generator.parameters()).device.type == "meta"
    assert len(big.generator.down) == 9 and count(big.generator) > count(model.generator)
    # Too many PatchGAN layers for 32 px are capped so the logit map stays at least 1x1.
    small, _ = build_model("pix2pix", (3, 32, 32), {"width": 4, "d_layers": 8})
    assert small.discriminator.layers_used == 3
    x = torch.zeros(1, 3, 32, 32)
    assert small.discriminator(x, x).shape == (1, 1, 2, 2)
    for shape in [(3, 48, 48), (3, 16, 16), (3, 64, 32), (2, 64, 64), (2,)]:
        with pytest.raises(ConfigError):
            build_model("pix2pix", shape, {}, meta_only=True)


def test_trains_on_edges2shapes(tmp_path):
    result = start_run("pix2pix", dict(TINY, steps=4, ema=0.9, out=tmp_path / "run"))
    assert result.step == 4 and result.checkpoint.is_file()
    tensors = _tensors(result.checkpoint)
    for prefix in ("generator.", "discriminator.", "generator_ema.", "optim.generator."):
        assert any(k.startswith(prefix) for k in tensors), prefix
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"d_loss", "g_adv", "l1", "d_real", "d_fake"} <= records[-1].keys()
    # Rows input | output | target, 8 pairs of 32 px with 2 px padding.
    assert Image.open(result.samples).size == (8 * 34 + 2, 3 * 34 + 2)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["loss"] == "non-saturating"
    assert config["model_config"]["l1_weight"] == 100.0


def test_resume_is_bit_identical(tmp_path):
    settings = dict(TINY, ema=0.9)
    straight = start_run("pix2pix", dict(settings, steps=6, out=tmp_path / "straight"))
    start_run("pix2pix", dict(settings, steps=3, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 6})
    assert straight.step == resumed.step == 6
    # Weights, batch-norm buffers, Adam states, the EMA and RNG states (dropout's too).
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_unpaired_data_is_refused_before_decoding(tmp_path, run_cli):
    with pytest.raises(DataError, match="source.*target"):
        start_run("pix2pix", dict(TINY, dataset="shapes", steps=1, out=tmp_path / "a"))
    result = run_cli("train", "pix2pix", "--dataset", "shapes", "--out", tmp_path / "b")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "source" in lines[0] and "target" in lines[0]
    assert "Traceback" not in result.err
    result = run_cli("train", "pix2pix", "--dataset", "edges2shapes", "-o", "l1_weight=-1")
    assert result.code == 2 and "l1_weight" in result.err


@pytest.mark.parametrize(
    ("settings", "logged"),
    [
        (dict(loss="hinge"), {"real_in_margin", "fake_in_margin"}),
        (dict(reg={"name": "r1", "options": {"gamma": 10.0, "every": 2}}), {"r1"}),
        (dict(loss="wgan-gp", d_steps=2), {"penalty", "wasserstein"}),
    ],
    ids=["hinge", "r1", "wgan-gp"],
)
def test_other_losses_and_r1(tmp_path, settings, logged):
    result = start_run("pix2pix", dict(TINY, steps=2, log_every=1, **settings, out=tmp_path))
    assert result.step == 2
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    keys = set().union(*(r.keys() for r in records))
    assert logged | {"d_loss", "g_adv", "l1"} <= keys
    assert all(isinstance(v, int | float) and v == v for r in records for v in r.values())
