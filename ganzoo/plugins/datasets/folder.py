"""``folder:PATH``: every image under a folder, decoded once into a cached uint8 tensor.

Flat folders and nested class folders both work (plain ImageFolder rejects a flat one).
One unreadable file never stops a run: it is skipped, counted and listed.

The folder is untrusted input. Only regular files are opened (a FIFO named ``x.png`` would
otherwise block forever), each is checked against a pixel budget before it is decoded, the
decoding threads share a memory budget, and Ctrl-C stops a scan or a decode at once.
"""

from __future__ import annotations

import itertools
import math
import os
import stat
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import ExifTags, Image, UnidentifiedImageError
from torch import Tensor

from ganzoo.core.data import DataRequest, DataStore
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.limits import DEFAULT_MAX_IMAGE_PIXELS
from ganzoo.core.paths import cache_dir
from ganzoo.plugins.datasets import cache, pixels
from ganzoo.plugins.datasets.budget import DECODE_MEMORY_BUDGET, Cancelled, MemoryBudget
from ganzoo.plugins.datasets.names import printable

EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_SUFFIXES = frozenset(f".{ext}" for ext in EXTENSIONS)
# What PIL may identify a file as, whatever its extension says (a PNG named .jpg is fine);
# any other format PIL knows (EPS, which runs Ghostscript, say) is never tried.
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG covers MPO
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_ALPHA = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_LISTED_SKIPS = 5
_PROGRESS_EVERY = 2000
_ANNOUNCE_FROM = 200  # smaller folders decode in a blink: no message needed
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO or a device opens at once instead of blocking
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_FILE_KINDS = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISDIR, "directory"),
)
# A large image is box-averaged by an integer factor, strip by strip, before the final
# antialiased resize, keeping at least this many times the target resolution (PIL's
# reducing_gap: 3 is "indistinguishable from fair resampling"). Measured against resizing
# the whole image at once: within 4 levels of 255 at the sharpest edges, 0.4 on average.
_REDUCING_GAP = 3
_STRIP_PIXELS = 1 << 20  # the image is converted in horizontal strips of about 1 MP
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_WORKING_BYTES = 48 << 20  # strips, the reduced copy, the final resize
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Skip(Exception):
    """This file is not decoded; the message is the reason shown in the skipped list."""


def load(request: DataRequest) -> DataStore:
    if not request.argument:
        raise DataError("dataset 'folder' needs a path: folder:PATH")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    max_pixels = pixel_limit(request)
    root = Path(request.argument).expanduser()
    if not root.exists():
        raise DataError(f"dataset folder {printable(str(root))} does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path {printable(str(root))} is not a folder")
    root = root.resolve()
    shown = printable(str(root))

    not_files: list[tuple[str, str]] = []
    files = scan(root, not_files)
    if not files:
        if not_files:
            raise DataError(f"no readable image in {shown}; {skip_summary(not_files)}")
        raise DataError(f"no image files ({', '.join(EXTENSIONS)}) in {shown}")

    key = cache.cache_key(root, request.resolution, request.channels, files, max_pixels)
    directory = request.cache_dir if request.cache_dir is not None else cache_dir("datasets")
    cache_path = cache.cache_file(Path(directory), key)
    try:
        cached = cache.read(cache_path, request.resolution, request.channels)
    except cache.CacheCorrupt as exc:
        request.report(
            f"the dataset cache {printable(str(cache_path))} was corrupt ({exc}); decoding again"
        )
        cached = None
    if cached is not None:
        images, undecodable = cached
        request.report(f"using cached decode of {shown} ({len(images)} images)")
        return _store(images, shown, sorted(not_files + undecodable), "hit")

    images, undecodable = decode_all(root, [name for name, _, _ in files], request)
    skipped = sorted(not_files + undecodable)
    if images is None:
        raise DataError(f"no readable image in {shown}; {skip_summary(skipped)}")
    if skipped:
        request.report(skip_summary(skipped))
    try:
        # Only decode failures are cached: what the scan skips is found afresh every time.
        cache.write(cache_path, images, undecodable, root)
    except OSError as exc:
        # A read-only or full cache disk costs a re-decode next time, not this run.
        request.report(f"could not write the dataset cache {printable(str(cache_path))}: {exc}")
    return _store(images, shown, skipped, "miss")


def pixel_limit(request: DataRequest) -> int:
    """The most pixels one image may decode to: the request's, or the documented default."""
    limit = DEFAULT_MAX_IMAGE_PIXELS if request.max_pixels is None else request.max_pixels
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"the image pixel limit must be a positive whole number; got {limit!r}")
    return limit


def _store(images: Tensor, shown: str, skipped: list[tuple[str, str]], hit: str) -> DataStore:
    return DataStore(
        kind="image",
        tensor=images,
        description=f"{len(images)} images from {shown}",
        skipped=skipped,
        cache=hit,
    )


def scan(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[cache.FileStamp]:
    """Sorted (relative POSIX path, size, mtime_ns) of the image files; hidden ones left out.

    Only regular files (or links to them) are candidates. A FIFO, socket, device, or a link
    to one, and a broken link, is appended to ``skipped`` with the reason, never opened.
    Linked folders are not followed (no loops, nothing outside the folder by accident).
    """
    found: list[cache.FileStamp] = []
    not_files: list[tuple[str, str]] = []
    folders = [("", str(root))]
    while folders:
        prefix, folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # an unlistable subfolder is left out, as os.walk does
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relative = prefix + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((relative + "/", entry.path))
                    continue
            except OSError:
                continue
            if os.path.splitext(name)[1].lower() not in _SUFFIXES:
                continue
            try:
                info = entry.stat()  # follows a link to what it points at
            except OSError as exc:
                not_files.append((relative, _stat_failure(entry, exc)))
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((relative, info.st_size, info.st_mtime_ns))
            elif not stat.S_ISDIR(info.st_mode):  # a linked folder: not followed, not listed
                not_files.append((relative, f"not a regular file ({_kind(info.st_mode)})"))
    found.sort()
    if skipped is not None:
        skipped.extend(sorted(not_files))
    return found


def _kind(mode: int) -> str:
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "unknown type")


def _stat_failure(entry: os.DirEntry, exc: OSError) -> str:
    try:
        link = entry.is_symlink()
    except OSError:
        link = False
    if link and isinstance(exc, FileNotFoundError):
        return "broken link"
    return short_reason(exc)


@contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading if it is a regular file (or a link to one); Skip if not.

    The scan already left out FIFOs and devices; checking the open descriptor closes the
    race where a file is swapped for one after the scan. O_NONBLOCK makes opening a FIFO
    return at once rather than wait for a writer.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Skip(f"not a regular file ({_kind(mode)})")
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        yield file


def decode_all(
    root: Path, names: list[str], request: DataRequest
) -> tuple[Tensor | None, list[tuple[str, str]]]:
    """Decode ``names`` in order into one ``(N, C, R, R)`` tensor; None if none is readable.

    A few threads decode at once, within a shared memory budget; at most a small window of
    files is queued, however large the folder. Ctrl-C (KeyboardInterrupt) cancels what is
    queued, stops the running decodes at their next check and is raised again at once.
    """
    size, channels = request.resolution, request.channels
    max_pixels = pixel_limit(request)
    out = torch.empty((len(names), channels, size, size), dtype=torch.uint8)
    skipped: list[tuple[str, str]] = []
    count = 0
    if len(names) >= _ANNOUNCE_FROM:
        request.report(f"decoding {len(names)} image files from {printable(str(root))}")

    memory = MemoryBudget(DECODE_MEMORY_BUDGET)
    cancel = threading.Event()

    def task(name: str) -> Tensor | str:
        try:
            return decode_image(root / name, size, channels, max_pixels, memory, cancel)
        except Cancelled:
            raise
        except Exception as exc:  # any decoder failure means "skip this file"
            return short_reason(exc)

    workers = max(1, min(4, os.cpu_count() or 1))
    queue = iter(names)
    pending: deque[tuple[str, Future]] = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ganzoo-decode")
    try:
        with pixels.pil_limit(max_pixels):
            for name in itertools.islice(queue, 4 * workers):
                pending.append((name, pool.submit(task, name)))
            done = 0
            while pending:
                name, future = pending.popleft()
                result = future.result()  # in submission order: the sorted file order
                following = next(queue, None)
                if following is not None:
                    pending.append((following, pool.submit(task, following)))
                done += 1
                if isinstance(result, str):
                    skipped.append((name, result))
                else:
                    out[count] = result
                    count += 1
                if done % _PROGRESS_EVERY == 0 and done < len(names):
                    request.report(f"decoded {done}/{len(names)} files")
    except BaseException:
        # Ctrl-C, or a bug: drop the queue, stop the running decodes, do not wait for them.
        cancel.set()
        memory.close()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if count == 0:
        return None, skipped
    return (out if count == len(names) else out[:count].clone()), skipped


def decode_image(
    path: Path,
    resolution: int,
    channels: int,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    memory: MemoryBudget | None = None,
    cancel: threading.Event | None = None,
) -> Tensor:
    """One file -> ``(channels, R, R)`` uint8: shorter side resized to R, then centre-cropped.

    The size is checked against ``max_pixels`` before anything is decoded, and the decode
    holds its estimated memory from ``memory`` while it runs.
    """
    with open_regular(path) as raw:
        file = raw if cancel is None else _Cancellable(raw, cancel)
        size = pixels.webp_size(file.read(30))
        if size is not None:
            pixels.check(size, max_pixels, webp=True)  # before libwebp allocates its canvas
        file.seek(0)
        try:
            with pixels.pil_limit(max_pixels), Image.open(file, formats=_FORMATS) as image:
                if image.format == "JPEG":
                    # libjpeg downscales by 1/2, 1/4 or 1/8 while decoding, never below R.
                    image.draft(None, (resolution, resolution))
                pixels.check(image.size, max_pixels, webp=image.format == "WEBP")
                cost = decode_cost(image, resolution)
                with memory.reserve(cost) if memory is not None else nullcontext():
                    _check(cancel)
                    image.load()  # GIF and multi-page TIFF open on their first frame
                    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
                    square = resize_and_crop(image, resolution, channels, orientation, cancel)
        except Image.DecompressionBombError as exc:  # PIL's check, past twice the budget
            raise pixels.from_bomb_error(exc, max_pixels) from None
    tensor = torch.from_numpy(np.array(square))  # a writable copy: from_numpy warns otherwise
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled


class _Cancellable:
    """A file whose reads raise Cancelled once ``cancel`` is set: PIL's decoders read in
    blocks of about 64 kB, so even a long decode stops within a block of Ctrl-C."""

    def __init__(self, file: BinaryIO, cancel: threading.Event) -> None:
        self._file = file
        self._cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self._cancel.is_set():
            raise Cancelled
        return self._file.read(size)

    def __getattr__(self, name: str):  # seek, tell, fileno, ...
        return getattr(self._file, name)


def decode_cost(image: Image.Image, resolution: int) -> int:
    """Bytes a decode holds at its peak, from the header: the decoded image, plus the
    reduced centre and the strips it is converted in."""
    width, height = image.size
    decoded = width * height * _BYTES_PER_PIXEL.get(image.mode, 4)
    if image.format == "WEBP":
        decoded = width * height * 16  # libwebp's canvases and the frame PIL copies out
    side = min(width, height)
    reduced = (side // _reduction(side, resolution) + 2 * _REDUCING_GAP) ** 2
    return decoded + 8 * reduced + _WORKING_BYTES


def _reduction(side: int, resolution: int) -> int:
    return max(1, side // (_REDUCING_GAP * resolution))


def centre_box(width: int, height: int, resolution: int) -> tuple[float, float, float, float]:
    """The region of a ``width`` x ``height`` image that becomes the R x R output: the
    shorter side resized to R (the longer to ``int(R * long / short)``, as torchvision
    does), then the centre R x R cut out (offset rounded, as torchvision's center_crop)."""
    short, long = min(width, height), max(width, height)
    resized = int(resolution * long / short)
    offset = int(round((resized - resolution) / 2.0))
    scale = long / resized
    start, end = offset * scale, (offset + resolution) * scale
    if width <= height:
        return 0.0, start, float(width), end
    return start, 0.0, end, float(height)


def _stored_box(
    box: tuple[float, float, float, float], orientation: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """``box``, given in the displayed (EXIF-oriented) image, in the stored ``width`` x
    ``height`` image's coordinates."""
    x0, y0, x1, y1 = box
    return {
        2: (width - x1, y0, width - x0, y1),  # mirrored
        3: (width - x1, height - y1, width - x0, height - y0),  # upside down
        4: (x0, height - y1, x1, height - y0),
        5: (y0, x0, y1, x1),  # transposed
        6: (y0, height - x1, y1, height - x0),  # stored a quarter turn anticlockwise
        7: (width - y1, height - x1, width - y0, height - x0),
        8: (width - y1, x0, width - y0, x1),
    }.get(orientation, box)


def resize_and_crop(
    image: Image.Image,
    resolution: int,
    channels: int,
    orientation: int = 1,
    cancel: threading.Event | None = None,
) -> Image.Image:
    """The R x R RGB or L picture of a loaded image: EXIF orientation applied, the shorter
    side resized to R (antialiased), the centre cut out.

    Only the part of the image that the centre crop and the filter reach is converted, in
    strips of about a megapixel (alpha over white, 16 bits to 8, palette to RGB), each strip
    box-averaged by an integer factor that keeps at least ``_REDUCING_GAP`` times R. The
    final bilinear resize then reads exactly the region torchvision's resize-then-crop read,
    so the result matches it within rounding while only the decoded image is large.
    """
    width, height = image.size
    turned = orientation in (5, 6, 7, 8)
    shown = centre_box(*((height, width) if turned else (width, height)), resolution)
    x0, y0, x1, y1 = _stored_box(shown, orientation, width, height)
    factor = _reduction(min(width, height), resolution)
    # The filter reaches one output pixel beyond the box; a block more for the reduction.
    margin_x = max((x1 - x0) / resolution, 1.0) + factor + 1
    margin_y = max((y1 - y0) / resolution, 1.0) + factor + 1
    left, right = max(0, math.floor(x0 - margin_x)), min(width, math.ceil(x1 + margin_x))
    top, bottom = max(0, math.floor(y0 - margin_y)), min(height, math.ceil(y1 + margin_y))
    region = Image.new(
        "RGB" if channels == 3 else "L",
        (-(-(right - left) // factor), -(-(bottom - top) // factor)),
    )
    rows = max(factor, _STRIP_PIXELS // (right - left) // factor * factor)
    for y in range(top, bottom, rows):
        _check(cancel)
        strip = to_mode(image.crop((left, y, right, min(y + rows, bottom))), channels)
        region.paste(strip.reduce(factor) if factor > 1 else strip, (0, (y - top) // factor))
    w, h = region.size  # clamped: float rounding must not reach past the region's edge
    box = (
        min(max((x0 - left) / factor, 0.0), w),
        min(max((y0 - top) / factor, 0.0), h),
        min(max((x1 - left) / factor, 0.0), w),
        min(max((y1 - top) / factor, 0.0), h),
    )
    square = region.resize((resolution, resolution), Image.Resampling.BILINEAR, box=box)
    method = _ORIENTATIONS.get(orientation)
    return square if method is None else square.transpose(method)


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    """``image`` as RGB (3 channels) or L (1): transparency over white, 16 bits scaled."""
    if image.mode in _SIXTEEN_BIT:
        # PIL's convert("L") clips 16-bit values at 255; rescale the full range instead:
        # round(v / 257) in integers (no ties: 257 is odd), clipped for 32-bit "I" values.
        wide = np.asarray(image).astype(np.int64)
        image = Image.fromarray(np.clip((wide + 128) // 257, 0, 255).astype(np.uint8))
    elif image.mode in _ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    target = "RGB" if channels == 3 else "L"
    return image if image.mode == target else image.convert(target)


def short_reason(exc: BaseException) -> str:
    if isinstance(exc, Skip | pixels.OverBudget):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"
    # strerror leaves out the path, which the skipped list already names.
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = text.strip() or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def skip_summary(skipped: list[tuple[str, str]]) -> str:
    """One line, whatever the names hold: each is shown escaped (see names.printable)."""
    listed = ", ".join(
        f"{printable(name)} ({printable(reason)})" for name, reason in skipped[:_LISTED_SKIPS]
    )
    more = len(skipped) - _LISTED_SKIPS
    noun = "file" if len(skipped) == 1 else "files"
    tail = f", and {more} more" if more > 0 else ""
    return f"skipped {len(skipped)} unreadable {noun}: {listed}{tail}"
