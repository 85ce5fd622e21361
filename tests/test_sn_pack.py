"""Spectral normalisation (``-o sn=true``) and PacGAN packing (``-o pack=N``) of the built-in
discriminators: what the layers become, that training keeps sigma(W) at 1, that packed
logits and penalties are per group, and that both resume bit for bit."""

from __future__ import annotations

import json

import pytest
import torch
from assertions import one_line_error
from test_resume import _assert_identical
from torch import nn

from ganzoo.core.build import build_model
from ganzoo.core.discriminators import pack_samples
from ganzoo.core.inference.load import load_model
from ganzoo.core.training.regularizers import r1_penalty
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.plugins.losses.margin import gradient_penalty

RUNS = {
    "mlp": dict(dataset="ring8", model_options={"hidden": 32}, dataset_size=256, batch_size=32),
    "cmlp": dict(dataset="ring8", model_options={"hidden": 32}, dataset_size=256, batch_size=32),
    "dcgan": dict(
        dataset="shapes",
        resolution=16,
        model_options={"width": 8, "latent_dim": 16},
        dataset_size=64,
        batch_size=16,
    ),
    "cdcgan": dict(
        dataset="shapes",
        resolution=16,
        model_options={"width": 8, "latent_dim": 16},
        dataset_size=64,
        batch_size=16,
    ),
    "pix2pix": dict(
        dataset="edges2shapes",
        resolution=32,
        model_options={"width": 4},
        dataset_size=8,
        batch_size=4,
    ),
    "cyclegan": dict(
        dataset="shapestyles",
        resolution=32,
        model_options={"width": 4, "n_blocks": 1, "pool_size": 4},
        dataset_size=8,
        batch_size=2,
    ),
}
DISCRIMINATORS = {"cyclegan": ("discriminator_a", "discriminator_b")}
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d)


def _run(model: str, out, options: dict | None = None, **settings):
    base = RUNS[model]
    merged = {**base["model_options"], **(options or {})}
    # The families' own settings, not a preset's (pix2pix's on edges2shapes, dcgan's on shapes).
    run = {**base, "model_options": merged, "seed": 1, "sample_count": 8, "preset": "none"}
    run.update(settings)
    return start_run(model, {**run, "out": out})


def _normalised(network: nn.Module) -> list[nn.Module]:
    return [m for m in network.modules() if hasattr(m, "parametrizations")]


def _sigma(layer: nn.Module) -> float:
    weight = layer.weight.detach()
    return float(torch.linalg.matrix_norm(weight.flatten(1), ord=2))


@pytest.mark.parametrize("model", list(RUNS))
def test_sn_keeps_every_discriminator_layer_at_unit_spectral_norm(tmp_path, model):
    result = _run(model, tmp_path / "run", {"sn": True}, steps=6)
    trained, _, _ = load_model(str(result.checkpoint))
    for name in DISCRIMINATORS.get(model, ("discriminator",)):
        D = trained.network(name)
        layers = [m for m in D.modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.Embedding)]
        assert layers and _normalised(D) == layers  # every weight, the class embedding too
        assert not any(isinstance(m, NORMS) for m in D.modules())  # SNGAN's D has no norm
        for layer in layers:
            # In eval mode the parametrization divides by u^T W v with the u, v of the last
            # training forward; for unit u, v that never exceeds sigma(W), so the gain is at
            # least 1 (one power iteration per step trails the weights slightly).
            assert _sigma(layer) >= 1 - 1e-5
        # In train mode each use of a weight runs one more power iteration from the saved
        # u, v; the estimate's error shrinks like (sigma2/sigma1)^(2k). After 200 iterations
        # these runs measured |sigma - 1| <= 3e-7 for every layer but CycleGAN's (7e-5, its
        # slowest to converge): 1e-3 leaves a wide margin, while a stale estimate (the saved
        # u, v of CycleGAN's and pix2pix's runs: up to 2.8e-2 off) or an unnormalised layer
        # fails it.
        D.train()
        with torch.no_grad():
            for layer in layers:
                for _ in range(200):
                    layer.weight  # noqa: B018 (the access is the power iteration)
        D.eval()
        for layer in layers:
            assert _sigma(layer) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("model", list(RUNS))
def test_sn_off_builds_the_unnormalised_networks(model):
    size = RUNS[model].get("resolution")
    shape = (3, size, size) if size else (2,)
    plain, _ = build_model(model, shape, RUNS[model]["model_options"], meta_only=True)
    assert not _normalised(plain)
    keys = set(plain.state_dict())
    normalised, _ = build_model(
        model, shape, {**RUNS[model]["model_options"], "sn": True}, meta_only=True
    )
    # Only D changes: G's tensors keep their names and shapes.
    generators = {k: v.shape for k, v in plain.state_dict().items() if "generator" in k}
    assert generators == {
        k: v.shape for k, v in normalised.state_dict().items() if "generator" in k
    }
    assert any(k.endswith("._u") for k in set(normalised.state_dict()) - keys)


@pytest.mark.parametrize(("model", "shape", "pack"), [("mlp", (2,), 4), ("dcgan", (3, 16, 16), 2)])
def test_packed_discriminator_gives_one_logit_per_group(model, shape, pack):
    gan, _ = build_model(model, shape, {**RUNS[model]["model_options"], "pack": pack})
    D = gan.discriminator.eval()  # batch norm from its running statistics, not the batch's
    assert D.pack == pack
    first = next(m for m in D.modules() if isinstance(m, nn.Linear | nn.Conv2d))
    width = first.in_features if isinstance(first, nn.Linear) else first.in_channels
    assert width == pack * (shape[0] if len(shape) == 3 else 2)
    x = torch.randn(3 * pack, *shape)
    logits = D(x)
    assert logits.shape == (3,)
    # Group g is samples g*pack ... g*pack+pack-1 side by side along features/channels.
    group = torch.cat(list(x[pack : 2 * pack]), dim=0).unsqueeze(0)
    if len(shape) == 1:
        group = group.flatten(1)
    assert torch.allclose(D.net(group).flatten(), logits[1:2], atol=1e-6)
    with pytest.raises(ValueError, match="packed in groups of"):
        D(x[:-1])


class _PackedLinear(nn.Module):
    """A linear D on packed input: its gradient with respect to a group is ``w``."""

    pack = 2

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, 0.0, 0.0, 4.0]))

    def forward(self, x):
        return pack_samples(x, self.pack) @ self.w


def test_penalties_take_one_gradient_norm_per_packed_group():
    D, real, fake = _PackedLinear(), torch.randn(6, 2), torch.randn(6, 2)
    # ||w|| = 5 per group; per sample the norms would be 3 and 4.
    gp = gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    assert float(gp.detach()) == pytest.approx((5.0 - 1.0) ** 2)
    assert float(r1_penalty(D, real).detach()) == pytest.approx(25.0)


@pytest.mark.parametrize(
    ("loss", "extra"), [("wgan-gp", []), ("non-saturating", ["--reg", "r1:every=1"])]
)
def test_penalties_train_a_packed_discriminator(run_cli, tmp_path, loss, extra):
    out = tmp_path / "run"
    result = run_cli(
        "train", "mlp", "--dataset", "ring8", "-o", "pack=2", "-o", "hidden=16",
        "--loss", loss, *extra, "--steps", "2", "--batch-size", "8", "--log-every", "1",
        "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    key = "penalty" if loss == "wgan-gp" else "r1"
    values = [line[key] for line in logged if key in line]
    assert values and all(v == v and v > 0 for v in values)  # finite, not NaN


def test_ring8_trains_with_pack_4_and_samples(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train", "mlp", "--dataset", "ring8", "-o", "pack=4", "-o", "hidden=16",
        "--steps", "3", "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    checkpoint = next((out / "checkpoints").glob("*.safetensors"))
    assert run_cli("sample", checkpoint, "-n", "5", "-o", tmp_path / "s.png").code == 0


def test_batch_size_not_a_multiple_of_pack_is_one_line_before_training(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train", "mlp", "--dataset", "ring8", "-o", "pack=4", "--batch-size", "30", "--out", out
    )
    one_line_error(result, "--batch-size 30", "pack=4", "multiple of 4")
    assert not out.exists()  # refused before the run folder is made
    one_line_error(run_cli("train", "dcgan", "-o", "pack=17", "--out", out), "at most 16")


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("mlp", {"sn": True, "pack": 4}),
        ("dcgan", {"sn": True, "pack": 2}),
        ("dcgan", {"pack": 4}),  # packed, with D's batch norm
        ("cdcgan", {"sn": True}),
    ],
)
def test_resume_is_bit_identical_with_sn_and_pack(tmp_path, model, options):
    settings = dict(d_steps=2, ema=0.9)
    straight = _run(model, tmp_path / "straight", options, steps=4, **settings)
    _run(model, tmp_path / "split", options, steps=2, **settings)
    resumed = resume_run(str(tmp_path / "split"), {"steps": 4})
    # Weights, the power iteration's u and v, batch-norm buffers, Adam and RNG states.
    _assert_identical(straight.checkpoint, resumed.checkpoint)


def test_a_checkpoint_with_sn_samples_from_the_cli(run_cli, tmp_path):
    result = _run("dcgan", tmp_path / "run", {"sn": True}, steps=2)
    out = tmp_path / "grid.png"
    assert run_cli("sample", result.checkpoint, "-n", "4", "-o", out).code == 0
    assert out.stat().st_size > 0


def test_list_json_shows_sn_and_pack(run_cli):
    entries = {e["name"]: e for e in json.loads(run_cli("list", "--kind", "model", "--json").out)}
    for model in RUNS:
        options = {o["name"]: o for o in entries[model]["options"]}
        assert options["sn"]["type"] == "bool" and options["sn"]["default"] is False
        assert ("pack" in options) == (model in ("mlp", "dcgan"))
    pack = {o["name"]: o for o in entries["mlp"]["options"]}["pack"]
    assert (pack["default"], pack["minimum"], pack["maximum"]) == (1, 1, 16)
