"""The GPU speed paths, run on the CPU: channels_last, fused Adam, the prefetching batch
source, --compile and its fallback, and no host synchronisation inside the step. Each is
on by default only on CUDA; here each is asked for by name, and must train what the plain
path trains (to float rounding) and write the same checkpoints."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
import torch
from assertions import one_line_error
from safetensors import safe_open

import ganzoo
from ganzoo.core.data.batching import BatchSource
from ganzoo.core.data.prefetch import Prefetcher
from ganzoo.core.data.store import DataStore
from ganzoo.core.training.session import resume_run, start_run
from ganzoo.core.training.trainer import Trainer
from ganzoo.core.training.writer import snapshot

DCGAN = dict(
    dataset="shapes",
    resolution=16,
    model_options={"width": 8, "latent_dim": 16},
    dataset_size=64,
    batch_size=16,
    ema=0.9,
    seed=7,
    # No preset: its --lr-decay would stretch when a resume raises --steps (as documented).
    preset="none",
)


def _tensors(path):
    with safe_open(path, framework="pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)


def _metadata(path):
    with safe_open(path, framework="pt") as handle:
        return handle.metadata()


def _assert_close(a, b, exact=False):
    ta, tb = _tensors(a), _tensors(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert ta[key].dtype == tb[key].dtype and ta[key].shape == tb[key].shape, key
        if exact:
            assert torch.equal(ta[key], tb[key]), f"{key} differs"
        elif ta[key].is_floating_point() and not key.startswith("rng."):
            assert torch.allclose(ta[key], tb[key], rtol=1e-4, atol=1e-5), key
        else:
            assert torch.equal(ta[key], tb[key]), f"{key} differs"


@contextlib.contextmanager
def seen_trainers():
    """The trainers that run while open."""
    original, trainers = Trainer.run, []

    def run(trainer):
        trainers.append(trainer)
        return original(trainer)

    Trainer.run = run
    try:
        yield trainers
    finally:
        Trainer.run = original


# --- channels_last ---------------------------------------------------------------------


def test_channels_last_trains_what_contiguous_trains_and_saves_it_contiguous(tmp_path):
    with seen_trainers() as trainers:
        plain = start_run("dcgan", dict(DCGAN, steps=4, memory_format="contiguous",
                                        out=tmp_path / "plain"))  # fmt: skip
        last = start_run("dcgan", dict(DCGAN, steps=4, memory_format="channels_last",
                                       out=tmp_path / "last"))  # fmt: skip
    contiguous, nhwc = trainers
    assert not contiguous.channels_last and nhwc.channels_last
    conv = nhwc.networks["discriminator"].net[0].weight
    assert conv.dim() == 4 and conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()
    ema_conv = nhwc.emas["generator"].module.net[0].weight
    assert ema_conv.is_contiguous(memory_format=torch.channels_last)
    _assert_close(plain.checkpoint, last.checkpoint)
    # The file is the same format: it loads and samples like any other.
    assert ganzoo.load(str(last.checkpoint)).sample(2, seed=0).shape == (2, 3, 16, 16)
    config = json.loads((tmp_path / "last" / "config.json").read_text())["train"]
    assert config["memory_format"] == "channels_last"


def test_auto_memory_format_is_contiguous_on_the_cpu(tmp_path):
    with seen_trainers() as trainers:
        start_run("dcgan", dict(DCGAN, steps=1, out=tmp_path / "auto"))
    (trainer,) = trainers
    assert trainer.config.memory_format == "auto" and not trainer.channels_last
    assert all(p.is_contiguous() for p in trainer.model.parameters())


def test_snapshot_copies_are_contiguous():
    weight = torch.randn(4, 3, 5, 5).contiguous(memory_format=torch.channels_last)
    copied = snapshot({"w": weight})["w"]
    assert copied.is_contiguous() and torch.equal(copied, weight)
    weight.add_(1)  # a copy: later steps cannot change it
    assert not torch.equal(copied, weight)


# --- fused Adam --------------------------------------------------------------------------


def test_fused_adam_trains_like_the_default_and_checkpoints_cross_load(tmp_path):
    with seen_trainers() as trainers:
        fused = start_run("dcgan", dict(DCGAN, steps=8, fused_adam="on", out=tmp_path / "f"))
        plain = start_run("dcgan", dict(DCGAN, steps=8, fused_adam="off", out=tmp_path / "p"))
    assert all(o.defaults["fused"] for o in trainers[0].optimizers.values())
    assert not any(o.defaults["fused"] for o in trainers[1].optimizers.values())
    _assert_close(fused.checkpoint, plain.checkpoint)
    # The same tensors under the same names; the groups differ only in the "fused" flag.
    meta_f, meta_p = _metadata(fused.checkpoint), _metadata(plain.checkpoint)
    for group in ("generator", "discriminator"):
        gf = json.loads(meta_f[f"optim.{group}.param_groups"])[0]
        gp = json.loads(meta_p[f"optim.{group}.param_groups"])[0]
        assert gf["fused"] is True and gp["fused"] is None
        assert {k: v for k, v in gf.items() if k != "fused"} == {
            k: v for k, v in gp.items() if k != "fused"
        }

    # Written fused, resumed unfused, and the other way round: both continue the run.
    for first, then, name in (("on", "off", "f2p"), ("off", "on", "p2f")):
        start_run("dcgan", dict(DCGAN, steps=4, fused_adam=first, out=tmp_path / name))
        with seen_trainers() as trainers:
            resumed = resume_run(str(tmp_path / name), {"steps": 8, "fused_adam": then})
        (trainer,) = trainers
        assert all(bool(o.defaults["fused"]) == (then == "on") for o in trainer.optimizers.values())
        for optimizer in trainer.optimizers.values():
            assert all(g["fused"] == (then == "on" or None) for g in optimizer.param_groups)
        _assert_close(plain.checkpoint, resumed.checkpoint)


def test_channels_last_fused_resume_is_bit_identical(tmp_path):
    """The restored Adam moments take the channels_last layout of their weights: the fused
    kernel reads them in memory order, so a mismatch would scramble the update."""
    settings = dict(DCGAN, d_steps=2, memory_format="channels_last", fused_adam="on")
    straight = start_run("dcgan", dict(settings, steps=8, out=tmp_path / "straight"))
    start_run("dcgan", dict(settings, steps=4, out=tmp_path / "split"))
    resumed = resume_run(str(tmp_path / "split"), {"steps": 8})
    _assert_close(straight.checkpoint, resumed.checkpoint, exact=True)


# --- no host synchronisation inside the step ----------------------------------------------

# What makes the host wait for the device when the tensor lives on a GPU.
SYNCING = ("item", "__float__", "__int__", "__bool__", "__index__", "tolist", "numpy", "cpu",
           "nonzero", "__repr__", "__format__")  # fmt: skip


@pytest.mark.parametrize("augment", [None, "ada", "diffaugment"])
def test_no_host_sync_between_log_steps(tmp_path, monkeypatch, augment):
    """Counted from the start of the first step to the end of the last, which is the only
    log step: the steps, the EMA updates and the metric sums between them convert no
    tensor to a Python value. Fused Adam, as on CUDA (torch's other Adam reads its step
    count with .item(), from a CPU tensor there)."""
    steps = 6
    state = {"armed": False, "calls": []}
    main = threading.get_ident()

    def counting(name):
        original = getattr(torch.Tensor, name)

        def method(self, *args, **kwargs):
            if state["armed"] and threading.get_ident() == main:  # not the writer thread
                state["calls"].append(name)
            return original(self, *args, **kwargs)

        return method

    for name in SYNCING:
        monkeypatch.setattr(torch.Tensor, name, counting(name))

    class Counted:
        def __init__(self, step):
            self.step, self.calls = step, 0

        def __call__(self, ctx):
            self.calls += 1
            state["armed"] = True
            metrics = self.step(ctx)
            if self.calls == steps:
                state["armed"] = False  # the last step logs: its float() reads are due
            return metrics

        def __getattr__(self, name):
            return getattr(self.__dict__["step"], name)

    original_run = Trainer.run

    def run(trainer):
        trainer.train_step = Counted(trainer.train_step)
        return original_run(trainer)

    monkeypatch.setattr(Trainer, "run", run)
    start_run("dcgan", dict(DCGAN, steps=steps, augment=augment, fused_adam="on",
                            reg={"name": "r1", "options": {"gamma": 1.0, "every": 2}},
                            log_every=1000, sample_every=1000, ckpt_every=1000,
                            out=tmp_path / "run"))  # fmt: skip
    assert state["calls"] == []
    # The counter counts: one read of a metric, inside the window, is seen.
    state["armed"] = True
    float(torch.zeros(()))
    assert state["calls"] == ["__float__"]


# --- streaming from host memory, prefetched ------------------------------------------------


def _store(rows=40):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (rows, 3, 4, 4), dtype=torch.uint8, generator=gen)
    labels = torch.arange(rows) % 3
    return DataStore("image", images, labels=labels, classes=("a", "b", "c"))


def _unpaired(rows_a=40, rows_b=28):
    gen = torch.Generator().manual_seed(1)
    a = torch.randint(0, 256, (rows_a, 3, 4, 4), dtype=torch.uint8, generator=gen)
    b = torch.randint(0, 256, (rows_b, 3, 4, 4), dtype=torch.uint8, generator=gen)
    return DataStore("image", a=a, b=b)


def _draw(source, n):
    return [source.next() for _ in range(n)]


def _same(batches_a, batches_b):
    assert len(batches_a) == len(batches_b)
    for a, b in zip(batches_a, batches_b):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("store, needs", [(_store, ("x", "label")), (_unpaired, ("a", "b"))])
def test_prefetched_batches_are_the_direct_ones_in_order(store, needs):
    cpu = torch.device("cpu")
    direct = BatchSource(store(), needs, 8, 3, cpu, placement="device", prefetch=False)
    ahead = BatchSource(store(), needs, 8, 3, cpu, placement="host", prefetch=True)
    assert direct.prefetcher is None and ahead.prefetcher is not None
    try:
        # Across several epochs (5 batches of 8 in 40 rows; 3 in the 28 of domain b).
        _same(_draw(direct, 12), _draw(ahead, 12))
        # Resuming from a draw counter: a new source at draw 7 continues where it would.
        again = BatchSource(store(), needs, 8, 3, cpu, placement="host", prefetch=True)
        again.draws = 7
        replay = BatchSource(store(), needs, 8, 3, cpu, placement="device", prefetch=False)
        replay.draws = 7
        _same(_draw(replay, 6), _draw(again, 6))
        # Rewinding discards the batch prepared for the old next draw.
        ahead.draws = 2
        direct.draws = 2
        _same(_draw(direct, 3), _draw(ahead, 3))
        again.close()
    finally:
        ahead.close()
    assert ahead.prefetcher._pool is None  # the worker thread is gone


def test_prefetcher_prepares_the_next_draw_while_the_current_is_used():
    asked = []

    def plan(draw):
        asked.append(draw)
        table = torch.arange(10).reshape(10, 1)
        return {"x": (table, torch.tensor([draw % 10]))}

    prefetcher = Prefetcher(plan, torch.device("cpu"))
    try:
        assert prefetcher.get(0)["x"].tolist() == [[0]]
        assert prefetcher.get(1)["x"].tolist() == [[1]]
        assert prefetcher.get(5)["x"].tolist() == [[5]]  # not the prepared one: gathered anew
        prefetcher.discard()  # 6 was prepared; a rewind drops it
        assert prefetcher.get(6)["x"].tolist() == [[6]]
    finally:
        prefetcher.close()  # cancels the gather of 7 unless it already started
    assert asked[:6] == [0, 1, 2, 5, 6, 6] and asked[6:] in ([], [7])


def test_host_placement_trains_what_device_placement_trains(tmp_path):
    device = start_run("dcgan", dict(DCGAN, steps=4, data_placement="device", out=tmp_path / "d"))
    host = start_run("dcgan", dict(DCGAN, steps=4, data_placement="host", out=tmp_path / "h"))
    _assert_close(device.checkpoint, host.checkpoint, exact=True)


def test_channels_last_batches():
    source = BatchSource(_store(), ("x", "label"), 8, 0, torch.device("cpu"), channels_last=True)
    batch = source.next()
    assert batch["x"].is_contiguous(memory_format=torch.channels_last)
    assert batch["x"].dtype == torch.float32 and batch["label"].dtype == torch.int64
    plain = BatchSource(_store(), ("x", "label"), 8, 0, torch.device("cpu")).next()
    assert torch.equal(plain["x"], batch["x"])


# --- --compile -------------------------------------------------------------------------------


def _failing_compile(module, *args, **kwargs):
    """What torch.compile gives where it cannot compile: a wrapper that fails when called."""

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *a, **k):
            raise RuntimeError("no C++ compiler found\nmore detail that stays out of the line")

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self.inner, name)

    return Broken()


def test_compile_failure_falls_back_with_one_line_and_trains_the_same(tmp_path, monkeypatch,
                                                                         capsys):  # fmt: skip
    """The failed first step is undone and taken again uncompiled: the run is exactly the
    uncompiled one (weights, Adam, EMA, RNG, data order)."""
    plain = start_run("dcgan", dict(DCGAN, steps=4, augment="ada", out=tmp_path / "plain"))
    capsys.readouterr()
    monkeypatch.setattr(torch, "compile", _failing_compile)
    fallen = start_run("dcgan", dict(DCGAN, steps=4, augment="ada", compile=True,
                                     out=tmp_path / "fallen"))  # fmt: skip
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "--compile" in line]
    assert lines == [
        "--compile: compiling failed (RuntimeError: no C++ compiler found); training uncompiled"
    ]
    assert "Traceback" not in err
    _assert_close(plain.checkpoint, fallen.checkpoint, exact=True)


def test_compile_skips_discriminators_a_penalty_differentiates_twice(tmp_path, monkeypatch):
    wrapped, real = [], torch.compile

    def eager_compile(module, *args, **kwargs):
        wrapped.append(module)
        return real(module, backend="eager")  # dynamo's tracing, no code generation

    monkeypatch.setattr(torch, "compile", eager_compile)
    with seen_trainers() as trainers:
        reg = {"name": "r1", "options": {"gamma": 1.0, "every": 1}}
        start_run("dcgan", dict(DCGAN, steps=1, compile=True, reg=reg, out=tmp_path / "r1"))
    (trainer,) = trainers
    assert wrapped == [trainer.networks["generator"]]
    assert trainer.step_networks["discriminator"] is trainer.networks["discriminator"]


@pytest.mark.slow
def test_compile_trains_or_falls_back_and_keeps_checkpoint_keys(tmp_path, capsys):
    """The real torch.compile (inductor, on the CPU): it compiles where a C++ toolchain is
    found and falls back with one line where not; either way the checkpoint has the keys of
    an uncompiled run (no ``_orig_mod.``) and loads."""
    settings = dict(dataset="ring8", model_options={"hidden": 16}, dataset_size=64,
                    batch_size=16, steps=3, seed=1)  # fmt: skip
    plain = start_run("mlp", dict(settings, out=tmp_path / "plain"))
    capsys.readouterr()
    compiled = start_run("mlp", dict(settings, compile=True, out=tmp_path / "compiled"))
    notes = [line for line in capsys.readouterr().err.splitlines() if "--compile" in line]
    assert len(notes) <= 1
    keys = set(_tensors(compiled.checkpoint))
    assert keys == set(_tensors(plain.checkpoint))
    assert not any("_orig_mod" in key for key in keys)
    _assert_close(plain.checkpoint, compiled.checkpoint)
    assert ganzoo.load(str(compiled.checkpoint)).sample(4, seed=0).shape == (4, 2)


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--memory-format", "nhwc"], "--memory-format"),
        (["--fused-adam", "yes"], "--fused-adam"),
        (["--data-placement", "gpu"], "--data-placement"),
    ],
)
def test_speed_flags_are_checked(run_cli, tmp_path, args, fragment):
    out = tmp_path / "never"
    one_line_error(run_cli("train", "dcgan", *args, "--out", out), fragment)
    assert not out.exists()


def test_edited_config_values_are_refused(tmp_path, run_cli):
    start_run("dcgan", dict(DCGAN, steps=2, out=tmp_path / "run"))
    path = tmp_path / "run" / "config.json"
    config = json.loads(path.read_text())
    config["train"]["memory_format"] = "nhwc"
    path.write_text(json.dumps(config))
    line = one_line_error(run_cli("train", "--resume", tmp_path / "run", "--steps", "4"))
    assert "--memory-format must be auto, channels_last or contiguous; got 'nhwc'" in line


def test_cli_flags_reach_the_run(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "dcgan", "--dataset-size", "32", "-r", "16", "-b", "8",
                     "-o", "width=8", "--steps", "2", "--memory-format", "channels_last",
                     "--fused-adam", "on", "--data-placement", "host", "--out", out)  # fmt: skip
    assert result.code == 0, result.err
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["memory_format"] == "channels_last" and train["fused_adam"] == "on"
    assert train["data_placement"] == "host" and train["compile"] is False
    # Like --precision, they are the run's settings: a resume keeps them, and refuses others.
    refused = run_cli("train", "--resume", out, "--steps", "4", "--fused-adam", "off")
    assert refused.code == 2 and "--fused-adam" in refused.err


def test_a_compile_failure_in_a_distributed_run_stops_it_in_one_line():
    # Retaking the step on one rank would meet the others in the wrong collective.
    from types import SimpleNamespace

    from ganzoo.core.errors import TrainingError
    from ganzoo.core.training import compiling

    def failing(ctx):
        raise RuntimeError("no C++ compiler found\nmore detail")

    trainer = SimpleNamespace(
        compile_pending=True, ranks=SimpleNamespace(active=True), train_step=failing
    )
    with pytest.raises(TrainingError) as caught:
        compiling.guarded_step(trainer, SimpleNamespace(), print)
    assert str(caught.value) == (
        "--compile failed in a distributed run (RuntimeError: no C++ compiler found); "
        "run again without --compile"
    )
