"""``shapes``: the embedded default dataset, abstract compositions of coloured shapes.

Nothing to download: every image is drawn from ``(seed, index)`` alone, so a seed always
gives the same bytes and a smaller size is a prefix of a larger one. Shapes are drawn at
``_SUPERSAMPLE`` times the resolution and downsampled with Lanczos for smooth edges.
"""

from __future__ import annotations

import colorsys
import math
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganzoo.core.data import DataRequest, DataStore
from ganzoo.core.errors import ConfigError
from ganzoo.core.limits import check_data_bytes

DEFAULT_SIZE = 2048
_SUPERSAMPLE = 2
# Hue offsets of classic colour schemes: analogous, complementary, split, triadic.
_SCHEMES = ((0.0, 0.08, -0.08), (0.0, 0.5, 0.04), (0.0, 0.42, 0.58), (0.0, 1 / 3, 2 / 3))


def load(request: DataRequest) -> DataStore:
    size = DEFAULT_SIZE if request.size is None else request.size
    if size < 1:
        raise ConfigError(f"dataset 'shapes' needs a size of at least 1; got {size}")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    check_data_bytes(size, request.channels * request.resolution**2, "dataset 'shapes'")
    images = generate(size, request.resolution, request.channels, request.seed)
    description = f"{size} procedural shape images (seed {request.seed})"
    return DataStore(kind="image", tensor=images, description=description)


def generate(size: int, resolution: int, channels: int, seed: int) -> torch.Tensor:
    """``(size, channels, resolution, resolution)`` uint8 images."""
    out = np.empty((size, resolution, resolution, channels), dtype=np.uint8)
    mode = "RGB" if channels == 3 else "L"

    def draw_into(index: int) -> None:
        image = render(seed, index, resolution)
        out[index] = np.asarray(image.convert(mode)).reshape(resolution, resolution, channels)

    # PIL releases the GIL while resampling, which is most of the cost.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(draw_into, range(size)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def render(seed: int, index: int, resolution: int) -> Image.Image:
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and platforms.
    rng = random.Random(f"ganzoo-shapes:{seed}:{index}")
    big = resolution * _SUPERSAMPLE
    palette, background = _palette(rng)
    image = _background(rng, big, background, palette)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 5)):
        _shape(rng, draw, big, rng.choice(palette))
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _palette(rng: random.Random) -> tuple[list[tuple[int, int, int]], tuple[int, int, int]]:
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
    background = _hsv(base + rng.choice(offsets), rng.uniform(0.05, 0.4), value)
    return colours, background


def _background(
    rng: random.Random, big: int, ground: tuple[int, int, int], palette: list
) -> Image.Image:
    if rng.random() < 0.5:
        return Image.new("RGB", (big, big), ground)
    angle = rng.uniform(0, 2 * math.pi)
    axis = np.linspace(-0.5, 0.5, big, dtype=np.float32)
    t = axis[None, :] * math.cos(angle) + axis[:, None] * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    start = np.asarray(ground, dtype=np.float32)
    end = start * 0.5 + np.asarray(rng.choice(palette), dtype=np.float32) * 0.5
    pixels = start + (end - start) * t[..., None]
    return Image.fromarray(np.rint(pixels).astype(np.uint8), "RGB")


def _shape(rng: random.Random, draw: ImageDraw.ImageDraw, big: int, colour: tuple) -> None:
    cx, cy = rng.uniform(0.1, 0.9) * big, rng.uniform(0.1, 0.9) * big
    radius = rng.uniform(0.08, 0.35) * big
    kind = rng.choice(("ellipse", "ellipse", "rectangle", "polygon", "triangle", "line", "ring"))
    if kind in ("ellipse", "ring"):
        rx, ry = radius, radius * rng.uniform(0.5, 1.0)
        box = (cx - rx, cy - ry, cx + rx, cy + ry)
        if kind == "ring":
            draw.ellipse(box, outline=colour, width=max(1, round(radius * rng.uniform(0.1, 0.3))))
        else:
            draw.ellipse(box, fill=colour)
    elif kind == "rectangle":
        half_w, half_h = radius, radius * rng.uniform(0.3, 1.0)
        turn = rng.uniform(0, math.pi)
        cos, sin = math.cos(turn), math.sin(turn)
        corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
        draw.polygon(
            [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in corners], fill=colour
        )
    elif kind == "polygon":
        sides = rng.randint(3, 6)
        draw.regular_polygon((cx, cy, radius), sides, rotation=rng.uniform(0, 360), fill=colour)
    elif kind == "triangle":
        points = [
            (cx + rng.uniform(-1, 1) * radius, cy + rng.uniform(-1, 1) * radius) for _ in range(3)
        ]
        draw.polygon(points, fill=colour)
    else:
        turn = rng.uniform(0, math.pi)
        dx, dy = math.cos(turn) * radius * 1.5, math.sin(turn) * radius * 1.5
        width = max(1, round(big * rng.uniform(0.02, 0.07)))
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=colour, width=width)
