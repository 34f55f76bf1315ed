"""Chart geometry: bars stack, scale to a round maximum, and keep their figures for tables."""

from __future__ import annotations

import pytest

from phivault.web.charts import nice_ceiling, stacked_bars


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (260, 500)]
)
def test_nice_ceiling(value: int, expected: int) -> None:
    assert nice_ceiling(value) == expected


def test_segments_stack_bottom_up_and_fill_the_plot_at_the_maximum() -> None:
    chart = stacked_bars(
        "t", ["a", "b"], {"ok": ("s-ok", [6, 1]), "no": ("s-no", [4, 0])}, height=224
    )
    tall, short = chart.bars
    assert tall.total == 10
    ok, no = tall.segments
    assert ok.y + ok.height == chart.plot_bottom  # the first series sits on the axis
    assert no.y + no.height == pytest.approx(ok.y)  # the next one on top of it
    assert no.y == pytest.approx(10)  # 10 of 10: up to the top margin
    assert short.segments[1].height == 0
    assert [v for _, v in chart.ticks] == [0, 2, 4, 6, 8, 10]
    assert chart.rows == (("a", (6, 4)), ("b", (1, 0)))
    assert chart.series == (("s-ok", "ok"), ("s-no", "no"))


def test_no_data_still_draws_an_axis() -> None:
    chart = stacked_bars("t", ["a"], {"ok": ("s-ok", [0])})
    assert [v for _, v in chart.ticks] == [0, 1]
    assert chart.bars[0].segments[0].height == 0
