"""The pixel budget: how large an image ganzoo agrees to decode, checked before decoding.

The budget is ganzoo's own (``DEFAULT_MAX_IMAGE_PIXELS``, raised with --max-image-pixels),
checked against the size an image will decode to: after ``Image.open`` has read its header,
and for a JPEG after ``draft`` has picked libjpeg's reduced decode. PIL's decompression-bomb
check still guards what PIL allocates while opening (a GIF's first-frame canvas, a WebP
decoder's canvas, a TIFF tile): while a folder decodes, PIL's limit is set to the budget
and its warning silenced, so the error it raises past twice the budget and ganzoo's own
check below it give one reason, worded the same.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import DEFAULT_MAX_IMAGE_PIXELS

# libwebp's decoder keeps two canvases of its own besides the decoded frame PIL copies out,
# about 16 bytes a pixel in all (a 50 MP WebP peaks near 770 MB): a WebP counts four times.
WEBP_WEIGHT = 4

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


class OverBudget(Exception):
    """An image larger than the pixel budget; the message is the reason shown for it."""


def pixel_limit(request: DataRequest) -> int:
    """The most pixels one image may decode to: the request's, or the documented default."""
    limit = DEFAULT_MAX_IMAGE_PIXELS if request.max_pixels is None else request.max_pixels
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"the image pixel limit must be a positive whole number; got {limit!r}")
    return limit


def megapixels(pixels: float) -> str:
    value = pixels / 1e6
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def over_budget(pixels: int, max_pixels: int, webp: bool = False) -> OverBudget:
    if webp:
        return OverBudget(
            f"{megapixels(pixels)} MP is over the {megapixels(max_pixels / WEBP_WEIGHT)} MP "
            f"limit for WebP (1/{WEBP_WEIGHT} of the image limit; "
            "raise with --max-image-pixels)"
        )
    return OverBudget(
        f"{megapixels(pixels)} MP is over the {megapixels(max_pixels)} MP limit "
        "(raise with --max-image-pixels)"
    )


def check(size: tuple[int, int], max_pixels: int, webp: bool = False) -> None:
    """Raise OverBudget if an image of ``size`` would decode to more than the budget."""
    pixels = size[0] * size[1]
    if pixels * (WEBP_WEIGHT if webp else 1) > max_pixels:
        raise over_budget(pixels, max_pixels, webp)


def from_bomb_error(exc: Image.DecompressionBombError, max_pixels: int) -> OverBudget:
    """PIL's refusal (past twice the budget, while opening) as ganzoo's reason."""
    found = _BOMB_PIXELS.search(str(exc))
    if found is None:
        return OverBudget(
            f"over the {megapixels(max_pixels)} MP limit (raise with --max-image-pixels)"
        )
    return over_budget(int(found.group(1)), max_pixels)


def webp_size(prefix: bytes) -> tuple[int, int] | None:
    """The canvas size in a WebP file's first 30 bytes (None if it is no WebP file).

    libwebp allocates its canvas as PIL opens the file, before ganzoo sees the size, so a
    WebP is measured from its header first. A WebP header that does not say is refused.
    """
    if prefix[:4] != b"RIFF" or prefix[8:12] != b"WEBP":
        return None
    chunk = prefix[12:16]
    if chunk == b"VP8 " and len(prefix) >= 30 and prefix[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(prefix[26:28], "little") & 0x3FFF
        height = int.from_bytes(prefix[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8X" and len(prefix) >= 30:
        width = int.from_bytes(prefix[24:27], "little") + 1
        height = int.from_bytes(prefix[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(prefix) >= 25 and prefix[20] == 0x2F:
        bits = int.from_bytes(prefix[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise OverBudget("a WebP file whose header gives no size")


_lock = threading.Lock()
_active: list[int] = []
_saved: int | None = None
_silenced: warnings.catch_warnings | None = None


@contextmanager
def pil_limit(max_pixels: int) -> Iterator[None]:
    """While the block runs, PIL's decompression-bomb limit is ``max_pixels`` (the largest
    of the decodes running at once) and its warning is silent; both are put back as they
    were when the last decode ends, so nothing leaks into the rest of the process."""
    global _saved, _silenced
    with _lock:
        if not _active:
            _saved = Image.MAX_IMAGE_PIXELS
            _silenced = warnings.catch_warnings()
            _silenced.__enter__()
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        _active.append(max_pixels)
        Image.MAX_IMAGE_PIXELS = max(_active)
    try:
        yield
    finally:
        with _lock:
            _active.remove(max_pixels)
            if _active:
                Image.MAX_IMAGE_PIXELS = max(_active)
            else:
                Image.MAX_IMAGE_PIXELS = _saved
                if _silenced is not None:
                    _silenced.__exit__(None, None, None)
                    _silenced = None
