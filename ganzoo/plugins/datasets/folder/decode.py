"""Decoding a folder's files into uint8 images: a few threads, bounded in files and memory.

One unreadable file never stops a run: it is skipped with its reason. Ctrl-C stops the
queued decodes at once and the running ones at their next read or strip.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image
from torch import Tensor

from ganzoo.core.data.store import DataRequest
from ganzoo.core.limits import DEFAULT_MAX_IMAGE_PIXELS
from ganzoo.plugins.datasets.folder import pixels
from ganzoo.plugins.datasets.folder.budget import DECODE_MEMORY_BUDGET, Cancelled, MemoryBudget
from ganzoo.plugins.datasets.folder.names import printable
from ganzoo.plugins.datasets.folder.opening import CancellableFile, check_cancelled, open_regular
from ganzoo.plugins.datasets.folder.reasons import Skip, short_reason
from ganzoo.plugins.datasets.folder.resize import (
    REDUCING_GAP,
    reduction,
    resize_and_crop,
    split_halves,
)

# What PIL may identify a file as, whatever its extension says (a PNG named .jpg is fine);
# any other format PIL knows (EPS, which runs Ghostscript, say) is never tried.
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # JPEG covers MPO
_PROGRESS_EVERY = 2000
_ANNOUNCE_FROM = 200  # smaller folders decode in a blink: no message needed
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_WORKING_BYTES = 48 << 20  # strips, the reduced copy, the final resize
_TURNED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


def decode_all(
    root: Path,
    names: list[str],
    request: DataRequest,
    halves: bool = False,
    sink: Callable[[Tensor], None] | None = None,
) -> tuple[Tensor | None, list[tuple[str, str]]]:
    """Decode ``names`` in order into one ``(N, C, R, R)`` tensor; None if none is readable.
    With ``halves`` each file holds two pictures side by side (A|B), and the tensor is
    ``(2, N, C, R, R)``: every left half, then every right half.

    With ``sink`` nothing is gathered here: each image, ``(C, R, R)`` or ``(2, C, R, R)``
    for halves, is handed to ``sink`` in file order as soon as it is decoded (see
    shards.Writer, which writes them to the cache a shard at a time), and the tensor
    returned is None.

    A few threads decode at once, within a shared memory budget; at most a small window of
    files is queued, however large the folder. Ctrl-C (KeyboardInterrupt) cancels what is
    queued, stops the running decodes at their next check and is raised again at once; so
    does an exception from ``sink`` (a full disk, say).
    """
    size, channels = request.resolution, request.channels
    max_pixels = pixels.pixel_limit(request)
    parts = 2 if halves else 1
    out = None
    if sink is None:
        out = torch.empty((parts, len(names), channels, size, size), dtype=torch.uint8)
    skipped: list[tuple[str, str]] = []
    count = 0
    if len(names) >= _ANNOUNCE_FROM:
        request.report(f"decoding {len(names)} image files from {printable(str(root))}")

    memory = MemoryBudget(DECODE_MEMORY_BUDGET)
    cancel = threading.Event()

    def task(name: str) -> Tensor | str:
        try:
            return decode_image(
                root / name, size, channels, max_pixels, memory, cancel, halves=halves
            )
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
                elif sink is not None:
                    sink(result)
                else:
                    out[:, count] = result if halves else result.unsqueeze(0)
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
    if out is None or count == 0:
        return None, skipped
    if count < len(names):
        out = out[:, :count].clone()
    return (out if halves else out[0]), skipped


def decode_image(
    path: Path,
    resolution: int,
    channels: int,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    memory: MemoryBudget | None = None,
    cancel: threading.Event | None = None,
    halves: bool = False,
) -> Tensor:
    """One file -> ``(channels, R, R)`` uint8: shorter side resized to R, then centre-cropped.

    The size is checked against ``max_pixels`` before anything is decoded, and the decode
    holds its estimated memory from ``memory`` while it runs. With ``halves`` the file
    holds A|B side by side: each half is resized on its own, as if it were a file of its
    own, giving ``(2, channels, R, R)`` (an odd width's middle column is left out).
    """
    with open_regular(path) as raw:
        file = raw if cancel is None else CancellableFile(raw, cancel)
        size = pixels.webp_size(file.read(30))
        if size is not None:
            pixels.check(size, max_pixels, webp=True)  # before libwebp allocates its canvas
        file.seek(0)
        try:
            with pixels.pil_limit(max_pixels), Image.open(file, formats=_FORMATS) as image:
                if image.format == "JPEG":
                    # libjpeg downscales by 1/2, 1/4 or 1/8 while decoding, never below R
                    # (each half never below R: twice R across the halves).
                    image.draft(None, _draft_size(image, resolution, halves))
                pixels.check(image.size, max_pixels, webp=image.format == "WEBP")
                cost = decode_cost(image, resolution)
                with memory.reserve(cost) if memory is not None else nullcontext():
                    check_cancelled(cancel)
                    image.load()  # GIF and multi-page TIFF open on their first frame
                    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
                    if not halves:
                        square = resize_and_crop(image, resolution, channels, orientation, cancel)
                        return _to_tensor(square)
                    width, height = image.size
                    if orientation in _TURNED:
                        width, height = height, width
                    if width < 2:
                        raise Skip(f"{width} pixel wide: too narrow to hold A|B side by side")
                    return torch.stack(
                        [
                            _to_tensor(
                                resize_and_crop(
                                    image, resolution, channels, orientation, cancel, part
                                )
                            )
                            for part in split_halves(width, height)
                        ]
                    )
        except Image.DecompressionBombError as exc:  # PIL's check, past twice the budget
            raise pixels.from_bomb_error(exc, max_pixels) from None


def _to_tensor(square: Image.Image) -> Tensor:
    tensor = torch.from_numpy(np.array(square))  # a writable copy: from_numpy warns otherwise
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def _draft_size(image: Image.Image, resolution: int, halves: bool) -> tuple[int, int]:
    if not halves:
        return resolution, resolution
    # The halves lie side by side as displayed; a quarter-turned JPEG stores them stacked.
    turned = image.getexif().get(ExifTags.Base.Orientation, 1) in _TURNED
    return (resolution, 2 * resolution) if turned else (2 * resolution, resolution)


def decode_cost(image: Image.Image, resolution: int) -> int:
    """Bytes a decode holds at its peak, from the header: the decoded image, plus the
    reduced centre and the strips it is converted in (see resize.resize_and_crop). The
    halves of an A|B file are resized one after the other, each within this estimate."""
    width, height = image.size
    decoded = width * height * _BYTES_PER_PIXEL.get(image.mode, 4)
    if image.format == "WEBP":
        decoded = width * height * 16  # libwebp's canvases and the frame PIL copies out
    side = min(width, height)
    reduced = (side // reduction(side, resolution) + 2 * REDUCING_GAP) ** 2
    return decoded + 8 * reduced + _WORKING_BYTES
