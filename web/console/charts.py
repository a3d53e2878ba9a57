"""The dashboard's stacked bars: one row per document and version, its label as HTML text (it
wraps on a narrow screen instead of being cut) and its bar as a small SVG drawn by the
template (no JS). Geometry in percent of the bar's width, so the bar scales with the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from web.console.selectors import DashboardRow


@dataclass(frozen=True)
class Segment:
    status: str
    label: str  # the status as people read it (consent_status_label)
    x: float  # percent of the bar's width
    width: float
    count: int
    percent: float


@dataclass(frozen=True)
class Bar:
    document: str
    version: str
    bound: int
    segments: list[Segment]


def stacked_bars(rows: list[DashboardRow]) -> list[Bar]:
    bars: list[Bar] = []
    for row in rows:
        x = 0.0
        segments: list[Segment] = []
        for cell in row.cells:
            count = cell["count"]
            width = 100.0 * count / row.bound if row.bound else 0.0
            if width:
                segments.append(
                    Segment(
                        cell["status"],
                        str(cell["label"]),
                        round(x, 2),
                        round(width, 2),
                        count,
                        cell["percent"],
                    )
                )
            x += width
        bars.append(Bar(row.document.title, row.version.label, row.bound, segments))
    return bars
