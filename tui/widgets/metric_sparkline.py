"""A `Sparkline` on a fixed scale that keeps its time axis in step with the event strip."""

from __future__ import annotations

from collections.abc import Sequence

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.renderables._blend_colors import blend_colors
from textual.strip import Strip
from textual.widgets import Sparkline

from tui.data.timeaxis import buckets

BARS = "▁▂▃▄▅▆▇█"


def bar_levels(columns: Sequence[float | None], top: float, height: int) -> tuple[int, ...]:
    """The bar of each column, 0 to `8 * height - 1` from 0 to `top` (-1: no data)."""
    top = top if top > 0 else 1.0
    steps = len(BARS) * max(1, height) - 1
    return tuple(
        -1 if value is None else round(min(1.0, max(0.0, value / top)) * steps) for value in columns
    )


def bar_rows(
    levels: Sequence[int], height: int, styles: Sequence[Style], blank: Style
) -> list[Strip]:
    """One strip per row, top first; `styles[level]` colours a bar, runs share a segment."""
    height = max(1, height)
    rows = []
    for row in reversed(range(height)):
        low = row * len(BARS)
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
        rows.append(Strip(segments, len(levels)))
    return rows


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


class MetricSparkline(Sparkline):
    """Textual's `Sparkline`, drawn from 0 to a fixed `ceiling` (or an automatic top).

    The built-in one scales each graph from its own minimum, so idle noise fills
    the whole height. Here `data` is the graph's whole window of samples; they
    are bucketed into columns with `tui.data.timeaxis.buckets`, exactly as the
    event strip buckets the events, so both share one time axis.

    Cheap to update every second: a new `data` repaints only when a bar changed
    height (a bar's colour follows its height), and lines are drawn straight into
    strips (Textual's line API) with one style per bar height, cached.
    """

    data = reactive[Sequence[float] | None](None, repaint=False, always_update=True, init=False)
    """The window of samples shown (the whole window: it is bucketed into columns)."""
    ceiling = reactive[float | None](None, repaint=False, init=False)
    """The fixed top of the scale (100 for percentages); None: scale to the data."""
    floor = reactive(1.0, repaint=False, init=False)
    """The smallest automatic top, so idle noise stays near the bottom."""
    cursor = reactive[int | None](None, repaint=False, init=False)
    """The column under the replay's time cursor (drawn reversed); None: no cursor."""

    def __init__(
        self,
        data: Sequence[float] | None = None,
        *,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        self._levels: tuple[int, ...] = ()
        self._strips: list[Strip] = []
        self._strips_key: object = None
        self._levels_size: object = None
        self._styles: tuple[list[Style], Style] | None = None
        self._styles_key: object = None
        """The bar styles and what they were made for (height, theme): new levels reuse them."""
        self.top = 1.0
        """The value at the top of the scale now (the ceiling, or the peak in view)."""
        super().__init__(data, id=id, classes=classes)

    def _update_levels(self) -> None:
        if not self.is_mounted:
            return
        if self._compute_levels():
            self.refresh()

    def _compute_levels(self) -> bool:
        """Bucket and scale `data` for the size now; whether a bar changed."""
        width, height = self.size
        self._levels_size = self.size
        data = self.data or []
        columns = [bucket_top(b) for b in buckets(data, width)]
        top = self.ceiling
        if top is None:
            top = max([self.floor, *(c for c in columns if c is not None)])
        self.top = top
        levels = bar_levels(columns, top, height)
        if levels == self._levels:
            return False
        self._levels = levels
        return True

    def _watch_data(self) -> None:
        self._update_levels()

    def _watch_ceiling(self) -> None:
        self._update_levels()

    def _watch_floor(self) -> None:
        self._update_levels()

    def _watch_cursor(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._update_levels()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips_key = None
        self._styles_key = None

    def _bar_styles(self) -> tuple[list[Style], Style]:
        """The style of each bar height (min colour to max colour), and of a blank cell."""
        _, base = self.background_colors
        min_color = (base + self.get_component_styles("sparkline--min-color").color).rich_color
        max_color = (base + self.get_component_styles("sparkline--max-color").color).rich_color
        blank = self.visual_style.rich_style
        steps = len(BARS) * max(1, self.size.height) - 1
        colors: dict[RichColor, Style] = {}
        styles = []
        for level in range(steps + 1):
            color = blend_colors(min_color, max_color, level / steps if steps else 1.0)
            if color not in colors:
                colors[color] = blank + Style(color=color)
            styles.append(colors[color])
        return styles, blank

    def render_line(self, y: int) -> Strip:
        if self._levels_size != self.size:  # resized since the levels were scaled
            self._compute_levels()
        key = (self._levels, self.size, self.app.theme, self.cursor)
        if key != self._strips_key:
            styles_key = (self.size.height, self.app.theme)
            if self._styles is None or styles_key != self._styles_key:
                self._styles, self._styles_key = self._bar_styles(), styles_key
            styles, blank = self._styles
            strips = bar_rows(self._levels, self.size.height, styles, blank)
            if self.cursor is not None:
                strips = [with_cursor(strip, self.cursor) for strip in strips]
            self._strips = strips
            self._strips_key = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)
