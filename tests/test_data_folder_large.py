"""folder:PATH larger than memory: the decode cache written in shards and read mapped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
from assertions import one_line_error
from PIL import Image

from ganzoo.core.data.batching import BatchSource
from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import DataError
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets import folder, paired
from ganzoo.plugins.datasets.folder import cache, decode, pipeline, shards

R = 16
ROW = 3 * R * R
PROC = Path("/proc/self/maps").exists()
needs_proc = pytest.mark.skipif(not PROC, reason="reads /proc/self/maps and /proc/self/status")


def noise(seed, width=20, height=20):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def make_folder(root, count, junk=0, size=20):
    root.mkdir(parents=True)
    for index in range(count):
        noise(index, size, size).save(root / f"{index:04d}.png")
    for index in range(junk):  # unreadable files between the images, in sorted order
        (root / f"{index * 7:04d}x.png").write_bytes(b"not an image")
    return root


def load(root, cache_dir, source=folder, resolution=R):
    messages: list[str] = []
    request = DataRequest(str(root), resolution, 3, cache_dir=cache_dir, report=messages.append)
    return source.load(request), messages


def only_cache_file(directory):
    (path,) = Path(directory).iterdir()
    return path


def header(path):
    with open(path, "rb") as file:
        return cache.parse_header(file, os.fstat(file.fileno()).st_size)


def mapped_from(tensor, path):
    """Whether the tensor's memory lies in a mapping of ``path`` (not a copy in RAM)."""
    pointer, target = tensor.data_ptr(), os.path.realpath(path)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            start, end = (int(value, 16) for value in fields[0].split("-"))
            if start <= pointer < end:
                return len(fields) == 6 and fields[5].strip() == target
    return False


def flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def no_decoding(*args, **kwargs):
    raise AssertionError("decoded despite a cache")


@needs_proc
def test_a_sharded_cache_holds_what_one_shard_holds_and_is_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_BYTES", 37 * ROW)
    root = make_folder(tmp_path / "img", 300, junk=5)
    first, _ = load(root, tmp_path / "sharded")
    path = only_cache_file(tmp_path / "sharded")
    layout = header(path)
    assert layout.metadata["shard_rows"] == "37"
    assert len(json.loads(layout.metadata["shards"])) == 9  # 300 images: 8 of 37, one of 4
    assert layout.data_start % 4096 == 0
    assert first.cache == "miss" and first.tensor.shape == (300, 3, R, R)
    assert len(first.skipped) == 5 and mapped_from(first.tensor, path)

    monkeypatch.setattr(shards, "SHARD_BYTES", 1 << 30)  # one shard: in memory on a miss
    single, _ = load(root, tmp_path / "single")
    assert torch.equal(single.tensor, first.tensor) and single.skipped == first.skipped
    assert not mapped_from(single.tensor, only_cache_file(tmp_path / "single"))

    monkeypatch.setattr(decode, "decode_image", no_decoding)
    for directory in ("sharded", "single"):
        hit, messages = load(root, tmp_path / directory)
        assert hit.cache == "hit" and torch.equal(hit.tensor, first.tensor)
        assert hit.skipped == first.skipped
        assert mapped_from(hit.tensor, only_cache_file(tmp_path / directory))
    assert any(m.startswith("using cached decode of") and "(300 images)" in m for m in messages)


def test_halves_are_sharded_pair_by_pair(tmp_path, monkeypatch):
    root = tmp_path / "pairs"
    root.mkdir()
    for index in range(40):
        both = Image.new("RGB", (20, 10))
        both.paste(noise(index, 10, 10), (0, 0))
        both.paste(noise(100 + index, 10, 10), (10, 0))
        both.save(root / f"{index:03d}.png")
    (root / "005x.png").write_bytes(b"junk")
    monkeypatch.setattr(shards, "SHARD_BYTES", 7 * 2 * ROW)  # 7 pairs a shard
    first, _ = load(root, tmp_path / "sharded", source=paired)
    layout = header(only_cache_file(tmp_path / "sharded"))
    assert layout.entries["images"]["shape"] == [40, 2, 3, R, R]  # both halves of a file together
    assert len(json.loads(layout.metadata["shards"])) == 6
    monkeypatch.setattr(shards, "SHARD_BYTES", 1 << 30)
    single, _ = load(root, tmp_path / "single", source=paired)
    assert first.source.shape == (40, 3, R, R) and first.skipped == single.skipped
    assert torch.equal(first.source, single.source) and torch.equal(first.target, single.target)
    for directory in ("sharded", "single"):
        hit, _ = load(root, tmp_path / directory, source=paired)
        assert hit.cache == "hit" and torch.equal(hit.target, first.target)
        assert torch.equal(hit.source, first.source)
    assert not torch.equal(first.source, first.target)


def test_a_damaged_or_torn_shard_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_BYTES", 37 * ROW)
    root = make_folder(tmp_path / "img", 300)
    # A copy: a mapping shows what is written to its file in place (which ganzoo never
    # does: it replaces a cache file by renaming a new one over it).
    expected = load(root, tmp_path / "cache")[0].tensor.clone()
    path = only_cache_file(tmp_path / "cache")
    start = header(path).data_start

    flip(path, start + 4 * 37 * ROW + 5)  # a pixel of the fifth shard, in the middle
    rebuilt, messages = load(root, tmp_path / "cache")
    assert rebuilt.cache == "miss" and torch.equal(rebuilt.tensor, expected)
    assert any(m.endswith("was corrupt (checksum mismatch); decoding again") for m in messages)
    assert load(root, tmp_path / "cache")[0].cache == "hit"

    del rebuilt  # its mapping would fault on the pages cut off
    with open(path, "r+b") as file:  # the last shard cut in half, in place
        file.truncate(start + 300 * ROW - 2 * ROW)
    rebuilt, messages = load(root, tmp_path / "cache")
    assert rebuilt.cache == "miss" and torch.equal(rebuilt.tensor, expected)
    assert any("was corrupt (torn: " in m for m in messages)
    assert load(root, tmp_path / "cache")[0].cache == "hit"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]  # no .tmp left


class HashCounter:
    """Counts the bytes cache.verify hashes."""

    def __init__(self, monkeypatch):
        self.bytes, real = 0, cache._hash

        def counting(file, start, length, *digests):
            self.bytes += length
            return real(file, start, length, *digests)

        monkeypatch.setattr(cache, "_hash", counting)

    def load(self, root, directory):
        self.bytes = 0
        store, messages = load(root, directory)
        return store, messages, self.bytes


def test_a_large_cache_is_hashed_in_full_only_when_its_mtime_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_BYTES", 37 * ROW)
    monkeypatch.setattr(cache, "VERIFY_ALL_BYTES", 0)  # every cache counts as large
    counter = HashCounter(monkeypatch)
    root = make_folder(tmp_path / "img", 300)
    directory = tmp_path / "cache"
    expected = counter.load(root, directory)[0].tensor.clone()  # a copy, as above
    path = only_cache_file(directory)
    stamp = int(header(path).metadata["verified"])
    assert path.stat().st_mtime_ns == stamp  # set when written

    store, _, hashed = counter.load(root, directory)
    assert store.cache == "hit" and 0 < hashed <= 2 * 37 * ROW  # the last shard, one more

    os.utime(path)  # touched: the bytes are fine, but unverified since
    store, _, hashed = counter.load(root, directory)
    assert store.cache == "hit" and hashed == 300 * ROW
    assert path.stat().st_mtime_ns == stamp  # verified: stamped again
    assert counter.load(root, directory)[2] <= 2 * 37 * ROW

    start = header(path).data_start
    flip(path, start + 10)  # written to: a new mtime, so hashed in full
    store, messages, hashed = counter.load(root, directory)
    assert store.cache == "miss" and torch.equal(store.tensor, expected)
    assert any("was corrupt (checksum mismatch)" in m for m in messages)

    # What the fast check catches with the mtime put back (bit rot does not change it):
    # a damaged last shard always...
    stamp = path.stat().st_mtime_ns
    flip(path, path.stat().st_size - 3)
    os.utime(path, ns=(stamp, stamp))
    store, messages, _ = counter.load(root, directory)
    assert store.cache == "miss" and torch.equal(store.tensor, expected)
    # ... and another shard only when it is drawn: with no shard drawn but the last, the
    # damage is trained on. This is the documented price of not reading the whole file.
    monkeypatch.setattr(cache, "SPOT_SHARDS", 1)
    stamp = path.stat().st_mtime_ns
    flip(path, start + 10)
    os.utime(path, ns=(stamp, stamp))
    store, _, hashed = counter.load(root, directory)
    assert store.cache == "hit" and hashed == 4 * ROW  # the last shard: 300 - 8 * 37 images
    assert not torch.equal(store.tensor, expected)


def test_a_long_skipped_list_goes_after_the_images(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SKIPPED_ROOM", 0)
    root = make_folder(tmp_path / "img", 3, junk=150)  # a list past the page of header
    first, _ = load(root, tmp_path / "cache")
    path = only_cache_file(tmp_path / "cache")
    layout = header(path)
    assert "skipped" in layout.entries and "skipped" not in layout.metadata
    hit, _ = load(root, tmp_path / "cache")
    assert hit.cache == "hit" and hit.skipped == first.skipped and len(hit.skipped) == 150
    assert torch.equal(hit.tensor, first.tensor)

    flip(path, path.stat().st_size - 20)  # inside the skipped list
    rebuilt, messages = load(root, tmp_path / "cache")
    assert rebuilt.cache == "miss" and rebuilt.skipped == first.skipped
    assert any("was corrupt (checksum mismatch)" in m for m in messages)


def test_a_cache_that_would_not_fit_the_disk_is_refused_before_decoding(
    tmp_path, monkeypatch, run_cli
):
    root = make_folder(tmp_path / "img", 4)
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shards.shutil, "disk_usage", lambda path: Usage(10**6, 10**6, 5000))
    monkeypatch.setattr(decode, "decode_image", no_decoding)
    with pytest.raises(DataError, match=r"^the decode cache of .*img needs up to 11\.0 KiB"):
        load(root, tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())
    result = run_cli(
        "train", "dcgan", "--dataset", f"folder:{root}", "--steps", "1", "-r", "16",
        "--out", tmp_path / "run",
    )  # fmt: skip
    one_line_error(result, "has 4.9 KiB free; free some space or set GANZOO_CACHE_DIR")


def test_a_failed_write_stops_with_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_BYTES", 10 * ROW)
    root = make_folder(tmp_path / "img", 30)
    writes = []

    def full_disk(file, data):
        writes.append(len(data))
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        file.write(data)

    monkeypatch.setattr(shards, "_write", full_disk)
    with pytest.raises(DataError, match=r"^could not write the dataset cache .*No space left"):
        load(root, tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())


def test_an_unwritable_cache_folder_decodes_into_memory(tmp_path):
    root = make_folder(tmp_path / "img", 5)
    (tmp_path / "file").write_text("not a folder")
    store, messages = load(root, tmp_path / "file" / "cache")
    assert store.cache == "miss" and store.tensor.shape == (5, 3, R, R)
    assert any(m.startswith("could not write the dataset cache") for m in messages)


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    directory = tmp_path / "cache"
    directory.mkdir()
    key = "0123456789abcdef0123456789abcdef01234567"
    stale, live, fresh = (directory / f".{key}.{name}.tmp" for name in ("a", "b", "c"))
    other = directory / "notes.tmp"
    for path in (stale, live, fresh, other):
        path.write_bytes(b"x" * 100)
    old = time.time() - 3600
    for path in (stale, live, other):
        os.utime(path, (old, old))
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a writer in another process still at work
        root = make_folder(tmp_path / "img", 2)
        load(root, directory)
        left = sorted(p.name for p in directory.iterdir() if p.suffix == ".tmp")
    assert left == sorted([live.name, fresh.name, other.name])


@pytest.fixture
def mapped_folder(tmp_path, monkeypatch):
    """A folder of 120 images whose 32 px cache is written in shards of 25."""
    monkeypatch.setattr(shards, "SHARD_BYTES", 25 * 3 * 32 * 32)
    return make_folder(tmp_path / "img", 120, size=40)


@needs_proc
def test_training_gathers_batches_from_the_mapped_cache(mapped_folder, tmp_path, monkeypatch):
    loads = []
    real = pipeline.decode_cached

    def recording(*args, **kwargs):
        decoded = real(*args, **kwargs)
        loads.append(decoded)
        return decoded

    monkeypatch.setattr(pipeline, "decode_cached", recording)
    options = dict(dataset=f"folder:{mapped_folder}", resolution=32, batch_size=8, steps=3)
    first = start_run("dcgan", dict(options, out=tmp_path / "first"))
    second = start_run("dcgan", dict(options, out=tmp_path / "second"))
    assert first.checkpoint.is_file() and second.checkpoint.is_file()
    assert [decoded.hit for decoded in loads] == [False, True]
    (path,) = Path(os.environ["GANZOO_CACHE_DIR"], "datasets").iterdir()
    for decoded in loads:
        assert mapped_from(decoded.images, path)


@needs_proc
def test_batches_are_gathered_from_the_mapping(mapped_folder, tmp_path):
    store, _ = load(mapped_folder, tmp_path / "cache", resolution=32)
    path = only_cache_file(tmp_path / "cache")
    assert mapped_from(store.tensor, path)
    batches = BatchSource(store, ("x",), 8, 0, torch.device("cpu"))
    assert batches.tables[0]["x"] is store.tensor  # not copied to the device (the CPU)
    batch = batches.next()["x"]
    index = batches.samplers[0].indices(0)
    expected = store.tensor.index_select(0, index).float() / 127.5 - 1
    assert torch.allclose(batch, expected)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, time
    import torch
    torch.set_num_threads(1)
    from ganzoo.core.data.batching import BatchSource
    from ganzoo.core.data.store import DataRequest
    from ganzoo.plugins.datasets import folder

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) << 10 for l in f if l.startswith(key + ":"))

    class Peak(threading.Thread):
        def __init__(self):
            super().__init__(daemon=True)
            self.peak, self.running = status("RssAnon"), True
        def run(self):
            while self.running:
                self.peak = max(self.peak, status("RssAnon"))
                time.sleep(0.001)

    root, where, resolution, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    request = DataRequest(root, resolution, 3, cache_dir=where)
    rss, anon = status("VmRSS"), status("RssAnon")
    sampler = Peak()
    sampler.start()
    start = time.perf_counter()
    store = folder.load(request)
    decoded = time.perf_counter() - start
    start = time.perf_counter()
    again = folder.load(request)
    cached = time.perf_counter() - start
    loads_hwm = status("VmHWM")
    batches = BatchSource(again, ("x",), batch, 0, torch.device("cpu"))
    start = time.perf_counter()
    for _ in range(2 * batches.per_epoch):
        batches.next()
    epochs = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    print(json.dumps(dict(
        images=len(store), cache_bytes=again.nbytes, kinds=[store.cache, again.cache],
        loads_hwm_growth=loads_hwm - rss, anon_peak_growth=sampler.peak - anon,
        rss_file_after=status("RssFile"), decode_s=decoded, cached_load_s=cached,
        two_epochs_s=epochs,
    )))
    """
)


def memory_run(root, cache_dir, resolution, batch):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEMORY_SCRIPT,
            str(root),
            str(cache_dir),
            str(resolution),
            str(batch),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def copies_of_a_few_pictures(root, count, size, distinct=16):
    """``count`` JPEG files of ``size`` px, copies of ``distinct`` pictures: decoded like
    distinct files, and quick to write."""
    root.mkdir()
    pictures = []
    for index in range(distinct):
        gradient = np.linspace(0, 255, size, dtype=np.float64)[None, :, None]
        pixels = gradient + np.random.default_rng(index).integers(0, 60, (size, size, 3))
        path = root / f"{index:06d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        pictures.append(path.read_bytes())
    for index in range(distinct, count):
        (root / f"{index:06d}.jpg").write_bytes(pictures[index % distinct])
    return root


@pytest.mark.slow
@needs_proc
def test_memory_stays_bounded_for_a_cache_larger_than_the_bound(tmp_path):
    # 2,000 images at 256 px: a 393 MB cache. The loads (a decode, then a verified cache
    # hit) and two epochs of batches must each grow this process's own memory (its peak
    # RSS for the loads, its anonymous RSS, sampled, for the epochs) by under a third of
    # that. Mapped pages the batches touch are page cache the kernel can drop; they are
    # counted apart (RssFile).
    needed = 2_000 * 3 * 256 * 256
    if shutil.disk_usage(tmp_path).free < 3 * needed:
        pytest.skip("needs about 1.2 GB of free disk")
    try:
        root = copies_of_a_few_pictures(tmp_path / "img", 2_000, 256)
        report = memory_run(root, tmp_path / "cache", 256, 32)
    finally:  # pytest keeps the last runs' folders: not 430 MB of them
        for folder_made in (tmp_path / "img", tmp_path / "cache"):
            shutil.rmtree(folder_made, ignore_errors=True)
    assert report["kinds"] == ["miss", "hit"] and report["images"] == 2_000
    assert report["cache_bytes"] == needed
    bound = needed // 3
    assert report["loads_hwm_growth"] < bound, report
    assert report["anon_peak_growth"] < bound, report


@needs_proc
def test_pairs_with_an_unreadable_partner_keep_the_rest_mapped_not_copied(tmp_path, monkeypatch):
    # More than a shard of pairs, one of whose B files is unreadable: the kept A rows are
    # gathered through a file (deleted at once), not into memory, and are the right rows.
    monkeypatch.setattr(shards, "SHARD_BYTES", 4 * ROW)
    make_folder(tmp_path / "ab" / "A", 12)
    make_folder(tmp_path / "ab" / "B", 12)
    (tmp_path / "ab" / "B" / "0005.png").write_bytes(b"broken")
    store, _ = load(tmp_path / "ab", tmp_path / "cache", source=paired)
    whole, _ = load(tmp_path / "ab" / "A", tmp_path / "cache")
    keep = torch.tensor([i for i in range(12) if i != 5])
    assert len(store.source) == 11
    assert torch.equal(store.source, whole.tensor.index_select(0, keep))
    pointer = store.source.data_ptr()
    with open("/proc/self/maps") as maps:
        (line,) = [
            line
            for line in maps
            if int(line.split()[0].split("-")[0], 16)
            <= pointer
            < int(line.split()[0].split("-")[1], 16)
        ]
    assert "(deleted)" in line  # the spill file, mapped; nothing of it left in the folder
    assert not [p for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".safetensors")]


def test_a_small_gather_stays_in_memory(tmp_path):
    images = torch.arange(4 * ROW, dtype=torch.int64).to(torch.uint8).reshape(4, 3, R, R)
    index = torch.tensor([3, 1])
    got = shards.gather(images, index, tmp_path)
    assert torch.equal(got, images[index]) and not list(tmp_path.iterdir())
