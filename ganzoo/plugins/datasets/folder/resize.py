"""A decoded image -> the R x R training picture, holding little beyond the decoded image.

Only the centre region that the crop and the filter reach is converted, strip by strip,
so a large photo costs about its decoded size and not several copies of it.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from PIL import Image

from ganzoo.plugins.datasets.folder.opening import check_cancelled

# A large image is box-averaged by an integer factor, strip by strip, before the final
# antialiased resize, keeping at least this many times the target resolution (PIL's
# reducing_gap: 3 is "indistinguishable from fair resampling"). Measured against resizing
# the whole image at once: within 4 levels of 255 at the sharpest edges, 0.4 on average.
REDUCING_GAP = 3
_STRIP_PIXELS = 1 << 20  # the image is converted in horizontal strips of about 1 MP
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_ALPHA = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def reduction(side: int, resolution: int) -> int:
    """The integer box-averaging factor for an image whose shorter side is ``side``."""
    return max(1, side // (REDUCING_GAP * resolution))


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


def split_halves(width: int, height: int) -> tuple[tuple[int, int, int, int], ...]:
    """The left and right halves of a ``width`` x ``height`` picture holding A|B side by
    side; of an odd width, the middle column belongs to neither."""
    half = width // 2
    return (0, 0, half, height), (width - half, 0, width, height)


def _moved(box: tuple[int, int, int, int], dx: int, dy: int) -> tuple[int, int, int, int]:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


def resize_and_crop(
    image: Image.Image,
    resolution: int,
    channels: int,
    orientation: int = 1,
    cancel: threading.Event | None = None,
    part: tuple[int, int, int, int] | None = None,
) -> Image.Image:
    """The R x R RGB or L picture of a loaded image: EXIF orientation applied, the shorter
    side resized to R (antialiased), the centre cut out.

    Only the part of the image that the centre crop and the filter reach is converted, in
    strips of about a megapixel (alpha over white, 16 bits to 8, palette to RGB), each strip
    box-averaged by an integer factor that keeps at least ``REDUCING_GAP`` times R. The
    final bilinear resize then reads exactly the region torchvision's resize-then-crop read,
    so the result matches it within rounding while only the decoded image is large.

    ``part`` (left, top, right, bottom in the displayed image, whole pixels) makes that
    rectangle the picture: it is resized exactly as a file holding only it would be, and
    nothing outside it reaches the result (one half of an A|B pair, say).
    """
    width, height = image.size
    origin_x = origin_y = 0
    if part is not None:
        origin_x, origin_y, end_x, end_y = _stored_box(part, orientation, width, height)
        width, height = end_x - origin_x, end_y - origin_y
    turned = orientation in (5, 6, 7, 8)
    shown = centre_box(*((height, width) if turned else (width, height)), resolution)
    x0, y0, x1, y1 = _stored_box(shown, orientation, width, height)
    factor = reduction(min(width, height), resolution)
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
        check_cancelled(cancel)
        rows_box = (left, y, right, min(y + rows, bottom))
        strip = to_mode(image.crop(_moved(rows_box, origin_x, origin_y)), channels)
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
