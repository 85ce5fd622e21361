"""``shapes``: the embedded default dataset, abstract compositions of coloured shapes.

Nothing to download: every image is drawn from ``(seed, index)`` alone, so a seed always
gives the same bytes and a smaller size is a prefix of a larger one. Each image holds
several shapes of one kind (``CLASSES``), which is its label: the same layout, in varied
sizes, places, colours and turns, over a flat or gradient ground in a harmonious palette.

An image is first laid out (``compose``: a ``Composition`` of ``Shape`` records, in unit
coordinates) and then painted (``paint``), so other procedural sets reuse the layouts:
``edges2shapes`` traces their outlines, ``shapestyles`` paints them in two styles. Shapes are
drawn at a few times the resolution (``supersample``) and downsampled with Lanczos for
smooth edges.
"""

from __future__ import annotations

import colorsys
import math
import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import check_data_bytes

DEFAULT_SIZE = 2048
CLASSES = ("circle", "square", "triangle", "star", "cross")
# Hue offsets of classic colour schemes: analogous, complementary, split, triadic.
_SCHEMES = ((0.0, 0.08, -0.08), (0.0, 0.5, 0.04), (0.0, 0.42, 0.58), (0.0, 1 / 3, 2 / 3))
# How far a shape of radius 1 reaches from its centre at most (the star's and triangle's tips).
_REACH = 1.3
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_SHADOW_ALPHA = [v * 2 // 5 for v in range(256)]  # a shadow darkens by 40% at most

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Shape:
    """One shape, in unit coordinates: its centre ``(x, y)`` and ``radius`` are fractions of
    the image side, ``turn`` its rotation in radians. ``style``: ``solid``; ``outline``, a
    band with a hole of ``inner`` times the radius; ``inset``, a copy of ``inner`` times the
    size in ``accent`` on top."""

    kind: str
    x: float
    y: float
    radius: float
    turn: float = 0.0
    colour: RGB = (255, 255, 255)
    accent: RGB = (0, 0, 0)
    style: str = "solid"
    inner: float = 0.5


@dataclass(frozen=True)
class Composition:
    """A picture's layout: the label (an index into ``CLASSES``), the ground colour, the
    shapes from bottom to top, and the backdrop (``flat``, ``linear`` at ``angle``, or
    ``radial`` around ``focus``, fading towards ``glow``)."""

    label: int
    ground: RGB
    shapes: tuple[Shape, ...]
    backdrop: str = "flat"
    angle: float = 0.0
    focus: tuple[float, float] = (0.5, 0.5)
    glow: RGB = (255, 255, 255)
    shadow: bool = False

    @property
    def kind(self) -> str:
        return CLASSES[self.label]


def load(request: DataRequest) -> DataStore:
    size = check_request(request, "shapes")
    # The images, and one int64 label each.
    check_data_bytes(size, request.channels * request.resolution**2 + 8, "dataset 'shapes'")
    images, labels = generate(size, request.resolution, request.channels, request.seed)
    description = f"{size} procedural shape images (seed {request.seed})"
    return DataStore(
        kind="image", tensor=images, description=description, labels=labels, classes=CLASSES
    )


def check_request(request: DataRequest, name: str) -> int:
    """The number of images a procedural image set should draw, after checking the request."""
    size = DEFAULT_SIZE if request.size is None else request.size
    if size < 1:
        raise ConfigError(f"dataset {name!r} needs a size of at least 1; got {size}")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    return size


def generate(
    size: int, resolution: int, channels: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(size, channels, resolution, resolution)`` uint8 images and their int64 labels."""
    labels = np.empty(size, dtype=np.int64)

    def draw(index: int) -> tuple[Image.Image]:
        composition = compose(seed, index)
        labels[index] = composition.label
        return (paint(composition, resolution),)

    (images,) = render_all(size, resolution, channels, 1, draw)
    return images, torch.from_numpy(labels)


def render_all(
    size: int,
    resolution: int,
    channels: int,
    count: int,
    draw: Callable[[int], tuple[Image.Image, ...]],
) -> tuple[torch.Tensor, ...]:
    """Calls ``draw(index)`` for every index, on a few threads, and stacks each of the
    ``count`` pictures it returns into a uint8 ``(size, channels, resolution, resolution)``
    tensor."""
    mode = "RGB" if channels == 3 else "L"
    outs = [np.empty((size, resolution, resolution, channels), np.uint8) for _ in range(count)]

    def draw_into(index: int) -> None:
        for out, image in zip(outs, draw(index), strict=True):
            out[index] = np.asarray(image.convert(mode)).reshape(resolution, resolution, channels)

    # PIL releases the GIL while drawing and resampling, which is most of the cost.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        list(pool.map(draw_into, range(size)))
    return tuple(torch.from_numpy(out).permute(0, 3, 1, 2).contiguous() for out in outs)


def render(seed: int, index: int, resolution: int) -> Image.Image:
    """The RGB picture ``index`` of the ``shapes`` set for ``seed``."""
    return paint(compose(seed, index), resolution)


# Layout


def compose(seed: int, index: int, stream: str = "shapes") -> Composition:
    """The layout of picture ``index``: a function of ``(stream, seed, index)`` alone."""
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and platforms.
    rng = random.Random(f"ganzoo-{stream}:{seed}:{index}")
    label = rng.randrange(len(CLASSES))
    palette, ground = _palette(rng)
    backdrop = rng.choice(("flat", "flat", "linear", "radial"))
    angle = rng.uniform(0, 2 * math.pi)
    focus = (rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8))
    glow = rng.choice(palette)
    shadow = rng.random() < 0.5
    shapes = [_shape(rng, CLASSES[label], palette) for _ in range(rng.randint(2, 6))]
    # Larger shapes first, so the small ones sit on top and stay visible.
    shapes.sort(key=lambda shape: -shape.radius)
    return Composition(label, ground, tuple(shapes), backdrop, angle, focus, glow, shadow)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def hsv_colour(hue: float) -> RGB:
    """The fully saturated, full-value colour of ``hue`` (a fraction of the circle)."""
    return _hsv(hue, 1.0, 1.0)


def hsv_of(colour: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(c / 255 for c in colour))


def restyle(colour: RGB, saturation: float, value: float) -> RGB:
    """``colour``'s hue at the given saturation and value."""
    return _hsv(hsv_of(colour)[0], saturation, value)


def _palette(rng: random.Random) -> tuple[list[RGB], RGB]:
    base = rng.random()
    offsets = rng.choice(_SCHEMES)
    colours = [
        _hsv(
            base + rng.choice(offsets) + rng.uniform(-0.03, 0.03),
            rng.uniform(0.35, 0.95),
            rng.uniform(0.4, 1.0),
        )
        for _ in range(5)
    ]
    # A muted dark or light ground keeps the shapes readable against it.
    value = rng.uniform(0.08, 0.3) if rng.random() < 0.5 else rng.uniform(0.8, 0.97)
    ground = _hsv(base + rng.choice(offsets), rng.uniform(0.05, 0.4), value)
    return colours, ground


def _shape(rng: random.Random, kind: str, palette: list[RGB]) -> Shape:
    radius = rng.uniform(0.06, 0.26)
    x, y = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
    turn = rng.uniform(0, 2 * math.pi)
    colour = rng.choice(palette)
    accent = rng.choice([c for c in palette if c != colour] or palette)
    style = rng.choices(("solid", "outline", "inset"), weights=(6, 2, 2))[0]
    inner = rng.uniform(0.55, 0.75) if style == "outline" else rng.uniform(0.35, 0.6)
    return Shape(kind, x, y, radius, turn, colour, accent, style, inner)


# Geometry


def vertices(kind: str, radius: float, turn: float) -> list[tuple[float, float]]:
    """The corners of a polygonal kind around the origin (not for circles). At ``turn`` 0
    squares are axis-aligned and triangles, stars and crosses point up."""
    if kind == "square":
        half = radius * math.sqrt(math.pi) / 2  # as much area as the circle
        points = [(-half, -half), (half, -half), (half, half), (-half, half)]
    elif kind == "triangle":
        points = _star_points(3, radius * 1.25, None)
    elif kind == "star":
        points = _star_points(5, radius * 1.25, radius * 0.5)
    elif kind == "cross":
        arm, half = radius * 1.05, radius * 0.35
        points = [
            (-half, -arm), (half, -arm), (half, -half), (arm, -half), (arm, half), (half, half),
            (half, arm), (-half, arm), (-half, half), (-arm, half), (-arm, -half), (-half, -half),
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown shape kind {kind!r}")
    cos, sin = math.cos(turn), math.sin(turn)
    return [(x * cos - y * sin, x * sin + y * cos) for x, y in points]


def _star_points(tips: int, outer: float, inner: float | None) -> list[tuple[float, float]]:
    step = math.pi / tips
    points = []
    for k in range(tips * 2 if inner else tips):
        r = outer if inner is None or k % 2 == 0 else inner
        angle = -math.pi / 2 + k * (step if inner else 2 * step)
        points.append((r * math.cos(angle), r * math.sin(angle)))
    return points


def stamp(draw: ImageDraw.ImageDraw, shape: Shape, cx: float, cy: float, r: float, fill) -> None:
    """Draws ``shape``'s outline filled, centred at ``(cx, cy)`` with radius ``r`` pixels."""
    if shape.kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        draw.polygon([(cx + x, cy + y) for x, y in vertices(shape.kind, r, shape.turn)], fill=fill)


def shape_mask(
    shape: Shape, big: int, *, scale: float = 1.0, hole: float = 0.0, pad: int = 0
) -> tuple[Image.Image, tuple[int, int]]:
    """A binary ``L`` mask of ``shape`` on a ``big``-pixel canvas (its size times ``scale``,
    less a hole of ``hole`` times that size), cropped around it with ``pad`` spare pixels,
    and where its top-left corner goes."""
    cx, cy, r = shape.x * big, shape.y * big, shape.radius * big * scale
    extent = math.ceil(r * _REACH) + pad + 1
    left, top = math.floor(cx) - extent, math.floor(cy) - extent
    mask = Image.new("L", (2 * extent + 1, 2 * extent + 1), 0)
    draw = ImageDraw.Draw(mask)
    stamp(draw, shape, cx - left, cy - top, r, 255)
    if hole > 0:
        stamp(draw, shape, cx - left, cy - top, r * hole, 0)
    return mask, (left, top)


def regions(shape: Shape, big: int) -> list[tuple[RGB, Image.Image, tuple[int, int]]]:
    """The areas ``shape`` paints, bottom to top, each ``(colour, mask, corner)``."""
    if shape.style == "outline":
        return [(shape.colour, *shape_mask(shape, big, hole=shape.inner))]
    out = [(shape.colour, *shape_mask(shape, big))]
    if shape.style == "inset":
        out.append((shape.accent, *shape_mask(shape, big, scale=shape.inner)))
    return out


# Painting


def supersample(resolution: int) -> int:
    """How many times the resolution a picture is drawn at before it is downsampled."""
    return 4 if resolution <= 128 else 2


def fade(start: RGB, end: RGB, t: np.ndarray) -> Image.Image:
    """An RGB image blending ``start`` (where ``t`` is 0) into ``end`` (where it is 1)."""
    a, b = np.asarray(start, np.float32), np.asarray(end, np.float32)
    pixels = a + (b - a) * t[..., None]
    return Image.fromarray(np.rint(pixels).astype(np.uint8), "RGB")


def _backdrop(composition: Composition, big: int, resolution: int) -> Image.Image:
    ground = composition.ground
    if composition.backdrop == "flat":
        return Image.new("RGB", (big, big), ground)
    # A gradient is smooth: computed at the resolution, then scaled up to the canvas.
    axis = np.linspace(0.0, 1.0, resolution, dtype=np.float32)
    if composition.backdrop == "linear":
        angle = composition.angle
        t = axis[None, :] * math.cos(angle) + axis[:, None] * math.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    else:
        fx, fy = composition.focus
        t = np.hypot(axis[None, :] - fx, axis[:, None] - fy)
        t = 1 - t / max(float(t.max()), 1e-6)
    end = tuple((np.asarray(ground) + np.asarray(composition.glow)) / 2)
    return fade(ground, end, t).resize((big, big), Image.Resampling.BILINEAR)


def paint(composition: Composition, resolution: int) -> Image.Image:
    """The RGB picture of ``composition`` at ``resolution`` pixels a side."""
    factor = supersample(resolution)
    big = resolution * factor
    image = _backdrop(composition, big, resolution)
    for shape in composition.shapes:
        if composition.shadow:
            _shadow(image, shape, big, factor)
        for colour, mask, corner in regions(shape, big):
            image.paste(colour, corner, mask)
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)


def _shadow(image: Image.Image, shape: Shape, big: int, factor: int) -> None:
    """A soft drop shadow below and right of ``shape``."""
    blur = max(1.0, shape.radius * big * 0.12)
    hole = shape.inner if shape.style == "outline" else 0.0
    mask, (left, top) = shape_mask(shape, big, hole=hole, pad=math.ceil(blur * 2))
    mask = mask.filter(ImageFilter.GaussianBlur(blur)).point(_SHADOW_ALPHA)
    shift = max(1, round(big * 0.015))
    image.paste((0, 0, 0), (left + shift, top + shift), mask)
