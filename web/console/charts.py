"""Geometry of the dashboard's stacked bar chart, drawn as SVG by the template (no JS)."""

from __future__ import annotations

from dataclasses import dataclass

from web.console.selectors import COLUMNS, DashboardRow

BAR_X = 220  # room for the row label on the left
BAR_WIDTH = 460
BAR_HEIGHT = 22
ROW_GAP = 14


@dataclass(frozen=True)
class Segment:
    status: str
    x: float
    width: float
    count: int
    percent: float


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    text_y: int
    bound: int
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_x: int
    bar_width: int
    bar_height: int
    bars: list[Bar]


def stacked_bars(rows: list[DashboardRow]) -> Chart:
    bars: list[Bar] = []
    for index, row in enumerate(rows):
        y = 10 + index * (BAR_HEIGHT + ROW_GAP)
        x = float(BAR_X)
        segments: list[Segment] = []
        for status in COLUMNS:
            count = row.counts.get(status, 0)
            width = BAR_WIDTH * count / row.bound if row.bound else 0.0
            if width:
                segments.append(
                    Segment(status, round(x, 2), round(width, 2), count, row.percent(status))
                )
            x += width
        label = f"{row.document.title} {row.version.label}"
        bars.append(Bar(label[:24], y, y + BAR_HEIGHT - 6, row.bound, segments))
    height = 20 + len(rows) * (BAR_HEIGHT + ROW_GAP)
    return Chart(BAR_X + BAR_WIDTH + 60, height, BAR_X, BAR_WIDTH, BAR_HEIGHT, bars)
