"""Evaluation and sampling stream: the reference subset is row numbers into the store (never
a copy) and hashes to the keys of before; eval's numbers are those of the old all-in-memory
path; sample/interpolate write batch by batch with the pixels of before."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.utils import save_image

import ganzoo
from ganzoo.core.data.store import DataRequest, DataStore, to_uint8_images
from ganzoo.core.evaluation import reference_cache
from ganzoo.core.evaluation.evaluate import EvalContext
from ganzoo.core.evaluation.inception import extract_features, load_inception
from ganzoo.core.evaluation.reference_cache import content_key
from ganzoo.core.evaluation.session import evaluate
from ganzoo.core.interfaces import Generator
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.shapes import load as shapes
from ganzoo.plugins.datasets.toy2d import mode_means
from ganzoo.plugins.metrics.image import frechet_distance, kernel_distance
from ganzoo.plugins.metrics.modes import mode_coverage


def _old_content_key(images: torch.Tensor, weights_id: str) -> str:
    """reference_cache.content_key as it was before chunked hashing (cache keys on disk)."""
    digest = hashlib.sha256()
    digest.update(f"ganzoo-reference-v1|{weights_id}|".encode())
    digest.update(str(tuple(images.shape)).encode())
    digest.update(images.contiguous().numpy().tobytes())
    return digest.hexdigest()[:40]


def _old_subset(images: torch.Tensor, limit: int) -> torch.Tensor:
    """EvalContext.reference_images() as it was: a copy of the fixed random subset."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return images[order[:limit].sort().values]


def _images(count: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (count, 3, 8, 8), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))  # fmt: skip


def test_content_key_is_unchanged_whole_subset_strided_and_chunked(monkeypatch):
    images = _images(50)
    # Chunks of 7 rows: the digest is fed in many pieces, a last short one included.
    monkeypatch.setattr(reference_cache, "HASH_CHUNK_BYTES", 7 * images[0].numel())
    assert content_key(images, "w") == _old_content_key(images, "w")
    index = torch.tensor([1, 4, 5, 17, 30, 31, 32, 49])
    assert content_key(images, "w", index) == _old_content_key(images[index], "w")
    strided = torch.zeros(50, 3, 8, 16, dtype=torch.uint8)[..., ::2]
    strided.copy_(images)
    assert not strided.is_contiguous()
    assert content_key(strided, "w") == _old_content_key(images, "w")
    assert content_key(strided, "w", index) == _old_content_key(images[index], "w")
    assert content_key(images, "other") != content_key(images, "w")


class _Recorder(torch.Tensor):
    """A tensor that notes the size of every tensor an operation on it produces."""

    largest: list[int] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs or {})
        if isinstance(out, torch.Tensor) and out.dtype == torch.uint8 and out.dim() == 4:
            cls.largest.append(len(out))
        return out


class _PixelFeatures(nn.Module):
    """A stand-in feature network: 2048 fixed projections of the pixels (the real Inception
    takes seconds per batch on a CPU; the data flow under test is the same)."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(3 * 8 * 8, 2048)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(images.float().flatten(1))


def test_the_reference_subset_is_read_in_slices_of_a_memory_mapped_store(tmp_path, monkeypatch):
    plain = _images(300, seed=3)
    path = tmp_path / "rows.u8"
    plain.numpy().tofile(path)
    mapped = torch.from_numpy(np.memmap(path, np.uint8, "c", shape=tuple(plain.shape)))
    watched = mapped.as_subclass(_Recorder)
    store = DataStore(kind="image", tensor=watched)
    ctx = EvalContext(generated=torch.zeros(2, 3, 8, 8), real=store, device=torch.device("cpu"),
                      batch_size=16, max_reference=100)  # fmt: skip

    images, index = ctx.reference_subset()
    assert images.data_ptr() == mapped.data_ptr() and len(index) == 100
    monkeypatch.setattr(reference_cache, "HASH_CHUNK_BYTES", 20 * plain[0].numel())
    _Recorder.largest.clear()
    key = content_key(images, "w", index)
    net = _PixelFeatures()
    features = extract_features(net, images, batch_size=16, index=index)
    # Nothing the size of the subset (100 rows) was ever made: 20-row hash chunks, 16-row batches.
    assert _Recorder.largest and max(_Recorder.largest) <= 20
    subset = _old_subset(plain, 100)
    assert key == _old_content_key(subset, "w")
    with torch.no_grad():  # the same rows in the same order (a matmul of another height)
        torch.testing.assert_close(features, net(subset), rtol=1e-5, atol=1e-4)
    assert torch.equal(ctx.reference_images(), subset)  # the copying accessor still works


class _CountingNet(_PixelFeatures):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(images))
        return super().forward(images)


def test_features_of_uneven_batches_and_a_wrong_total():
    from ganzoo.core.evaluation.inception import features_of_batches

    images = _images(45, seed=5)
    net = _CountingNet()
    pieces = [images[:10], images[10:13], images[13:45]]
    got = features_of_batches(net, pieces, 45)
    assert net.calls == [10, 3, 32]
    with torch.no_grad():
        torch.testing.assert_close(got, net.project(images.float().flatten(1)), rtol=1e-5,
                                   atol=1e-4)  # fmt: skip
    with pytest.raises(ValueError, match="not the 46"):
        features_of_batches(net, pieces, 46)
    with pytest.raises(ValueError, match="more than"):
        features_of_batches(net, pieces, 40)


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcgan") / "run"
    settings = dict(dataset="shapes", resolution=16, dataset_size=24, batch_size=8, steps=2,
                    model_options={"width": 4, "latent_dim": 8}, out=out)  # fmt: skip
    return start_run("dcgan", settings).checkpoint


@pytest.mark.slow
def test_eval_numbers_match_the_all_in_memory_path(dcgan_ckpt, fid_helper_file):
    count, limit = 12, 10  # a reference subset: 10 of the 24 training images
    result = evaluate(str(dcgan_ckpt), metrics="fid,kid", samples=count, seed=3, device="cpu",
                      inception=str(fid_helper_file), batch_size=5,
                      max_reference=limit)  # fmt: skip

    # The path before streaming: every sample as float on the CPU, converted whole, and a
    # copied reference subset.
    net = load_inception(str(fid_helper_file))
    fake = ganzoo.load(str(dcgan_ckpt)).sample(count, seed=3)
    fake_features = extract_features(net, to_uint8_images(fake), batch_size=5)
    real = shapes(DataRequest(None, 16, 3, seed=0, size=24)).tensor
    real_features = extract_features(net, _old_subset(real, limit), batch_size=5)
    fid = frechet_distance(fake_features, real_features)
    kid, _ = kernel_distance(fake_features, real_features, seed=3)
    assert result.results["fid"] > 1
    assert abs(result.results["fid"] - fid) <= 1e-6 * fid
    assert abs(result.results["kid"] - kid) <= 1e-6 * max(1.0, abs(kid))


def test_points_eval_matches_sample(tmp_path):
    run = start_run("mlp", dict(dataset="ring8", steps=3, batch_size=32, dataset_size=256,
                                model_options={"hidden": 16}, out=tmp_path / "run"))  # fmt: skip
    result = evaluate(str(run.checkpoint), samples=300, seed=4, device="cpu")
    means, std = mode_means("ring8")
    expected = mode_coverage(ganzoo.load(str(run.checkpoint)).sample(300, seed=4), means, std)
    assert result.results == expected


@pytest.fixture
def generate_calls(monkeypatch):
    """Every batch a generator makes: (rows, whether it stayed on the device)."""
    calls: list[tuple[int, bool]] = []
    original = Generator.generate

    def recording(self, z, labels=None, *, on_device=False):
        calls.append((len(z), on_device))
        return original(self, z, labels, on_device=on_device)

    monkeypatch.setattr(Generator, "generate", recording)
    return calls


def test_sample_writes_n_rows_and_n_files_in_bounded_batches(
    dcgan_ckpt, tmp_path, run_cli, generate_calls
):
    count = 600
    raw = tmp_path / "many.npy"
    assert run_cli("sample", dcgan_ckpt, "-n", count, "--seed", "2", "-o", raw).code == 0
    array = np.load(raw, allow_pickle=False)
    assert array.shape == (count, 16, 16, 3)
    assert generate_calls == [(256, True), (256, True), (88, True)]
    expected = to_uint8_images(ganzoo.load(str(dcgan_ckpt)).sample(count, seed=2))
    assert np.array_equal(array, expected.permute(0, 2, 3, 1).numpy())

    generate_calls.clear()
    outdir = tmp_path / "each"
    result = run_cli("sample", dcgan_ckpt, "--seeds", f"0-{count - 1}", "--outdir", outdir)
    assert result.code == 0, result.err
    assert len(list(outdir.glob("seed*.png"))) == count
    assert [rows for rows, _ in generate_calls] == [256, 256, 88]
    assert all(on_device for _, on_device in generate_calls)


def _grid_pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("count, nrow", [(1, None), (7, None), (10, 4)])
def test_grids_have_the_pixels_torchvision_wrote(dcgan_ckpt, tmp_path, run_cli, count, nrow):
    ours = tmp_path / "ours.png"
    args = ["sample", dcgan_ckpt, "-n", count, "--seed", "1", "-o", ours]
    assert run_cli(*args, *(["--nrow", nrow] if nrow else [])).code == 0
    samples = ganzoo.load(str(dcgan_ckpt)).sample(count, seed=1)
    theirs = tmp_path / "theirs.png"
    save_image(samples, theirs, nrow=nrow or max(1, int(np.ceil(np.sqrt(count)))), padding=2,
               normalize=True, value_range=(-1, 1))  # fmt: skip
    assert np.array_equal(_grid_pixels(ours), _grid_pixels(theirs))


def test_class_row_grid_and_a_grey_model(tmp_path, run_cli):
    run = start_run("cdcgan", dict(dataset="shapes", resolution=16, channels=1, dataset_size=16,
                                   batch_size=8, steps=1, model_options={"width": 4,
                                   "latent_dim": 8}, out=tmp_path / "run"))  # fmt: skip
    generator = ganzoo.load(str(run.checkpoint))
    ours = tmp_path / "rows.png"
    assert run_cli("sample", run.checkpoint, "-n", 8, "-o", ours).code == 0
    per_class = max(1, 8 // generator.num_classes)
    rows = [generator.sample(per_class, 0, label=k) for k in range(generator.num_classes)]
    theirs = tmp_path / "theirs.png"
    save_image(torch.cat(rows), theirs, nrow=per_class, padding=2, normalize=True,
               value_range=(-1, 1))  # fmt: skip
    assert np.array_equal(_grid_pixels(ours), _grid_pixels(theirs))
    assert Image.open(ours).mode == "RGB"  # one channel, shown as RGB as torchvision does
