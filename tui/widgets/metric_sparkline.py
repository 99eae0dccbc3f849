"""Bars on a fixed scale, in step with the event strip's time axis: one strip per graph row.

Textual's `Sparkline` scales each graph from its own minimum, so idle noise fills the whole
height. Here a graph's whole window of samples is bucketed into columns with
`tui.data.timeaxis.buckets`, exactly as the event strip buckets the events, and drawn from 0 to
a fixed ceiling (or an automatic top). `tui.widgets.graph_canvas` draws these strips.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui.data.timeaxis import buckets

BARS = "▁▂▃▄▅▆▇█"


def bar_levels(columns: Sequence[float | None], top: float, height: int) -> tuple[int, ...]:
    """The bar of each column, 0 to `8 * height - 1` from 0 to `top` (-1: no data)."""
    top = top if top > 0 else 1.0
    steps = len(BARS) * max(1, height) - 1
    return tuple(
        -1 if value is None else round(min(1.0, max(0.0, value / top)) * steps) for value in columns
    )


def bar_segments(
    levels: Sequence[int], height: int, styles: Sequence[Style], blank: Style
) -> list[list[Segment]]:
    """The segments of each row, top first; `styles[level]` colours a bar, runs share a
    segment. Each row is `len(levels)` cells wide."""
    height = max(1, height)
    top = max(levels, default=-1)
    rows = []
    for row in reversed(range(height)):
        low = row * len(BARS)
        if top < low:  # nothing reaches this row: one blank run
            rows.append([Segment(" " * len(levels), blank)] if levels else [])
            continue
        segments: list[Segment] = []
        run_text: list[str] = []
        run_style: Style | None = None
        for level in levels:
            if level < low:
                char, style = " ", blank
            else:
                char, style = BARS[min(level - low, len(BARS) - 1)], styles[level]
            if style is not run_style and run_text:
                segments.append(Segment("".join(run_text), run_style))
                run_text = []
            run_style = style
            run_text.append(char)
        if run_text:
            segments.append(Segment("".join(run_text), run_style))
        rows.append(segments)
    return rows


def bar_rows(
    levels: Sequence[int], height: int, styles: Sequence[Style], blank: Style
) -> list[Strip]:
    """`bar_segments` as one strip per row, top first."""
    return [Strip(row, len(levels)) for row in bar_segments(levels, height, styles, blank)]


def bucket_top(values: Sequence[float]) -> float | None:
    """The highest value of a column; None when it has none (NaN, a probe interval without
    an answer, is a gap, not a zero)."""
    finite = [v for v in values if v == v]  # NaN != NaN
    return max(finite) if finite else None


CURSOR_STYLE = Style(reverse=True)


def with_cursor(strip: Strip, column: int) -> Strip:
    """`strip` with its `column` reversed: the replay's time cursor, a bright bar in every row."""
    if not 0 <= column < strip.cell_length:
        return strip
    cell = strip.crop(column, column + 1).apply_style(CURSOR_STYLE)
    return Strip.join([strip.crop(0, column), cell, strip.crop(column + 1)])


def scale_levels(
    data: Sequence[float], width: int, height: int, ceiling: float | None, floor: float
) -> tuple[tuple[int, ...], float]:
    """The bar of each of `width` columns for `data` (the whole window), and the top of the
    scale: `ceiling`, or the peak in view (at least `floor`, so idle noise stays low)."""
    columns = [bucket_top(b) for b in buckets(data, width)]
    top = ceiling
    if top is None:
        top = max([floor, *(c for c in columns if c is not None)])
    return bar_levels(columns, top, height), top
