"""A `Sparkline` on a fixed scale that keeps its time axis in step with the event strip."""

from __future__ import annotations

from collections.abc import Sequence

from rich.color import Color as RichColor
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult as TextualRenderResult
from textual.reactive import reactive
from textual.renderables._blend_colors import blend_colors
from textual.widgets import Sparkline

from tui.data.timeaxis import buckets

BARS = "▁▂▃▄▅▆▇█"


class ScaledBars:
    """Rich renderable: one bar per column, from 0 to `top`, newest on the right."""

    def __init__(
        self,
        columns: Sequence[float | None],
        top: float,
        height: int,
        min_color: RichColor,
        max_color: RichColor,
    ) -> None:
        self.columns = columns
        self.top = top if top > 0 else 1.0
        self.height = max(1, height)
        self.min_color = min_color
        self.max_color = max_color

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        levels = len(BARS) * self.height
        cells: list[tuple[int, Style]] = []
        for value in self.columns:
            if value is None:
                cells.append((-1, Style()))
                continue
            ratio = min(1.0, max(0.0, value / self.top))
            color = blend_colors(self.min_color, self.max_color, ratio)
            cells.append((round(ratio * (levels - 1)), Style(color=color)))
        for row in reversed(range(self.height)):
            low = row * len(BARS)
            for level, style in cells:
                if level < 0:
                    yield Segment(" ")
                elif level >= low + len(BARS):
                    yield Segment(BARS[-1], style)
                elif level >= low:
                    yield Segment(BARS[level - low], style)
                else:
                    yield Segment(" ")
            if row:
                yield Segment.line()


class MetricSparkline(Sparkline):
    """Textual's `Sparkline`, drawn from 0 to a fixed `ceiling` (or an automatic top).

    The built-in one scales each graph from its own minimum, so idle noise fills
    the whole height. Here `data` is the graph's whole window of samples; they
    are bucketed into columns with `tui.data.timeaxis.buckets`, exactly as the
    event strip buckets the events, so both share one time axis.
    """

    ceiling = reactive[float | None](None)
    """The fixed top of the scale (100 for percentages); None: scale to the data."""
    floor = reactive(1.0)
    """The smallest automatic top, so idle noise stays near the bottom."""

    def render(self) -> TextualRenderResult:
        data = list(self.data or [])
        width = self.size.width
        columns: list[float | None] = [
            max(bucket) if bucket else None for bucket in buckets(data, width)
        ]
        top = self.ceiling
        if top is None:
            top = max([self.floor, *(c for c in columns if c is not None)])
        _, base = self.background_colors
        min_color = base + self.get_component_styles("sparkline--min-color").color
        max_color = base + self.get_component_styles("sparkline--max-color").color
        return ScaledBars(
            columns, top, self.size.height, min_color.rich_color, max_color.rich_color
        )
