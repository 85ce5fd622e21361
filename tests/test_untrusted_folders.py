"""A dataset folder is untrusted input: special files, huge images, odd names, a damaged
cache and Ctrl-C must all end in a prompt, one-line answer, never a hang or a blown memory."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from ganzoo.core.data.store import DataRequest
from ganzoo.core.limits import DEFAULT_MAX_IMAGE_PIXELS
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.folder import budget, pixels
from ganzoo.plugins.datasets.folder.decode import decode_image
from ganzoo.plugins.datasets.folder.names import printable
from ganzoo.plugins.datasets.folder.reasons import Skip

R = 8
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")


def save(path, image=None, **kwargs):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    (image or Image.new("RGB", (12, 12), (200, 10, 10))).save(path, **kwargs)


def load(root, tmp_path, **options):
    messages: list[str] = []
    request = DataRequest(
        str(root), R, 3, cache_dir=tmp_path / "cache", report=messages.append, **options
    )
    return folder.load(request), messages


def load_within(seconds, root, tmp_path, unblock=(), **options):
    """``load`` in a thread: a hang fails the test instead of freezing the run."""
    result: dict = {}

    def run():
        try:
            result["value"] = load(root, tmp_path, **options)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    for fifo in unblock:  # a regression blocks in open(): give it a writer, then EOF
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not hung, "loading the folder hung"
    if "error" in result:
        raise result["error"]
    return result["value"]


@posix_only
def test_special_files_are_skipped_never_opened(tmp_path):
    root = tmp_path / "img"
    save(root / "a.png")
    os.mkfifo(root / "x.png")
    (root / "y.png").symlink_to(root / "x.png")
    (root / "z.png").symlink_to("/dev/zero")
    (root / "gone.png").symlink_to(root / "missing.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "s.png"))
    outside = tmp_path / "elsewhere"
    save(outside / "real.png", Image.new("RGB", (12, 12), (10, 200, 10)))
    (root / "outside.png").symlink_to(outside / "real.png")  # a link to a file: followed
    (root / "linked").symlink_to(outside, target_is_directory=True)  # a folder: not followed
    (root / "loop").symlink_to(root, target_is_directory=True)
    try:
        store, messages = load_within(60, root, tmp_path, unblock=[root / "x.png"])
    finally:
        server.close()
    assert len(store) == 2 and store.tensor[:, 1].float().mean() > 50  # a.png and outside.png
    assert store.skipped == [
        ("gone.png", "broken link"),
        ("s.png", "not a regular file (socket)"),
        ("x.png", "not a regular file (fifo)"),
        ("y.png", "not a regular file (fifo)"),
        ("z.png", "not a regular file (character device)"),
    ]
    (summary,) = [m for m in messages if m.startswith("skipped")]
    assert summary.startswith("skipped 5 unreadable files: gone.png (broken link), s.png (")
    # The scan's skips are not cached: they are found afresh, and listed on a cache hit too.
    again, _ = load_within(60, root, tmp_path, unblock=[root / "x.png"])
    assert again.cache == "hit" and again.skipped == store.skipped


@posix_only
def test_only_special_files_is_one_error_line(tmp_path):
    root = tmp_path / "img"
    root.mkdir()
    os.mkfifo(root / "x.png")
    with pytest.raises(Exception, match=r"no readable image in .*x\.png \(not a regular file"):
        load_within(60, root, tmp_path, unblock=[root / "x.png"])


@posix_only
def test_a_file_swapped_for_a_fifo_after_the_scan_is_refused(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    start = time.monotonic()
    with pytest.raises(Skip, match=r"not a regular file \(fifo\)"):
        decode_image(tmp_path / "x.png", R, 3)
    with pytest.raises(Skip, match=r"not a regular file \(character device\)"):
        decode_image(Path("/dev/zero"), R, 3)
    assert time.monotonic() - start < 5


def test_images_over_the_pixel_budget_are_skipped_before_decoding(tmp_path):
    root = tmp_path / "img"
    save(root / "a.png")
    save(root / "big.png", Image.new("1", (8000, 8000)))  # 64 MP, a few kB on disk
    store, messages = load(root, tmp_path)
    assert DEFAULT_MAX_IMAGE_PIXELS == 50_000_000
    assert store.skipped == [
        ("big.png", "64 MP is over the 50 MP limit (raise with --max-image-pixels)")
    ]
    raised, _ = load(root, tmp_path, max_pixels=64_000_000)
    assert len(raised) == 2 and not raised.skipped and raised.cache == "miss"


def test_pils_bomb_check_never_decides(tmp_path):
    root = tmp_path / "img"
    save(root / "a.png", Image.new("RGB", (30, 30)))  # 900 px: within a 1000 px budget
    save(root / "b.png", Image.new("RGB", (40, 40)))  # 1600 px: PIL would only warn
    save(root / "c.png", Image.new("RGB", (64, 64)))  # 4096 px: PIL itself refuses it
    save(root / "d.jpg", Image.new("RGB", (32, 48)))  # 1536 px, 384 once drafted to 1/4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python -W error: a warning would become a skip
        store, _ = load(root, tmp_path, max_pixels=1000)
    assert len(store) == 2  # a.png and d.jpg
    assert store.skipped == [
        ("b.png", "0.0016 MP is over the 0.001 MP limit (raise with --max-image-pixels)"),
        ("c.png", "0.0041 MP is over the 0.001 MP limit (raise with --max-image-pixels)"),
    ]


def test_webp_is_measured_from_its_header_and_counts_four_times(tmp_path):
    root = tmp_path / "img"
    save(root / "a.png")
    image = Image.new("RGB", (40, 30), (1, 2, 3))
    save(root / "lossy.webp", image, quality=80)
    save(root / "lossless.webp", image, lossless=True)
    save(root / "extended.webp", image.convert("RGBA"), exif=Image.Exif().tobytes())
    for name in ("lossy.webp", "lossless.webp", "extended.webp"):
        prefix = (root / name).read_bytes()[:30]
        assert pixels.webp_size(prefix) == (40, 30), name
    assert pixels.webp_size(b"\x89PNG\r\n\x1a\n" + bytes(22)) is None
    store, _ = load(root, tmp_path, max_pixels=4 * 1200 - 1)
    reason = "0.0012 MP is over the 0.0012 MP limit for WebP (1/4 of the image limit; raise"
    assert [n for n, _ in store.skipped] == ["extended.webp", "lossless.webp", "lossy.webp"]
    assert all(r.startswith(reason) for _, r in store.skipped)
    assert len(load(root, tmp_path, max_pixels=4 * 1200)[0]) == 4


def test_names_are_shown_escaped_on_one_line(tmp_path):
    root = tmp_path / "da\nta"
    save(root / "good\n.png")  # decoded: odd names are fine, just shown escaped
    (root / "bad\nname.png").write_bytes(b"not an image")
    (root / "tab\t\x1b[31m.png").write_bytes(b"not an image")
    with open(os.path.join(os.fsencode(root), b"\xff\xfe.png"), "wb") as f:
        f.write(b"not an image")
    store, messages = load(root, tmp_path)
    assert len(store) == 1 and len(store.skipped) == 3
    assert os.fsdecode(b"\xff\xfe.png") in dict(store.skipped)  # the real name, for code
    (summary,) = [m for m in messages if m.startswith("skipped")]
    assert "\n" not in summary and "\x1b" not in summary and "\udcff" not in summary
    assert "bad\\nname.png (cannot identify image file)" in summary
    assert "tab\\t\\x1b[31m.png (" in summary and "\\xff\\xfe.png (" in summary
    assert "\n" not in store.description and "da\\nta" in store.description
    assert load(root, tmp_path)[0].cache == "hit"  # such names survive the cache's metadata


def test_printable():
    assert printable("plain/ünïcode 猫.png") == "plain/ünïcode 猫.png"
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable(os.fsdecode(b"x\xff\x80.png")) == "x\\xff\\x80.png"
    assert printable("\x1b[2J\x00\x7f") == "\\x1b[2J\\x00\\x7f"
    assert printable("evil\u202egnp.exe\u2028") == "evil\\u202egnp.exe\\u2028"
    assert printable("a\\nb") == "a\\\\nb"  # a real backslash never looks like an escape


def test_a_damaged_cache_is_rebuilt_with_a_note(tmp_path):
    root = tmp_path / "img"
    for index in range(3):
        save(root / f"{index}.png", Image.new("RGB", (12, 12), (index * 80, 20, 30)))
    first, _ = load(root, tmp_path)
    (cache_file,) = (tmp_path / "cache").iterdir()
    with safe_open(str(cache_file), framework="pt") as f:
        assert re.fullmatch(r"xxh3_128:[0-9a-f]{32}", f.metadata()["checksum"])
    data = bytearray(cache_file.read_bytes())
    data[-5] ^= 0x01  # one bit of one pixel: the file still parses
    cache_file.write_bytes(bytes(data))
    rebuilt, messages = load(root, tmp_path)
    assert rebuilt.cache == "miss" and torch.equal(rebuilt.tensor, first.tensor)
    assert any(
        m.startswith("the dataset cache ")
        and m.endswith("was corrupt (checksum mismatch); decoding again")
        for m in messages
    )
    assert load(root, tmp_path)[0].cache == "hit"

    # A cache without a checksum (or of another format) is not trusted either.
    save_file({"images": first.tensor}, str(cache_file), metadata={"format_version": "2"})
    rebuilt, messages = load(root, tmp_path)
    assert rebuilt.cache == "miss" and any("was corrupt (no checksum)" in m for m in messages)
    assert torch.equal(rebuilt.tensor, first.tensor)


def test_memory_budget_is_shared_in_order_and_a_large_task_runs_alone():
    memory = budget.MemoryBudget(100)
    held: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def task(amount):
        with memory.reserve(amount):
            with lock:
                held.append(amount)
                peak[0] = max(peak[0], sum(held))
            time.sleep(0.02)
            with lock:
                held.remove(amount)

    amounts = [40, 40, 40, 250, 30, 30, 30, 30]
    threads = [threading.Thread(target=task, args=(a,)) for a in amounts]
    for thread in threads:
        thread.start()
        time.sleep(0.002)
    for thread in threads:
        thread.join(10)
    assert memory.used == 0 and memory.peak == 250  # the large one alone, nothing else
    assert peak[0] == 250

    memory.close()
    with pytest.raises(budget.Cancelled), memory.reserve(1):
        pass


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import signal
    import sys
    from ganzoo.core.data.store import DataRequest

    # A job a non-interactive shell starts in the background (`cmd &`) inherits SIGINT as
    # ignored, and Python then keeps ignoring it: this test sends a Ctrl-C, so take it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ganzoo.plugins.datasets import folder

    def report(message):
        print(message, file=sys.stderr, flush=True)

    try:
        folder.load(DataRequest(sys.argv[1], 16, 3, cache_dir=sys.argv[2], report=report))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        sys.exit(130)
    print("finished", file=sys.stderr)
    """
)


@posix_only
def test_ctrl_c_stops_a_decode_within_a_second(tmp_path):
    # 200 links to one 36 MP RGBA PNG (100 kB on disk): about a second of work each, which
    # the old loader finished (2-2.5 s after Ctrl-C) before it stopped; now 0.5-0.6 s, most
    # of it the interpreter's own exit (an idle `import torch` process takes 0.5 s).
    root = tmp_path / "img"
    save(root / "0000.png", Image.new("RGBA", (6000, 6000), (9, 99, 199, 100)))
    for index in range(1, 200):
        os.link(root / "0000.png", root / f"{index:04d}.png")
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, str(root), str(tmp_path / "cache")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()  # blocks until the loader reports the decode
        assert line.startswith("decoding 200 image files"), line
        time.sleep(0.5)
        assert proc.poll() is None, "the decode ended before it could be interrupted"
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
    rest = proc.stderr.read()
    assert proc.returncode == 130 and "interrupted" in rest, rest
    assert elapsed < 1.5, f"took {elapsed:.2f} s to stop"


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    from ganzoo.core.data.store import DataRequest
    from ganzoo.plugins.datasets import folder
    from ganzoo.plugins.datasets.folder import budget

    def hwm():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) << 10

    before = hwm()
    store = folder.load(DataRequest(sys.argv[1], 16, 3, cache_dir=sys.argv[2]))
    print(len(store), len(store.skipped), before, hwm(), budget.DECODE_MEMORY_BUDGET)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_decoding_large_images_stays_within_the_memory_budget(tmp_path):
    # Four 49 MP RGBA images, a few hundred kB on disk: each took about 1 GB to convert
    # before, four threads at once. Now each converts in strips (~0.25 GB) and the threads
    # share a 1 GiB budget, so the folder loads under a data limit of imports + 1.5 GiB.
    root = tmp_path / "img"
    save(root / "0.png", Image.new("RGBA", (7000, 7000), (250, 20, 20, 128)))
    for index in range(1, 4):
        os.link(root / "0.png", root / f"{index}.png")
    limit = (800 << 20) + (3 << 29)  # what importing torch maps (~770 MB), plus 1.5 GiB

    def set_limit():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(root), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=set_limit,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    decoded, skipped, before, after, total = map(int, result.stdout.split())
    assert (decoded, skipped) == (4, 0)
    growth = after - before
    assert growth < total + (200 << 20), f"peak RSS grew by {growth >> 20} MiB"
