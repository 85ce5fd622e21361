"""CycleGAN: network shapes, the least-squares loss, the image pool, training, exact resume
(the pool included), refused checkpoints and refused data."""

import pytest
import torch
from assertions import one_line_error
from checkpoint_tools import rewrite
from PIL import Image
from test_resume import _assert_identical, _tensors

import ganzoo
from ganzoo.core.build import build_model, build_step
from ganzoo.core.errors import ConfigError
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.cyclegan.pool import ImagePool
from ganzoo.zoo.catalog import get_catalog

TINY = dict(
    dataset="shapestyles",
    resolution=32,
    model_options={"width": 8, "n_blocks": 1, "pool_size": 4},
    dataset_size=8,
    batch_size=2,
    seed=3,
    ema=0.9,  # both averaged generators must resume exactly too
)
POOL_KEYS = {"pool_a_images", "pool_a_count", "pool_b_images", "pool_b_count"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These networks are tiny: one thread is faster than two, and far faster than two
    fighting other processes for two cores (OpenMP threads spin while they wait)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def count(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("channels", [1, 3])
def test_network_shapes(channels):
    model, _ = build_model("cyclegan", (channels, 32, 32), {"width": 8, "n_blocks": 1})
    x = torch.rand(2, channels, 32, 32) * 2 - 1
    for name in ("generator_ab", "generator_ba"):
        y = model.network(name)(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    # The 70x70 PatchGAN at 32 px still gives a 2x2 map of raw logits.
    for name in ("discriminator_a", "discriminator_b"):
        assert model.network(name)(x).shape == (2, 1, 2, 2)
    weights = model.generator_ab.net[1].weight.detach()
    assert abs(float(weights.std()) - 0.02) < 0.005


def test_paper_sizes_on_meta_and_refused_shapes():
    # The reference code's resnet_9blocks generator and 70x70 PatchGAN at 256 px.
    model, _ = build_model("cyclegan", (3, 256, 256), {}, meta_only=True)
    assert model.generator_ab.n_blocks == 9
    assert count(model.generator_ab) == 11_378_179
    assert count(model.discriminator_a) == 2_764_737
    assert model.discriminator_b(torch.zeros(1, 3, 256, 256, device="meta")).shape[-1] == 30
    assert build_model("cyclegan", (3, 128, 128), {}, meta_only=True)[0].generator_ba.n_blocks == 6
    # 512 px on meta: nothing allocated, the pools sized for it too.
    big, entry = build_model("cyclegan", (3, 512, 512), {}, meta_only=True)
    assert next(big.generator_ab.parameters()).device.type == "meta"
    assert big.generator_ab(torch.zeros(1, 3, 512, 512, device="meta")).shape[-1] == 512
    state = build_step(entry, big).state_dict()
    assert set(state) == POOL_KEYS
    assert state["pool_a_images"].shape == (50, 3, 512, 512)
    assert state["pool_a_images"].device.type == "meta"
    for shape in [(3, 48, 48), (3, 16, 16), (3, 64, 32), (2, 64, 64), (2,)]:
        with pytest.raises(ConfigError):
            build_model("cyclegan", shape, {}, meta_only=True)
    with pytest.raises(ConfigError, match="pool_size"):
        build_step(entry, build_model("cyclegan", (3, 1024, 1024), {"pool_size": 1000},
                                      meta_only=True)[0])  # fmt: skip
    info = get_catalog().model("cyclegan").info
    assert info.default_loss == "least-squares" and info.needs == ("a", "b")
    assert dict(info.translators) == {"AtoB": "generator_ab", "BtoA": "generator_ba"}


def test_least_squares_formula_and_gradients():
    loss = ganzoo.create_loss("least-squares")
    real = torch.tensor([0.5, 2.0, -1.0], requires_grad=True)
    fake = torch.tensor([[0.3, -0.2], [1.5, 0.0]], requires_grad=True)  # a patch map
    d = loss.discriminator_loss(real, fake)
    # ½E[(D(x)-1)²] + ½E[D(G(z))²]
    expected = 0.5 * (0.25 + 1.0 + 4.0) / 3 + 0.5 * (0.09 + 0.04 + 2.25 + 0.0) / 4
    assert d.item() == pytest.approx(expected)
    d.backward()
    assert torch.allclose(real.grad, (real.detach() - 1) / 3)
    assert torch.allclose(fake.grad, fake.detach() / 4)
    fake.grad = None
    g = loss.generator_loss(fake)  # ½E[(D(G(z))-1)²]
    assert g.item() == pytest.approx(0.5 * (0.49 + 1.44 + 0.25 + 1.0) / 4)
    g.backward()
    assert torch.allclose(fake.grad, (fake.detach() - 1) / 4)
    # Options a, b, c move the targets; diagnostics are raw mean outputs, not sigmoids.
    shifted = ganzoo.create_loss("least-squares", a=-1.0, b=1.0, c=0.0)
    r, f = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 1.0])
    assert float(shifted.discriminator_loss(r, f)) == pytest.approx(0.5 * 2.0 + 0.5 * 2.0)
    assert float(shifted.generator_loss(f)) == pytest.approx(0.5)
    assert {k: float(v) for k, v in loss.diagnostics(r, f).items()} == {
        "d_real_out": 2.0,
        "d_fake_out": 0.0,
    }


def test_image_pool_fills_then_swaps_half():
    pool = ImagePool(4, (1, 2, 2), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    first = torch.full((3, 1, 2, 2), 0.5)
    assert torch.equal(pool.query(first, gen), first) and int(pool.count) == 3
    stored = set()
    swapped = 0
    for step in range(200):
        new = torch.full((2, 1, 2, 2), step / 200)
        out = pool.query(new, gen)
        for i in range(2):
            if not torch.equal(out[i], new[i]):
                swapped += 1
                stored.add(float(out[i, 0, 0, 0]))
    assert int(pool.count) == 4
    assert 150 < swapped < 250  # half of ~400 once full
    assert 0.5 in stored  # the first images come back out
    # No pool: the images pass through untouched and nothing is kept.
    none = ImagePool(0, (1, 2, 2), torch.device("cpu"))
    assert torch.equal(none.query(first, gen), first)


def reference_pool_query(stored, filled, images, generator):
    """The reference code's ImagePool, image by image (what ImagePool does at once)."""
    n, capacity = len(images), len(stored)
    swap = (torch.rand(n, generator=generator) < 0.5).tolist()
    slots = torch.randint(max(capacity, 1), (n,), generator=generator).tolist()
    out = images.clone()
    for i in range(n):
        if filled < capacity:
            stored[filled] = images[i]
            filled += 1
        elif swap[i]:
            out[i] = stored[slots[i]].clone()
            stored[slots[i]] = images[i]
    return out, filled


@pytest.mark.parametrize("capacity", [1, 3, 5, 50])
def test_image_pool_matches_the_reference_loop(capacity):
    # Batches larger than the pool, repeated slots in one batch, a pool filling mid-batch.
    for seed in range(10):
        pool = ImagePool(capacity, (1, 2, 2), torch.device("cpu"))
        stored, filled = torch.zeros(capacity, 1, 2, 2), 0
        ours, theirs = (torch.Generator().manual_seed(seed) for _ in range(2))
        sizes = torch.Generator().manual_seed(100 + seed)
        for _ in range(6):
            n = int(torch.randint(1, 9, (1,), generator=sizes))
            images = torch.rand(n, 1, 2, 2, generator=sizes) * 2 - 1
            got = pool.query(images, ours)
            expected, filled = reference_pool_query(stored, filled, images, theirs)
            assert torch.equal(got, expected)
            assert torch.equal(pool.images, stored) and int(pool.count) == filled


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """6 steps straight, and 3 steps then a resume to 6, of the same run."""
    root = tmp_path_factory.mktemp("cyclegan")
    straight = start_run("cyclegan", dict(TINY, steps=6, out=root / "straight"))
    start_run("cyclegan", dict(TINY, steps=3, out=root / "split"))
    resumed = resume_run(str(root / "split"), {"steps": 6})
    return straight, resumed


def test_trains_on_shapestyles(trained):
    straight, _ = trained
    assert straight.step == 6
    tensors = _tensors(straight.checkpoint)
    for net in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
        assert any(k.startswith(net + ".") for k in tensors)
    assert any(k.startswith("generator_ab_ema.") for k in tensors)
    assert any(k.startswith("optim.generators.") for k in tensors)
    assert any(k.startswith("optim.discriminators.") for k in tensors)
    assert {k.removeprefix("step_state.") for k in tensors if k.startswith("step_state.")} == (
        POOL_KEYS
    )
    # 6 steps of 2 images per direction filled the 4 slots; all from tanh, none empty.
    for d in "ab":
        assert int(tensors[f"step_state.pool_{d}_count"]) == 4
        images = tensors[f"step_state.pool_{d}_images"]
        assert images.abs().max() <= 1 and images.flatten(1).abs().sum(1).min() > 0
    lines = (straight.run_dir / "metrics.jsonl").read_text().splitlines()
    assert all(k in lines[-1] for k in ("d_a", "d_b", "g_adv", "cycle", "identity"))
    # The picture: rows a | G_ab(a) | b | G_ba(b), 32 px each.
    with Image.open(straight.samples) as picture:
        assert picture.height >= 4 * 32 and picture.height < 5 * 32


def test_translates_both_ways(trained, tmp_path, run_cli):
    straight, _ = trained
    translator = ganzoo.load(str(straight.checkpoint))
    assert translator.use == "translate" and translator.directions == ("AtoB", "BtoA")
    # The averaged generators, since the run kept them.
    weight = translator.model.generator_ba.net[1].weight
    assert torch.equal(weight, _tensors(straight.checkpoint)["generator_ba_ema.net.1.weight"])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    ab, ba = translator.translate(x, "AtoB"), translator.translate(x, "BtoA")
    assert ab.shape == ba.shape == x.shape and not torch.equal(ab, ba)
    Image.new("RGB", (40, 30), (200, 180, 160)).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    result = run_cli("translate", straight.checkpoint, tmp_path / "in.png", "-o", out,
                     "--direction", "BtoA", "--device", "cpu")  # fmt: skip
    assert result.code == 0, result.err
    with Image.open(out) as picture:
        assert picture.size == (40, 30)


def test_resume_is_bit_identical_including_the_pool(trained):
    straight, resumed = trained
    assert straight.step == resumed.step == 6
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_a_tampered_pool_is_refused_in_one_line(trained, run_cli):
    straight, _ = trained
    run = straight.run_dir
    newest = run / "checkpoints" / "step-0000009.safetensors"
    tensors = _tensors(straight.checkpoint)
    images = tensors["step_state.pool_b_images"]
    cases = [
        ({"step_state.pool_a_count": torch.tensor(99)}, "pool_a_count must lie in [0, 4]"),
        ({"step_state.pool_b_count": torch.tensor(-1)}, "pool_b_count"),
        ({"step_state.pool_b_images": images * 3}, "[-1, 1]"),
        ({"step_state.pool_a_images": images[:2]}, "shape"),
        ({"step_state.pool_a_count": torch.tensor(2.0)}, "no silent casts"),
    ]
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    for edit, fragment in cases:
        rewrite(straight.checkpoint, newest, meta={"step": "9", "metrics_record": None},
                tensors=edit)  # fmt: skip
        try:
            one_line_error(run_cli("train", "--resume", run, "--steps", "20"), fragment)
        finally:
            newest.unlink()
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_penalties_regulariser_and_no_pool(tmp_path):
    """A loss's penalty and --reg apply to both discriminators; pool_size 0 keeps no state
    and identity_weight 0 drops the identity term."""
    options = {"width": 4, "n_blocks": 1, "pool_size": 0, "identity_weight": 0.0}
    result = start_run(
        "cyclegan",
        dict(TINY, model_options=options, ema=0.0, loss="wgan-gp", reg={"name": "r1",
             "options": {"gamma": 1.0, "every": 1}}, steps=1, out=tmp_path / "r"),
    )  # fmt: skip
    line = (result.run_dir / "metrics.jsonl").read_text().splitlines()[-1]
    for key in ("d_a", "d_b", "g_adv", "cycle", "penalty", "r1_a", "r1_b"):
        assert f'"{key}"' in line
    assert '"identity"' not in line
    assert not any(k.startswith("step_state.") for k in _tensors(result.checkpoint))


def test_paired_data_is_refused_before_decoding(tmp_path, run_cli, monkeypatch):
    from ganzoo.plugins.datasets import edges2shapes

    def never(*args, **kwargs):
        raise AssertionError("edges2shapes was decoded")

    monkeypatch.setattr(edges2shapes, "load", never)
    result = run_cli("train", "cyclegan", "--dataset", "edges2shapes", "--out", tmp_path / "r")
    one_line_error(result, "'cyclegan' needs a", "shapestyles")
    assert not (tmp_path / "r").exists()
