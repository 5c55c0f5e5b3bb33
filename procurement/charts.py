"""Geometry of the server-rendered SVG charts (the template draws them; no JavaScript)."""

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 32


@dataclass(frozen=True)
class ShareChart:
    width: int
    height: int
    planned_points: str  # SVG polyline points
    actual_points: str
    # Coordinates are written as text here: the template would localise a number ("228,0").
    minimum_y: str
    x_labels: list[tuple[str, str]]
    y_labels: list[tuple[str, str, str]]  # y, the label's x, the label
    left: str
    right: str
    label_y: str


def _x(index: int, count: int) -> str:
    return f"{LEFT + (WIDTH - LEFT - RIGHT) * (index + 0.5) / count:.1f}"


def _y(share) -> str:
    return f"{TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(share)):.1f}"


def share_chart(series, minimum: Decimal, month_names: list[str]) -> ShareChart:
    """Two lines over the months (planned share, actual share to date) and the minimum, on a
    0-100% scale; a month without a figure leaves no point."""
    count = len(series)
    planned = [
        f"{_x(i, count)},{_y(m.planned)}" for i, m in enumerate(series) if m.planned is not None
    ]
    actual = [
        f"{_x(i, count)},{_y(m.to_date.share)}"
        for i, m in enumerate(series)
        if m.to_date.share is not None
    ]
    return ShareChart(
        width=WIDTH,
        height=HEIGHT,
        planned_points=" ".join(planned),
        actual_points=" ".join(actual),
        minimum_y=_y(minimum),
        x_labels=[(_x(i, count), month_names[m.month - 1]) for i, m in enumerate(series)],
        y_labels=[(_y(Decimal(p) / 100), str(LEFT - 6), f"{p}%") for p in (0, 20, 40, 60, 80, 100)],
        left=str(LEFT),
        right=str(WIDTH - RIGHT),
        label_y=str(HEIGHT - BOTTOM + 18),
    )
