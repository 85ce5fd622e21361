"""``shapestyles``: two unpaired procedural domains for CycleGAN-style translation.

Both domains lay out pictures as ``shapes`` does (one kind of shape, several at varied
sizes, places and turns) and paint them in two styles:

- ``a``, *flat*: solid bright fills on a light pastel ground;
- ``b``, *neon*: hollow outlines glowing in saturated light on a near-black ground.

Each domain draws its layouts from a stream of its own, so ``a[i]`` and ``b[i]`` are
different pictures: the set is unpaired. Deterministic from ``(seed, index)``; a smaller
size is a prefix of a larger one.
"""

from __future__ import annotations

import math

from PIL import Image, ImageFilter

from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.limits import check_data_bytes
from ganzoo.plugins.datasets import shapes

DEFAULT_SIZE = shapes.DEFAULT_SIZE
STREAMS = ("shapestyles-a", "shapestyles-b")
STYLES = ("flat", "neon")
_GLOW_ALPHA = [v * 3 // 4 for v in range(256)]


def load(request: DataRequest) -> DataStore:
    size = shapes.check_request(request, "shapestyles")
    # Both domains are held, size images each.
    per_row = 2 * request.channels * request.resolution**2
    check_data_bytes(size, per_row, "dataset 'shapestyles'")
    a, b = generate(size, request.resolution, request.channels, request.seed)
    description = (
        f"{size} + {size} procedural shape images, unpaired: A flat fills on light grounds, "
        f"B glowing outlines on dark grounds (seed {request.seed})"
    )
    return DataStore(kind="image", a=a, b=b, description=description)


def generate(size: int, resolution: int, channels: int, seed: int):
    """Domains A and B, each ``(size, channels, resolution, resolution)`` uint8."""

    def draw(index: int) -> tuple[Image.Image, Image.Image]:
        a = shapes.compose(seed, index, STREAMS[0])
        b = shapes.compose(seed, index, STREAMS[1])
        return paint_flat(a, resolution), paint_neon(b, resolution)

    return shapes.render_all(size, resolution, channels, 2, draw)


def paint_flat(composition: shapes.Composition, resolution: int) -> Image.Image:
    """Domain A: every shape a solid bright fill, on a light pastel ground."""
    big = resolution * shapes.supersample(resolution)
    image = Image.new("RGB", (big, big), shapes.restyle(composition.ground, 0.12, 0.96))
    for shape in composition.shapes:
        saturation, value = shapes.hsv_of(shape.colour)[1:]
        colour = shapes.restyle(shape.colour, max(saturation, 0.6), max(value, 0.85))
        mask, corner = shapes.shape_mask(shape, big)
        image.paste(colour, corner, mask)
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)


def paint_neon(composition: shapes.Composition, resolution: int) -> Image.Image:
    """Domain B: every shape a hollow outline in saturated light with a soft glow and a
    pale core, on a near-black ground."""
    factor = shapes.supersample(resolution)
    big = resolution * factor
    image = Image.new("RGB", (big, big), shapes.restyle(composition.ground, 0.6, 0.08))
    for shape in composition.shapes:
        colour = shapes.restyle(shape.colour, 0.85, 1.0)
        core = tuple(round(c + (255 - c) * 0.6) for c in colour)
        r = shape.radius * big
        band = max(0.13 * r, 1.2 * factor)  # at least about a pixel at the resolution
        blur = 0.12 * r + factor
        ring, corner = shapes.shape_mask(
            shape, big, hole=max(0.0, 1 - band / r), pad=math.ceil(blur * 2)
        )
        glow = ring.filter(ImageFilter.GaussianBlur(blur)).point(_GLOW_ALPHA)
        image.paste(colour, corner, glow)
        image.paste(colour, corner, ring)
        inner, inner_corner = shapes.shape_mask(
            shape, big, scale=1 - band / 3 / r, hole=max(0.0, 1 - band * 2 / 3 / r)
        )
        image.paste(core, inner_corner, inner)
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)
