"""Charts drawn on the server as SVG: no chart library, no script, nothing for the strict CSP
to allow. This module only computes geometry; ``templates/_chart.html`` draws it, with a table
of the same figures for screen readers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LEFT, BOTTOM, TOP, RIGHT = 40.0, 24.0, 10.0, 8.0


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    css: str
    value: int


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    segments: tuple[Segment, ...]
    total: int


@dataclass(frozen=True)
class Chart:
    title: str
    width: float
    height: float
    plot_bottom: float
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, int], ...]  # (y, value) of each horizontal grid line
    series: tuple[tuple[str, str], ...]  # (css class, name) for the legend and the table
    rows: tuple[tuple[str, tuple[int, ...]], ...]  # (label, values per series) for the table


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, tuple[str, Sequence[int]]],
    *,
    width: float = 640,
    height: float = 220,
) -> Chart:
    """Bars stacked bottom-up in the order of ``series`` (name -> (css class, values))."""
    count = len(labels)
    totals = [sum(values[i] for _, values in series.values()) for i in range(count)]
    top = nice_ceiling(max(totals, default=0))
    plot_height = height - TOP - BOTTOM
    plot_bottom = height - BOTTOM
    slot = (width - LEFT - RIGHT) / max(count, 1)
    bars = []
    for i, label in enumerate(labels):
        y = plot_bottom
        segments = []
        for css, values in series.values():
            h = plot_height * values[i] / top
            y -= h
            segments.append(Segment(round(y, 2), round(h, 2), css, values[i]))
        bars.append(
            Bar(
                round(LEFT + i * slot + slot * 0.15, 2),
                round(slot * 0.7, 2),
                label,
                tuple(segments),
                totals[i],
            )
        )
    # Whole-number grid lines: fifths of 5, 10, 20, 50…; halves of 2; just 0 and 1 for 1.
    divisions = 5 if top % 5 == 0 else 2 if top % 2 == 0 else 1
    ticks = tuple(
        (round(plot_bottom - plot_height * k / divisions, 2), top * k // divisions)
        for k in range(divisions + 1)
    )
    return Chart(
        title=title,
        width=width,
        height=height,
        plot_bottom=plot_bottom,
        bars=tuple(bars),
        ticks=ticks,
        series=tuple((css, name) for name, (css, _) in series.items()),
        rows=tuple(
            (label, tuple(values[i] for _, values in series.values()))
            for i, label in enumerate(labels)
        ),
    )
