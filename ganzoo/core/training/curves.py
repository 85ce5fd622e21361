"""Training curves as a PNG, drawn with Pillow: people would rather look than read a log.

Every scalar the step logs gets its own small panel with its own scale (a Wasserstein
estimate and a probability do not share an axis), losses first, in the order first logged.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

PANEL_WIDTH, PANEL_HEIGHT, COLUMNS = 320, 170, 2
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 48, 22, 20
NOT_PLOTTED = {"step", "epoch", "it_per_s"}
FIRST = ("d_loss", "g_loss")
PALETTE = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
)


def _series(records: list[dict]) -> dict[str, list[tuple[float, float]]]:
    keys: list[str] = [k for k in FIRST if any(k in r for r in records)]
    for record in records:
        for key, value in record.items():
            if key not in NOT_PLOTTED and key not in keys and _number(value):
                keys.append(key)
    return {
        key: [(r["step"], float(r[key])) for r in records if _number(r.get(key))] for key in keys
    }


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def save_loss_curves(records: list[dict], path: Path) -> Path | None:
    """One panel per logged scalar against step; None when there is nothing to plot yet."""
    series = {key: values for key, values in _series(records).items() if len(values) >= 2}
    if not series:
        return None
    rows = (len(series) + COLUMNS - 1) // COLUMNS
    image = Image.new("RGB", (PANEL_WIDTH * COLUMNS, PANEL_HEIGHT * rows), "white")
    draw = ImageDraw.Draw(image)
    for index, (key, values) in enumerate(series.items()):
        x_off = (index % COLUMNS) * PANEL_WIDTH
        y_off = (index // COLUMNS) * PANEL_HEIGHT
        _panel(draw, x_off, y_off, key, values, PALETTE[index % len(PALETTE)])
    image.save(path)
    return Path(path)


def _panel(draw, x_off: int, y_off: int, key: str, values, colour) -> None:
    steps = [s for s, _ in values]
    ys = [v for _, v in values]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    left, top = x_off + MARGIN_LEFT, y_off + MARGIN_TOP
    right, bottom = x_off + PANEL_WIDTH - 10, y_off + PANEL_HEIGHT - MARGIN_BOTTOM

    def xy(step: float, value: float) -> tuple[float, float]:
        x = left + (step - x0) / (x1 - x0) * (right - left)
        y = bottom - (value - y0) / (y1 - y0) * (bottom - top)
        return x, y

    grey = (90, 90, 90)
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    draw.text((left, y_off + 4), key, fill=colour)
    for fraction in (0.0, 1.0):
        value = y0 + fraction * (y1 - y0)
        _, y = xy(x0, value)
        draw.text((x_off + 2, y - 6), f"{value:.3g}", fill=grey)
        step = x0 + fraction * (x1 - x0)
        x, _ = xy(step, y0)
        draw.text((min(x, right - 30) - 4, bottom + 4), f"{step:.0f}", fill=grey)
    draw.line([xy(s, v) for s, v in values], fill=colour, width=2)
