"""Procedural landscape "paintings": a small held-out image folder for tests and benchmarks.

Unlike ganzoo's embedded ``shapes`` set (flat or gradient grounds with several copies of one
geometric shape), every picture here is a scene: a sky whose colours follow a time of day
(dawn, day, dusk or night), a sun or moon with a glow, two or three mountain ranges with
jagged ridgelines fading into the haze as they recede, sometimes a lake that mirrors the sky
and the hills with ripples, and brush-stroke streaks over it all. Each picture is a function
of ``(seed, index)`` alone, so a folder is the same bytes on every machine.

``make_paintings`` writes the PNGs; the ``paintings_folder`` fixture gives tests a folder of
300 of them (drawn once per test session).
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Drawn at twice the size, then downsampled with Lanczos: smooth ridgelines and discs.
_SUPERSAMPLE = 2

# (top of the sky, horizon) as (hue, saturation, value) ranges per time of day.
_SKIES = {
    "dawn": (((0.62, 0.75), (0.35, 0.6), (0.45, 0.7)), ((0.02, 0.10), (0.35, 0.65), (0.9, 1.0))),
    "day": (((0.55, 0.62), (0.5, 0.8), (0.75, 0.95)), ((0.52, 0.58), (0.1, 0.3), (0.9, 1.0))),
    "dusk": (((0.70, 0.82), (0.5, 0.8), (0.25, 0.45)), ((0.03, 0.09), (0.7, 0.95), (0.85, 1.0))),
    "night": (((0.60, 0.68), (0.6, 0.9), (0.05, 0.15)), ((0.58, 0.66), (0.4, 0.7), (0.25, 0.4))),
}
_TIMES = tuple(_SKIES)


def _rgb(rng: np.random.Generator, ranges) -> np.ndarray:
    h, s, v = (rng.uniform(low, high) for low, high in ranges)
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


def _ridge(rng: np.random.Generator, width: int, roughness: float) -> np.ndarray:
    """A ridgeline profile in [-1, 1] over ``width`` columns: a few broad sine waves for the
    massif plus midpoint displacement for the jagged peaks."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    profile = np.zeros(width, np.float32)
    for octave in range(1, 4):
        amplitude = rng.uniform(0.3, 1.0) / octave
        frequency, phase = octave * rng.uniform(0.5, 1.5), rng.random()
        profile += amplitude * np.sin(2 * np.pi * (frequency * x + phase))
    # Midpoint displacement on a power-of-two grid, then sampled at the columns.
    points = 65
    jag = np.zeros(points, np.float32)
    jag[[0, -1]] = rng.uniform(-1, 1, 2)
    step, scale = points - 1, 1.0
    while step > 1:
        half = step // 2
        mids = np.arange(half, points, step)
        shift = rng.uniform(-scale, scale, len(mids))
        jag[mids] = (jag[mids - half] + jag[mids + half]) / 2 + shift
        step, scale = half, scale * roughness
    profile += 0.8 * np.interp(x, np.linspace(0, 1, points), jag).astype(np.float32)
    return profile / max(float(np.abs(profile).max()), 1e-6)


def _streaks(rng: np.random.Generator, side: int, length: int) -> np.ndarray:
    """Brush strokes: noise smeared along the rows, a multiplicative field around 1."""
    noise = rng.standard_normal((side, side + length)).astype(np.float32)
    kernel = np.ones(length, np.float32) / length
    smeared = np.apply_along_axis(lambda row: np.convolve(row, kernel, "valid"), 1, noise)
    return smeared[:, :side] * np.sqrt(length)


def paint(seed: int, index: int, size: int = 64) -> Image.Image:
    """Painting ``index`` of the set for ``seed``: an RGB image ``size`` pixels a side."""
    rng = np.random.default_rng([seed, index, 0x9A1])
    side = size * _SUPERSAMPLE
    ys = np.linspace(0.0, 1.0, side, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, side, dtype=np.float32)[None, :]
    time = _TIMES[rng.integers(len(_TIMES))]
    top_range, horizon_range = _SKIES[time]
    top, horizon_colour = _rgb(rng, top_range), _rgb(rng, horizon_range)
    horizon = rng.uniform(0.5, 0.72)  # where the farthest hills stand, from the top

    # Sky: top colour to horizon colour, eased so the glow hugs the horizon.
    t = np.clip(ys / horizon, 0.0, 1.0) ** rng.uniform(1.2, 2.5)
    image = np.broadcast_to(top + (horizon_colour - top) * t[..., None], (side, side, 3)).copy()

    # A sun (or the moon at night) with a soft halo.
    cx, cy = rng.uniform(0.15, 0.85), rng.uniform(0.12, horizon - 0.12)
    radius = rng.uniform(0.04, 0.09)
    if time == "night":
        disc = np.array([0.95, 0.95, 0.85], np.float32)
        stars = rng.random((side, side)) < 0.004 * (1 - t)
        image[stars] = np.maximum(image[stars], rng.uniform(0.6, 1.0))
    elif time == "day":
        disc = np.array([1.0, 0.98, 0.85], np.float32)
    else:
        disc = np.array([1.0, rng.uniform(0.55, 0.8), rng.uniform(0.3, 0.5)], np.float32)
    distance = np.hypot(xs - cx, ys - cy)
    halo = np.exp(-((distance / (radius * rng.uniform(2.5, 4.5))) ** 2))[..., None] * 0.5
    image += (disc - image) * halo
    edge = np.clip((radius - distance) * side, 0.0, 1.0)[..., None]
    image += (disc - image) * edge

    # Mountain ranges, back to front: higher and hazier far away, darker and lower near.
    lake = rng.random() < 0.4
    water = rng.uniform(horizon + 0.12, 0.85) if lake else 1.0
    ground = _rgb(rng, ((0.06, 0.45), (0.3, 0.7), (0.15, 0.45)))  # ochre to teal
    if time == "night":
        ground *= 0.4
    layers = int(rng.integers(2, 4))
    for layer in range(layers):
        depth = (layer + 1) / layers  # 1: the nearest
        base = horizon + (water - horizon) * depth * rng.uniform(0.55, 0.9)
        height = rng.uniform(0.12, 0.3) * (1.2 - 0.4 * depth)
        ridge = base - height * (0.5 + 0.5 * _ridge(rng, side, rng.uniform(0.45, 0.7)))
        haze = 0.75 * (1 - depth) + 0.1
        colour = ground * (1 - haze) + horizon_colour * haze
        colour *= rng.uniform(0.85, 1.1)
        inside = np.clip((ys - ridge[None, :]) * side, 0.0, 1.0)[..., None]
        # The slopes darken downwards a little, as if lit from the sky.
        shade = 1 - 0.25 * np.clip((ys - ridge[None, :]) / 0.3, 0.0, 1.0)[..., None]
        image = image * (1 - inside) + np.clip(colour * shade, 0, 1) * inside

    if lake:
        # The lake mirrors what stands above the waterline, rippled and darkened.
        row = int(water * side)
        below = side - row
        mirror_rows = np.clip(row - 1 - np.arange(below), 0, side - 1)
        ripple = np.rint(rng.uniform(0.5, 2.0) * np.sin(np.arange(below) * rng.uniform(0.6, 1.4)))
        columns = (np.arange(side)[None, :] + ripple[:, None].astype(int)) % side
        reflected = image[mirror_rows[:, None], columns]
        tint = _rgb(rng, ((0.5, 0.6), (0.3, 0.6), (0.3, 0.6)))
        image[row:] = reflected * 0.7 + tint * 0.15
        image[row : row + max(1, side // 128)] *= 0.8  # the shoreline

    # Brush strokes and canvas grain.
    strokes = _streaks(rng, side, int(rng.integers(6, 16)))
    image *= 1 + 0.05 * strokes[..., None]
    image += rng.normal(0, 0.015, image.shape).astype(np.float32)
    pixels = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").resize((size, size), Image.Resampling.LANCZOS)


def make_paintings(folder: Path, count: int = 300, size: int = 64, seed: int = 0) -> list[Path]:
    """Write ``count`` paintings as ``painting_0000.png``... into ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"painting_{index:04d}.png"
        paint(seed, index, size).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def paintings_folder(tmp_path_factory) -> Path:
    """A folder of 300 64x64 paintings (seed 0), shared by the session's tests."""
    folder = tmp_path_factory.mktemp("paintings")
    make_paintings(folder)
    return folder
