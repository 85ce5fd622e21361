"""Loss curves as a PNG, drawn with Pillow: people would rather look than read a log."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 640, 360, 48
COLOURS = {"d_loss": (31, 119, 180), "g_loss": (214, 39, 40)}


def save_loss_curves(records: list[dict], path: Path) -> Path | None:
    """Plot d_loss and g_loss against step; None when there is nothing to plot yet."""
    series = {
        key: [(r["step"], r[key]) for r in records if isinstance(r.get(key), int | float)]
        for key in COLOURS
    }
    points = [p for values in series.values() for p in values]
    if len(points) < 2:
        return None
    steps = [s for s, _ in points]
    values = [v for _, v in points]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(values), max(values)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = MARGIN, 16, WIDTH - 16, HEIGHT - MARGIN

    def xy(step: float, value: float) -> tuple[float, float]:
        x = left + (step - x0) / (x1 - x0) * (right - left)
        y = bottom - (value - y0) / (y1 - y0) * (bottom - top)
        return x, y

    draw.rectangle((left, top, right, bottom), outline=(120, 120, 120))
    for fraction in (0.0, 0.5, 1.0):
        value = y0 + fraction * (y1 - y0)
        _, y = xy(x0, value)
        draw.text((4, y - 6), f"{value:.2f}", fill=(60, 60, 60))
        step = x0 + fraction * (x1 - x0)
        x, _ = xy(step, y0)
        draw.text((x - 12, bottom + 6), f"{step:.0f}", fill=(60, 60, 60))
    draw.text((right - 60, bottom + 24), "step", fill=(60, 60, 60))
    for index, (key, values) in enumerate(series.items()):
        if len(values) >= 2:
            draw.line([xy(s, v) for s, v in values], fill=COLOURS[key], width=2)
        draw.text((left + 8 + 80 * index, top + 4), key, fill=COLOURS[key])
    image.save(path)
    return Path(path)
