"""Hole masks for training an inpainting model: rectangles and free-form brush strokes.

A mask is a float tensor ``(N, 1, H, W)`` with 1 where the image is missing. Everything is
drawn from one ``torch.Generator`` on its device, with a fixed number of random values per
call whatever the masks turn out to be, so a seeded run (and a resumed one) draws the same
masks bit for bit.

Rectangles follow Iizuka et al. 2017 (one axis-aligned hole per image). Strokes follow the
free-form algorithm of Yu et al. 2019 (DeepFill v2, its ``brush_stroke_mask``): each stroke
starts at a random point and walks 4-12 vertices, turning by angles that alternate around a
mean of 2π/5, with segment lengths around an eighth of the image diagonal, drawn with one
random brush width (12-40 px at 256 px, scaled with the image) and round joints.

Unlike the paper's masks, the hole fraction of every mask lies in ``[hole_min, hole_max]``:
the rectangle's sides are chosen for a target area, and strokes are drawn segment by
segment until the hole reaches a target fraction drawn uniformly from the range, skipping
any segment that would push it over ``hole_max``. A stroke mask that still falls short of
``hole_min`` after all its candidate segments (rare) becomes a rectangle.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

MAX_STROKES = 8  # candidate strokes per mask (drawn until the target coverage is met)
MIN_VERTICES, MAX_VERTICES = 4, 12
MEAN_ANGLE, ANGLE_RANGE = 2 * math.pi / 5, 2 * math.pi / 15
WIDTH_MIN, WIDTH_MAX = 12 / 256, 40 / 256  # brush width as a fraction of the image side
RECT_ASPECT = 2.0  # rectangles are at most this elongated (height/width in [1/2, 2])


def check_bounds(hole_min: float, hole_max: float, rect_prob: float = 0.5) -> None:
    if not 0.0 < hole_min <= hole_max < 1.0:
        raise ValueError(
            f"hole_min and hole_max must satisfy 0 < hole_min <= hole_max < 1; "
            f"got {hole_min} and {hole_max}"
        )
    if not 0.0 <= rect_prob <= 1.0:
        raise ValueError(f"rect_prob must lie in [0, 1]; got {rect_prob}")


def random_masks(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    *,
    hole_min: float = 0.1,
    hole_max: float = 0.4,
    rect_prob: float = 0.5,
) -> Tensor:
    """``n`` masks ``(n, 1, height, width)`` (float32, 1 = missing) on ``generator``'s
    device: each a rectangle with probability ``rect_prob``, else free-form strokes, with
    a hole fraction in ``[hole_min, hole_max]`` (up to one pixel row when the range is
    narrower than that)."""
    masks, _ = _random_masks(n, height, width, generator, hole_min, hole_max, rect_prob)
    return masks


def _random_masks(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    hole_min: float,
    hole_max: float,
    rect_prob: float,
) -> tuple[Tensor, Tensor]:
    """The masks and whether each is a rectangle (after the fallback)."""
    check_bounds(hole_min, hole_max, rect_prob)
    device = generator.device

    def uniform(*shape: int) -> Tensor:
        return torch.rand(shape, generator=generator, device=device)

    # Every random value is drawn here, in a fixed order and amount.
    is_rect = uniform(n) < rect_prob
    target = hole_min + (hole_max - hole_min) * uniform(n)
    rect_u = uniform(n, 3)
    stroke_u = uniform(n, MAX_STROKES, 5)
    vertex_u = uniform(n, MAX_STROKES, MAX_VERTICES, 2)

    area = float(height * width)
    low, high = math.ceil(hole_min * area - 1e-6), hole_max * area
    wanted = ~is_rect
    strokes = _strokes(height, width, target * area, low, high, stroke_u, vertex_u, wanted)
    as_rect = is_rect | (strokes.flatten(1).sum(1) < low)
    rects = _rectangles(height, width, target * area, low, high, rect_u)
    masks = torch.where(as_rect.view(n, 1, 1), rects, strokes)
    return masks.unsqueeze(1).float(), as_rect


def _rectangles(
    height: int, width: int, target: Tensor, low: float, high: float, u: Tensor
) -> Tensor:
    """One rectangle per mask whose area is close to ``target`` and within [low, high]
    pixels (where an integer side pair allows it)."""
    n = target.shape[0]
    aspect = torch.exp((2 * u[:, 0] - 1) * math.log(RECT_ASPECT))  # height / width
    h = torch.sqrt(target * aspect).round()
    # The height range in which some integer width gives an area within [low, high].
    h_lo = max(1, math.ceil(low / width - 1e-9))
    h = h.clamp(h_lo, height)
    w = (target / h).round()
    w = torch.minimum(w, torch.floor(high / h + 1e-9))
    w = torch.maximum(w, torch.ceil(low / h - 1e-9))
    w = w.clamp(1, width)
    top = torch.floor(u[:, 1] * (height - h + 1))
    left = torch.floor(u[:, 2] * (width - w + 1))
    rows = torch.arange(height, device=target.device, dtype=target.dtype).view(1, height, 1)
    cols = torch.arange(width, device=target.device, dtype=target.dtype).view(1, 1, width)
    inside_r = (rows >= top.view(n, 1, 1)) & (rows < (top + h).view(n, 1, 1))
    inside_c = (cols >= left.view(n, 1, 1)) & (cols < (left + w).view(n, 1, 1))
    return inside_r & inside_c


def _strokes(
    height: int,
    width: int,
    target: Tensor,
    low: float,
    high: float,
    stroke_u: Tensor,
    vertex_u: Tensor,
    wanted: Tensor,
) -> Tensor:
    """Brush strokes (Yu et al. 2019), segment by segment, until each mask covers
    ``target`` pixels; a segment that would exceed ``high`` pixels is skipped."""
    n = target.shape[0]
    device = target.device
    scale = float(min(height, width))
    diag_radius = math.sqrt(height**2 + width**2) / 8  # the paper's average segment length
    masks = torch.zeros(n, height, width, dtype=torch.bool, device=device)
    covered = torch.zeros(n, device=device)
    cpu = device.type == "cpu"
    ys = torch.arange(height, device=device, dtype=torch.float32).view(1, height, 1) + 0.5
    xs = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, width) + 0.5

    done = ~wanted
    for s in range(MAX_STROKES):
        su = stroke_u[:, s]
        x = su[:, 0] * width
        y = su[:, 1] * height
        vertices = MIN_VERTICES + torch.floor(su[:, 2] * (MAX_VERTICES - MIN_VERTICES + 1))
        brush = scale * (WIDTH_MIN + (WIDTH_MAX - WIDTH_MIN) * su[:, 3])
        radius = (brush / 2).clamp(min=0.75).view(n, 1, 1)  # at least a one-pixel line
        spread = ANGLE_RANGE * su[:, 4]
        angle_min, angle_max = MEAN_ANGLE - spread, MEAN_ANGLE + spread
        for v in range(MAX_VERTICES):
            vu = vertex_u[:, s, v]
            angle = angle_min + (angle_max - angle_min) * vu[:, 0]
            if v % 2 == 0:
                angle = 2 * math.pi - angle
            # The paper's length ~ N(r, r/2) clipped to [0, 2r]; a uniform draw on [0, 2r]
            # has the same mean and range and keeps the stream a plain rand().
            length = 2 * diag_radius * vu[:, 1]
            nx = (x + length * torch.cos(angle)).clamp(0, width)
            ny = (y + length * torch.sin(angle)).clamp(0, height)
            segment = _capsule(xs, ys, x, y, nx, ny, radius)
            x, y = nx, ny
            merged = masks | segment
            count = merged.flatten(1).sum(1).float()
            fits = count <= high
            use = ~done & (v < vertices) & fits
            masks = torch.where(use.view(n, 1, 1), merged, masks)
            covered = torch.where(use, count, covered)
            # A mask is finished at its target, or when a segment overflows once it is
            # already within the range.
            done = done | (covered >= target) | (~fits & (covered >= low))
            if cpu and bool(done.all()):
                return masks  # the rest would change nothing (no sync on an accelerator)
    return masks


def _capsule(
    xs: Tensor, ys: Tensor, x0: Tensor, y0: Tensor, x1: Tensor, y1: Tensor, radius: Tensor
) -> Tensor:
    """Pixels within ``radius`` of the segment (x0, y0)-(x1, y1): a line with round ends."""
    n = x0.shape[0]
    x0, y0 = x0.view(n, 1, 1), y0.view(n, 1, 1)
    dx, dy = (x1 - x0.view(n)).view(n, 1, 1), (y1 - y0.view(n)).view(n, 1, 1)
    px, py = xs - x0, ys - y0
    norm = (dx * dx + dy * dy).clamp(min=1e-12)
    t = ((px * dx + py * dy) / norm).clamp(0, 1)
    ex, ey = px - t * dx, py - t * dy
    return ex * ex + ey * ey <= radius * radius


def fixed_masks(
    n: int, height: int, width: int, seed: int, hole_min: float = 0.1, hole_max: float = 0.4
) -> Tensor:
    """The same ``n`` masks for a seed on the CPU, alternating rectangles and strokes (the
    training picture, the benchmark)."""
    gen = torch.Generator().manual_seed(seed)
    bounds = {"hole_min": hole_min, "hole_max": hole_max}
    rects = random_masks(n, height, width, gen, **bounds, rect_prob=1.0)
    strokes = random_masks(n, height, width, gen, **bounds, rect_prob=0.0)
    odd = (torch.arange(n) % 2 == 1).view(n, 1, 1, 1)
    return torch.where(odd, strokes, rects)
