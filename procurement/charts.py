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


BAR_WIDTH, BAR_LABEL_WIDTH, BAR_HEIGHT, BAR_GAP = 640, 230, 18, 6


@dataclass(frozen=True)
class Bar:
    row: object
    y: int
    text_y: int
    width: int
    value_x: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    label_x: int
    bar_height: int
    mark_x: int | None  # a vertical line at `mark` (e.g. the 40% minimum), or None


def bar_chart(rows, value, *, largest=None, mark=None) -> BarChart:
    """Horizontal bars, one per row, `value(row)` long on a scale up to `largest` (default the
    largest value); `mark` draws a line at that value. Rows without a value get no bar."""
    values = [value(row) for row in rows]
    top = largest or max((v for v in values if v is not None), default=0) or 1
    room = BAR_WIDTH - BAR_LABEL_WIDTH - 60

    def length(v) -> int:
        return max(1, round(room * float(v) / float(top))) if v else 0

    bars = [
        Bar(
            row=row,
            y=i * (BAR_HEIGHT + BAR_GAP),
            text_y=i * (BAR_HEIGHT + BAR_GAP) + BAR_HEIGHT - 5,
            width=length(v),
            value_x=BAR_LABEL_WIDTH + length(v) + 6,
        )
        for i, (row, v) in enumerate(zip(rows, values, strict=True))
    ]
    return BarChart(
        bars=bars,
        width=BAR_WIDTH,
        height=max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP),
        label_width=BAR_LABEL_WIDTH,
        label_x=BAR_LABEL_WIDTH - 6,
        bar_height=BAR_HEIGHT,
        mark_x=None if mark is None else BAR_LABEL_WIDTH + length(mark),
    )
