"""``edges2shapes``: procedural pairs for image-to-image translation, like pix2pix's edges2*.

The target is a ``shapes`` layout (its own stream of layouts, so not the ``shapes`` set's
pictures) painted like a colouring book: each kind of shape has its own hue, a shape's shade
follows its size (large ones deep, small ones light), insets and outlines take the
complementary hue, the ground is one paper colour and every shape casts the same soft drop
shadow. So the sketch decides the picture, as a line drawing decides a painting that follows
a consistent palette: a model can learn which colours go where, and a pixel error measures
that (with ``shapes``' random palettes and grounds the sketch would say nothing about the
colours, and the best pixel-error guess would be the grey mean picture).

The source is the sketch: dark lines on white along every visible boundary of the same
layout (occluded outlines stay hidden, shadows draw no line), traced on the supersampled
canvas and downsampled like the picture. Deterministic from ``(seed, index)``; a smaller
size is a prefix of a larger one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageChops

from ganzoo.core.data.fields import DIRECTIONS
from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import check_data_bytes
from ganzoo.plugins.datasets import shapes

DEFAULT_SIZE = shapes.DEFAULT_SIZE
STREAM = "edges2shapes"
# Darkens the antialiased grey of the lines towards ink, leaving white white.
_INK = [round(255 * (v / 255) ** 2) for v in range(256)]
PAPER = (238, 232, 218)
# Each kind's hue: red circles, blue squares, green triangles, amber stars, violet crosses.
HUES = {"circle": 0.0, "square": 0.6, "triangle": 0.33, "star": 0.11, "cross": 0.8}


def load(request: DataRequest) -> DataStore:
    size = shapes.check_request(request, "edges2shapes")
    if request.direction not in DIRECTIONS:
        raise ConfigError(
            f"the direction must be one of {', '.join(DIRECTIONS)}; got {request.direction!r}"
        )
    # Both sides of every pair are held.
    per_pair = 2 * request.channels * request.resolution**2
    check_data_bytes(size, per_pair, "dataset 'edges2shapes'")
    edges, pictures = generate(size, request.resolution, request.channels, request.seed)
    if request.direction == "AtoB":
        source, target, what = edges, pictures, "edge map -> picture"
    else:
        source, target, what = pictures, edges, "picture -> edge map"
    description = f"{size} procedural edge/shape pairs, {what} (seed {request.seed})"
    return DataStore(kind="image", source=source, target=target, description=description)


def generate(size: int, resolution: int, channels: int, seed: int):
    """The edge maps and the pictures, each ``(size, channels, resolution, resolution)``
    uint8, row ``i`` of one the sketch of row ``i`` of the other."""

    def draw(index: int) -> tuple[Image.Image, Image.Image]:
        composition = colouring_book(shapes.compose(seed, index, STREAM))
        return paint_edges(composition, resolution), shapes.paint(composition, resolution)

    return shapes.render_all(size, resolution, channels, 2, draw)


def colouring_book(composition: shapes.Composition) -> shapes.Composition:
    """``composition`` in the colouring-book palette: colours that follow from the sketch."""
    painted = []
    for shape in composition.shapes:
        hue = HUES[shape.kind]
        # Radius 0.06..0.26 -> value 0.95..0.45: the size a sketch shows sets the shade.
        value = 0.95 - 2.5 * (min(max(shape.radius, 0.06), 0.26) - 0.06)
        colour = shapes.restyle(shapes.hsv_colour(hue), 0.75, value)
        accent = shapes.restyle(shapes.hsv_colour(hue + 0.5), 0.55, 0.95)
        painted.append(dataclasses.replace(shape, colour=colour, accent=accent))
    return dataclasses.replace(
        composition, ground=PAPER, shapes=tuple(painted), backdrop="flat", shadow=True
    )


def paint_edges(composition: shapes.Composition, resolution: int) -> Image.Image:
    """The ``L`` sketch of ``composition``: thin dark lines on white."""
    factor = shapes.supersample(resolution)
    big = resolution * factor
    # Each painted area gets its own number; a line runs wherever the number changes.
    areas = Image.new("L", (big, big), 0)
    number = 0
    for shape in composition.shapes:
        for _colour, mask, corner in shapes.regions(shape, big):
            number += 1
            areas.paste(number, corner, mask)
    a = np.asarray(areas)
    boundary = np.zeros(a.shape, dtype=bool)
    boundary[:, 1:] |= a[:, 1:] != a[:, :-1]
    boundary[1:, :] |= a[1:, :] != a[:-1, :]
    # Lines about 0.75 of a pixel wide at small resolutions, thicker above 120 pixels.
    width = max(0.75, resolution / 160) * factor
    boundary = _dilate(boundary, round((width - 1) / 2))
    lines = Image.fromarray(boundary.astype(np.uint8) * 255, "L")
    sketch = ImageChops.invert(lines).resize((resolution, resolution), Image.Resampling.LANCZOS)
    return sketch.point(_INK)


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` grown by ``reach`` pixels every way (a square of side ``2 * reach + 1``)."""
    for axis in (0, 1):
        grown = mask.copy()
        for step in range(1, reach + 1):
            ahead = [slice(None)] * 2
            behind = [slice(None)] * 2
            ahead[axis], behind[axis] = slice(step, None), slice(None, -step)
            grown[tuple(ahead)] |= mask[tuple(behind)]
            grown[tuple(behind)] |= mask[tuple(ahead)]
        mask = grown
    return mask
